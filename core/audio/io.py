"""Reading and writing audio, and fitting it to a range of video frames.

Samples are float32 mono arrays of shape (N,), values in [-1, 1], at the
sample rate the caller asks for (by default the front end's, `FRONT_END.sample_rate`).
Files are read with soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, MP3 with libsndfile >= 1.1) and
resampled with soxr (the "HQ" quality librosa calls ``soxr_hq``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from ..errors import AudioError
from .frontend import FRONT_END
from .timing import AudioTiming

__all__ = ["AudioFit", "fit_to_frames", "is_silent", "load_audio", "save_wav", "shot_audio"]

log = logging.getLogger(__name__)


def _check_sample_rate(sample_rate: object) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise AudioError(f"sample_rate={sample_rate!r} must be a positive integer (Hz), e.g. 16000.")
    return int(sample_rate)


def check_mono(samples: object, what: str) -> np.ndarray:
    """`samples` as a float array of shape (N,), or AudioError naming `what`."""
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise AudioError(f"{what}: samples must be mono with shape (N,), got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.floating):
        raise AudioError(f"{what}: samples must be floats in [-1, 1], got dtype {arr.dtype}.")
    return arr


def load_audio(path: str | os.PathLike[str], sample_rate: int = FRONT_END.sample_rate) -> np.ndarray:
    """Read an audio file as mono float32 samples at ``sample_rate``.

    Args:
        path: WAV (int or float PCM), FLAC, OGG/Vorbis or MP3 file.
        sample_rate: rate of the result in Hz; the file is resampled (soxr HQ) if it differs.

    Returns:
        float32 array (N,), values clipped to [-1, 1]. Channels are mixed to mono by their mean.

    Raises:
        AudioError: the file is missing, is not audio libsndfile can read, holds no
            samples, or holds non-finite samples.
    """
    sample_rate = _check_sample_rate(sample_rate)
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"Audio file not found: '{p}'. Check the path (or the sound strip's file).")
    try:
        data, file_rate = soundfile.read(str(p), dtype="float32", always_2d=True)  # (N, C)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(
            f"Cannot read audio file '{p}': {exc}. It may be corrupt or in a format "
            "libsndfile does not read (e.g. AAC/M4A); convert it to WAV or FLAC."
        ) from exc
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise AudioError(f"Audio file '{p}' holds no samples; choose a file with sound in it.")
    mono = data.mean(axis=1, dtype=np.float32)  # (N,)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"Audio file '{p}' holds NaN or infinite samples; re-export it.")
    if file_rate != sample_rate:
        import soxr  # small; kept local so importing this module stays cheap

        log.debug("resampling %s from %d Hz to %d Hz", p, file_rate, sample_rate)
        mono = soxr.resample(mono, file_rate, sample_rate, quality="HQ")
        if mono.shape[0] == 0:
            raise AudioError(
                f"Audio file '{p}' is too short to resample from {file_rate} Hz to {sample_rate} Hz."
            )
    return np.ascontiguousarray(np.clip(mono, -1.0, 1.0), dtype=np.float32)


def save_wav(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int) -> None:
    """Write mono samples as a 16-bit PCM WAV file, atomically.

    Args:
        path: destination; its folder must exist. Written to a temporary file in the
            same folder, then moved into place, so readers never see half a file.
        samples: float array (N,), values in [-1, 1] (clipped if outside).
        sample_rate: Hz.

    Raises:
        AudioError: bad samples or sample rate, or the file cannot be written.
    """
    sample_rate = _check_sample_rate(sample_rate)
    arr = check_mono(samples, f"save_wav('{path}')")
    arr = np.clip(np.nan_to_num(arr.astype(np.float32), nan=0.0), -1.0, 1.0)
    p = Path(path)
    if not p.parent.is_dir():
        raise AudioError(f"Cannot write '{p}': folder '{p.parent}' does not exist; create it first.")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        soundfile.write(tmp, arr, sample_rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, p)
    except (OSError, soundfile.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"Cannot write audio file '{p}': {exc}.") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@dataclass(frozen=True)
class AudioFit:
    """What :func:`fit_to_frames` did to the samples."""

    padded: int  # zero samples appended at the end (audio shorter than the frames)
    trimmed: int  # samples dropped from the end (audio longer than the frames)


def fit_to_frames(
    samples: np.ndarray, timing: AudioTiming, n_frames: int
) -> tuple[np.ndarray, AudioFit]:
    """Pad with silence or trim so the samples cover exactly ``n_frames`` video frames.

    Args:
        samples: float array (N,), starting at the start of video frame 0.
        timing: gives the length, ``timing.n_samples_for(n_frames)`` samples.
        n_frames: video frames to cover, >= 0.

    Returns:
        ``(fitted, fit)``: float32 array (timing.n_samples_for(n_frames),) and an
        :class:`AudioFit` saying how many samples were padded or trimmed.
    """
    arr = check_mono(samples, "fit_to_frames")
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 0:
        raise AudioError(f"fit_to_frames: n_frames={n_frames!r} must be an integer >= 0.")
    want = timing.n_samples_for(int(n_frames))
    have = arr.shape[0]
    if have >= want:
        fitted = arr[:want]
        fit = AudioFit(padded=0, trimmed=have - want)
    else:
        fitted = np.concatenate([arr, np.zeros(want - have, dtype=arr.dtype)])
        fit = AudioFit(padded=want - have, trimmed=0)
    return np.ascontiguousarray(fitted, dtype=np.float32), fit


def is_silent(samples: np.ndarray, threshold_db: float = -60.0) -> bool:
    """True when the RMS level of ``samples`` is below ``threshold_db`` dBFS.

    Args:
        samples: float array (N,) in [-1, 1] (full scale = 1.0 = 0 dBFS).
        threshold_db: level in dB relative to full scale; -60 is far below speech.

    Returns:
        True for empty input or an RMS level under the threshold.
    """
    arr = check_mono(samples, "is_silent")
    if arr.shape[0] == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(arr, dtype=np.float64))))
    return rms < 10.0 ** (threshold_db / 20.0)


def shot_audio(samples: np.ndarray, timing: AudioTiming, n_frames: int,
               whose: str) -> tuple[np.ndarray, str | None]:
    """`whose` audio (N,) float32 padded with silence to cover `n_frames` video frames of
    `timing` (never cut), and a note when it ends before the last frame or runs past it;
    AudioError when it is not mono or is silent."""
    samples = np.asarray(samples, np.float32)
    if samples.ndim != 1 or samples.size == 0:
        raise AudioError(f"{whose}: the audio must be mono samples (N,), got shape "
                         f"{samples.shape}.")
    if is_silent(samples):
        raise AudioError(f"{whose}: the audio is silent, so there is nothing to lip-sync to: "
                         "pick the sound strip or file with the dialogue.")
    needed = timing.n_samples_for(n_frames)
    gap = (needed - samples.size) / timing.sample_rate
    note = None
    if gap > 1 / timing.fps:
        note = f"{whose}: the audio ends {gap:.2f} s before the last frame; the mouth rests " \
               "(silence) after it"
    elif -gap > 1 / timing.fps:
        note = f"{whose}: the audio runs {-gap:.2f} s past the last frame; that part is not used"
    return np.pad(samples, (0, max(needed - samples.size, 0))), note
