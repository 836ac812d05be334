"""Audio features (log-mel, MFCC) and their per-video-frame sync windows.

Arrays: samples are float32 (N,) mono in [-1, 1] at ``timing.sample_rate``;
features are float32 (C, T) with T = 1 + N // hop_length frames, MFCC frame j
centred on sample j * hop_length (librosa ``center=True``, zero padding);
windows are float32 (n_video_frames, C, timing.window_features).

Log-mel values are in dB relative to a power of 1.0 (full-scale), floored at
-100 dB (amin = 1e-10) with no ``top_db`` clipping, so a frame's features do not
depend on how loud the rest of the clip is (librosa's ``mfcc(y=...)`` clips to
80 dB below the loudest frame of the whole clip; we do not).
"""

from __future__ import annotations

import numpy as np

from ..errors import AudioError
from .io import check_mono, fit_to_frames
from .timing import AudioTiming

__all__ = ["features_for_frames", "frame_windows", "mel_spectrogram", "mfcc"]

_AMIN = 1e-10  # power floor before taking dB: -100 dB


def _check_samples(samples: object, what: str) -> np.ndarray:
    arr = check_mono(samples, what)
    if arr.shape[0] == 0:
        raise AudioError(f"{what}: samples are empty; the audio holds no sound.")
    if not np.all(np.isfinite(arr)):
        raise AudioError(f"{what}: samples contain NaN or infinite values.")
    return np.ascontiguousarray(arr, dtype=np.float32)


def mel_spectrogram(samples: np.ndarray, timing: AudioTiming) -> np.ndarray:
    """Log-mel power spectrogram.

    Args:
        samples: float array (N,), N >= 1, mono in [-1, 1] at ``timing.sample_rate``.
        timing: sample rate, FFT size, window, hop and number of mel bands.

    Returns:
        float32 (n_mels, 1 + N // hop_length), dB re power 1.0, >= -100 dB.
        Column j is centred on sample j * hop_length (Hann window of
        ``win_length`` samples, zero padding at both ends).
    """
    import librosa  # slow to import: only when features are computed

    y = _check_samples(samples, "mel_spectrogram")
    n_out = 1 + y.shape[0] // timing.hop_length
    if y.shape[0] < timing.n_fft:
        # Zero-pad short clips to one FFT: the first n_out frames are unchanged
        # (the centre padding is zeros too) and librosa does not warn.
        y = np.pad(y, (0, timing.n_fft - y.shape[0]))
    power = librosa.feature.melspectrogram(
        y=y,
        sr=timing.sample_rate,
        n_fft=timing.n_fft,
        hop_length=timing.hop_length,
        win_length=timing.win_length,
        window="hann",
        center=True,
        pad_mode="constant",
        power=2.0,
        n_mels=timing.n_mels,
    )[:, :n_out]  # (n_mels, T)
    log_mel = librosa.power_to_db(S=power, ref=1.0, amin=_AMIN, top_db=None)  # (n_mels, T)
    return np.ascontiguousarray(log_mel, dtype=np.float32)


def mfcc(samples: np.ndarray, timing: AudioTiming) -> np.ndarray:
    """Mel-frequency cepstral coefficients.

    DCT-II (orthonormal) of :func:`mel_spectrogram`, no liftering; coefficient 0
    is ``sum(log_mel_dB) / sqrt(n_mels)``, the frame's log energy.

    Args:
        samples: float array (N,), N >= 1, mono in [-1, 1] at ``timing.sample_rate``.
        timing: as for :func:`mel_spectrogram`, plus ``n_mfcc``.

    Returns:
        float32 (n_mfcc, 1 + N // hop_length); column j centred on sample j * hop_length.
    """
    import librosa

    log_mel = mel_spectrogram(samples, timing)  # (n_mels, T)
    coeffs = librosa.feature.mfcc(
        S=log_mel, n_mfcc=timing.n_mfcc, dct_type=2, norm="ortho", lifter=0
    )  # (n_mfcc, T)
    return np.ascontiguousarray(coeffs, dtype=np.float32)


def frame_windows(features: np.ndarray, timing: AudioTiming, n_video_frames: int) -> np.ndarray:
    """Cut one sync window of features per video frame.

    The window of video frame i holds the ``timing.window_features`` feature
    frames starting at ``timing.feature_index(i - timing.window_offset_frames)``:
    the features of video frames i-2 .. i+2 for the default window of 5, so the
    window is centred on frame i. Indices before 0 or past T-1 repeat the first
    or last feature frame (edge padding), so every frame has a full window.

    Args:
        features: float array (C, T), T >= 1, from :func:`mfcc` or :func:`mel_spectrogram`
            with the same ``timing``, column 0 at the start of video frame 0.
        timing: gives the window length and the frame-to-feature mapping.
        n_video_frames: number of windows to cut, >= 0.

    Returns:
        float32 (n_video_frames, C, window_features).
    """
    feats = np.asarray(features)
    if feats.ndim != 2 or feats.shape[1] == 0:
        raise AudioError(f"frame_windows: features must have shape (C, T) with T >= 1, got {feats.shape}.")
    if isinstance(n_video_frames, bool) or not isinstance(n_video_frames, (int, np.integer)) or n_video_frames < 0:
        raise AudioError(f"frame_windows: n_video_frames={n_video_frames!r} must be an integer >= 0.")
    idx = np.clip(timing.window_feature_indices(int(n_video_frames)), 0, feats.shape[1] - 1)  # (F, W)
    windows = feats[:, idx]  # (C, F, W)
    return np.ascontiguousarray(windows.transpose(1, 0, 2), dtype=np.float32)  # (F, C, W)


def features_for_frames(samples: np.ndarray, timing: AudioTiming, n_video_frames: int) -> np.ndarray:
    """MFCC sync windows for video frames 0 .. n_video_frames - 1.

    Audio shorter than the frames is padded with silence first; longer audio is
    kept, so the last windows see the real sound after the range.

    Args:
        samples: float array (N,), mono in [-1, 1] at ``timing.sample_rate``,
            sample 0 at the start of video frame 0.
        timing: the shot's timing.
        n_video_frames: number of video frames, >= 1.

    Returns:
        float32 (n_video_frames, n_mfcc, window_features).
    """
    if isinstance(n_video_frames, bool) or not isinstance(n_video_frames, (int, np.integer)) or n_video_frames < 1:
        raise AudioError(f"features_for_frames: n_video_frames={n_video_frames!r} must be an integer >= 1.")
    y = _check_samples(samples, "features_for_frames")
    if y.shape[0] < timing.n_samples_for(int(n_video_frames)):
        y, _ = fit_to_frames(y, timing, int(n_video_frames))
    return frame_windows(mfcc(y, timing), timing, int(n_video_frames))
