"""Audio features (log-mel, MFCC) and the windows of them the networks read.

Arrays: samples are float32 (N,) mono in [-1, 1] at ``front_end.sample_rate``;
features are float32 (C, T) with T = 1 + N // hop_length columns, MFCC column j
centred on sample j * hop_length (librosa ``center=True``, zero padding);
a window is float32 (C, front_end.window_columns): the columns of one group of
``front_end.group_frames`` video frames (`group_window`), the one window definition.

Log-mel values are in dB relative to a power of 1.0 (full-scale), floored at
-100 dB (amin = 1e-10) with no ``top_db`` clipping, so a frame's features do not
depend on how loud the rest of the clip is (librosa's ``mfcc(y=...)`` clips to
80 dB below the loudest frame of the whole clip; we do not).
"""

from __future__ import annotations

import numpy as np

from ..errors import AudioError
from .io import check_mono, fit_to_frames
from .frontend import AudioFrontEnd
from .timing import AudioTiming

__all__ = ["features_for_frames", "frame_windows", "group_window", "mel_spectrogram", "mfcc"]

_AMIN = 1e-10  # power floor before taking dB: -100 dB


def _check_samples(samples: object, what: str) -> np.ndarray:
    arr = check_mono(samples, what)
    if arr.shape[0] == 0:
        raise AudioError(f"{what}: samples are empty; the audio holds no sound.")
    if not np.all(np.isfinite(arr)):
        raise AudioError(f"{what}: samples contain NaN or infinite values.")
    return np.ascontiguousarray(arr, dtype=np.float32)


def mel_spectrogram(samples: np.ndarray, front_end: AudioFrontEnd) -> np.ndarray:
    """Log-mel power spectrogram.

    Args:
        samples: float array (N,), N >= 1, mono in [-1, 1] at ``front_end.sample_rate``.
        front_end: sample rate, FFT size, window, hop and number of mel bands.

    Returns:
        float32 (n_mels, 1 + N // hop_length), dB re power 1.0, >= -100 dB.
        Column j is centred on sample j * hop_length (Hann window of
        ``win_length`` samples, zero padding at both ends).
    """
    import librosa  # slow to import: only when features are computed

    y = _check_samples(samples, "mel_spectrogram")
    n_out = 1 + y.shape[0] // front_end.hop_length
    if y.shape[0] < front_end.n_fft:
        # Zero-pad short clips to one FFT: the first n_out frames are unchanged
        # (the centre padding is zeros too) and librosa does not warn.
        y = np.pad(y, (0, front_end.n_fft - y.shape[0]))
    power = librosa.feature.melspectrogram(
        y=y,
        sr=front_end.sample_rate,
        n_fft=front_end.n_fft,
        hop_length=front_end.hop_length,
        win_length=front_end.win_length,
        window="hann",
        center=True,
        pad_mode="constant",
        power=2.0,
        n_mels=front_end.n_mels,
    )[:, :n_out]  # (n_mels, T)
    log_mel = librosa.power_to_db(S=power, ref=1.0, amin=_AMIN, top_db=None)  # (n_mels, T)
    return np.ascontiguousarray(log_mel, dtype=np.float32)


def mfcc(samples: np.ndarray, front_end: AudioFrontEnd) -> np.ndarray:
    """Mel-frequency cepstral coefficients.

    DCT-II (orthonormal) of :func:`mel_spectrogram`, no liftering; coefficient 0
    is ``sum(log_mel_dB) / sqrt(n_mels)``, the frame's log energy.

    Args:
        samples: float array (N,), N >= 1, mono in [-1, 1] at ``front_end.sample_rate``.
        front_end: as for :func:`mel_spectrogram`, plus ``n_mfcc``.

    Returns:
        float32 (n_mfcc, 1 + N // hop_length); column j centred on sample j * hop_length.
    """
    import librosa

    log_mel = mel_spectrogram(samples, front_end)  # (n_mels, T)
    coeffs = librosa.feature.mfcc(
        S=log_mel, n_mfcc=front_end.n_mfcc, dct_type=2, norm="ortho", lifter=0
    )  # (n_mfcc, T)
    return np.ascontiguousarray(coeffs, dtype=np.float32)


def _check_features(features: np.ndarray, what: str) -> np.ndarray:
    feats = np.asarray(features)
    if feats.ndim != 2 or feats.shape[1] == 0:
        raise AudioError(f"{what}: features must have shape (C, T) with T >= 1, got {feats.shape}.")
    return feats


def group_window(features: np.ndarray, timing: AudioTiming, first_frame: int) -> np.ndarray:
    """The window the networks read for the group of video frames
    ``first_frame .. first_frame + group_frames - 1`` (`AudioTiming.group_columns`).

    Columns before 0 or past T-1 repeat the first or last column (edge padding).

    Args:
        features: float array (C, T), T >= 1, from :func:`mfcc` with ``timing.front_end``,
            column 0 at the start of video frame 0.
        timing: the shot's timing.
        first_frame: the group's first video frame (may be negative or past the end).

    Returns:
        (C, window_columns), the dtype of ``features``.
    """
    feats = _check_features(features, "group_window")
    return feats[:, np.clip(timing.group_columns(first_frame), 0, feats.shape[1] - 1)]


def frame_windows(features: np.ndarray, timing: AudioTiming, n_video_frames: int) -> np.ndarray:
    """One window per video frame: frame i's is the `group_window` of the group centred on
    it (frames ``i - group_frames // 2 ..``), as the pipeline feeds the networks.

    Args:
        features: float array (C, T), T >= 1, as for :func:`group_window`.
        timing: the shot's timing.
        n_video_frames: number of windows to cut, >= 0.

    Returns:
        float32 (n_video_frames, C, window_columns).
    """
    feats = _check_features(features, "frame_windows")
    if isinstance(n_video_frames, bool) or not isinstance(n_video_frames, (int, np.integer)) or n_video_frames < 0:
        raise AudioError(f"frame_windows: n_video_frames={n_video_frames!r} must be an integer >= 0.")
    half = timing.front_end.group_frames // 2
    windows = np.zeros((int(n_video_frames), feats.shape[0], timing.front_end.window_columns),
                       np.float32)
    for i in range(int(n_video_frames)):
        windows[i] = group_window(feats, timing, i - half)
    return windows


def features_for_frames(samples: np.ndarray, timing: AudioTiming, n_video_frames: int) -> np.ndarray:
    """MFCC windows (`frame_windows`) for video frames 0 .. n_video_frames - 1.

    Audio shorter than the frames is padded with silence first; longer audio is
    kept, so the last windows see the real sound after the range.

    Args:
        samples: float array (N,), mono in [-1, 1] at ``timing.sample_rate``,
            sample 0 at the start of video frame 0.
        timing: the shot's timing.
        n_video_frames: number of video frames, >= 1.

    Returns:
        float32 (n_video_frames, n_mfcc, window_columns).
    """
    if isinstance(n_video_frames, bool) or not isinstance(n_video_frames, (int, np.integer)) or n_video_frames < 1:
        raise AudioError(f"features_for_frames: n_video_frames={n_video_frames!r} must be an integer >= 1.")
    y = _check_samples(samples, "features_for_frames")
    if y.shape[0] < timing.n_samples_for(int(n_video_frames)):
        y, _ = fit_to_frames(y, timing, int(n_video_frames))
    return frame_windows(mfcc(y, timing.front_end), timing, int(n_video_frames))
