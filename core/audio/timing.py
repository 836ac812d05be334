"""Audio/video timing: the one place that converts between video frames,
audio samples and MFCC feature frames.

Conventions (everything else in the product relies on these):

- Video frame ``i`` (counted from 0 at the first audio sample) starts at
  ``i / fps`` seconds and covers ``[i / fps, (i + 1) / fps)``.
- Audio sample ``k`` is at ``k / sample_rate`` seconds.
- MFCC frame ``j`` is computed by librosa with ``center=True``, so its analysis
  window is centred on sample ``j * hop_length`` (time ``j / feature_rate``).
  A signal of ``N`` samples gives ``1 + N // hop_length`` MFCC frames.
- Conversions to an integer index round half up (``floor(x + 1/2)``) and are
  done in exact rational arithmetic: ``fps`` is read as a fraction with a
  denominator of at most 10,000 (23.976 -> 24000/1001), so frame boundaries
  never drift, however long the shot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np

from ..errors import AudioError

__all__ = ["AudioTiming"]

# Largest denominator used when reading fps as a fraction (NTSC rates need 1001).
_FPS_MAX_DENOMINATOR = 10_000


def _round_half_up(numerator: int, denominator: int) -> int:
    """floor(numerator / denominator + 1/2) for integers, denominator > 0."""
    return (2 * numerator + denominator) // (2 * denominator)


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise AudioError(f"Audio timing: {name}={value!r} must be an integer >= {minimum}.")


@dataclass(frozen=True)
class AudioTiming:
    """How audio samples, MFCC frames and video frames line up.

    Build one per shot from the scene's frame rate and pass it to every audio
    function; nothing else computes a frame/sample/feature conversion.
    """

    fps: float  # video frames per second, > 0 (e.g. 24000/1001 for 23.976)
    sample_rate: int = 16000  # audio samples per second (Hz)
    hop_length: int = 160  # samples between MFCC frames (160 = 10 ms at 16 kHz)
    win_length: int = 400  # samples in each analysis window (400 = 25 ms at 16 kHz)
    n_fft: int = 512  # FFT size in samples, >= win_length
    n_mels: int = 40  # mel bands
    n_mfcc: int = 13  # MFCC coefficients kept (c0 = log energy first), <= n_mels
    window_video_frames: int = 5  # video frames in one sync window (centred on the frame)

    def __post_init__(self) -> None:
        if (
            isinstance(self.fps, bool)
            or not isinstance(self.fps, (int, float, np.integer, np.floating))
            or not math.isfinite(self.fps)
            or self.fps <= 0
        ):
            raise AudioError(
                f"Audio timing: fps={self.fps!r} must be a finite number > 0 "
                "(the scene's frame rate, e.g. 24 or 24000/1001)."
            )
        _check_int("sample_rate", self.sample_rate, 1)
        _check_int("hop_length", self.hop_length, 1)
        _check_int("win_length", self.win_length, 1)
        _check_int("n_fft", self.n_fft, 1)
        _check_int("n_mels", self.n_mels, 1)
        _check_int("n_mfcc", self.n_mfcc, 1)
        _check_int("window_video_frames", self.window_video_frames, 1)
        if self.win_length > self.n_fft:
            raise AudioError(
                f"Audio timing: win_length={self.win_length} must be <= n_fft={self.n_fft}."
            )
        if self.n_mfcc > self.n_mels:
            raise AudioError(
                f"Audio timing: n_mfcc={self.n_mfcc} must be <= n_mels={self.n_mels}."
            )

    @classmethod
    def from_blender_fps(cls, fps: int, fps_base: float, **kwargs: int) -> AudioTiming:
        """Timing for a Blender scene: frame rate is ``scene.render.fps / fps_base``.

        ``fps_base`` is stored by Blender as a 32-bit float (1.001 reads back as
        1.0010000467...); it is snapped to the nearest simple fraction, so
        ``(24, 1.001)`` gives exactly 24000/1001. Other fields go in ``kwargs``.
        """
        if isinstance(fps, bool) or not isinstance(fps, (int, np.integer)) or fps <= 0:
            raise AudioError(f"Blender fps={fps!r} must be a positive integer (render.fps).")
        if not isinstance(fps_base, (int, float, np.integer, np.floating)) or not (
            math.isfinite(fps_base) and fps_base > 0
        ):
            raise AudioError(f"Blender fps_base={fps_base!r} must be a finite number > 0.")
        base = Fraction(float(fps_base)).limit_denominator(_FPS_MAX_DENOMINATOR)
        return cls(fps=float(Fraction(int(fps)) / base), **kwargs)

    # -- exact rates ---------------------------------------------------------

    @cached_property
    def fps_fraction(self) -> Fraction:
        """The frame rate as the exact fraction every conversion uses (frames/s).

        Cached on first use (written to the instance ``__dict__``, which a frozen
        dataclass allows; fields, equality and hashing are unaffected)."""
        return Fraction(float(self.fps)).limit_denominator(_FPS_MAX_DENOMINATOR)

    def _samples_per_frame_ratio(self) -> tuple[int, int]:
        """samples per video frame as (numerator, denominator) integers."""
        f = self.fps_fraction
        return self.sample_rate * f.denominator, f.numerator

    # -- derived rates -------------------------------------------------------

    @property
    def feature_rate(self) -> float:
        """MFCC frames per second (``sample_rate / hop_length``; 100.0 by default)."""
        return self.sample_rate / self.hop_length

    @property
    def samples_per_video_frame(self) -> float:
        """Audio samples per video frame (``sample_rate / fps``; may be fractional)."""
        num, den = self._samples_per_frame_ratio()
        return num / den

    @property
    def features_per_video_frame(self) -> float:
        """MFCC frames per video frame (``feature_rate / fps``; may be fractional)."""
        num, den = self._samples_per_frame_ratio()
        return num / (den * self.hop_length)

    @property
    def window_features(self) -> int:
        """MFCC frames in one sync window of ``window_video_frames`` video frames
        (rounded half up, at least 1): 21 at 24 fps, 20 at 25, 17 at 30, 8 at 60."""
        num, den = self._samples_per_frame_ratio()
        return max(1, _round_half_up(self.window_video_frames * num, den * self.hop_length))

    @property
    def window_offset_frames(self) -> int:
        """Video frames before frame ``i`` in its sync window (``window_video_frames // 2``).

        The window of frame ``i`` covers video frames
        ``i - window_offset_frames .. i - window_offset_frames + window_video_frames - 1``
        (``i-2 .. i+2`` for a window of 5; ``i-2 .. i+1`` for a window of 4).
        """
        return self.window_video_frames // 2

    # -- conversions ---------------------------------------------------------

    def video_frame_time(self, i: int) -> float:
        """Start time of video frame ``i`` in seconds (``i / fps``)."""
        f = self.fps_fraction
        return float(Fraction(int(i)) / f)

    def feature_index(self, i: int) -> int:
        """Index of the MFCC frame whose centre is nearest the start of video frame ``i``.

        ``round_half_up(i * sample_rate / (fps * hop_length))``; may be negative
        or past the end of the features for frames outside the audio.
        """
        num, den = self._samples_per_frame_ratio()
        return _round_half_up(int(i) * num, den * self.hop_length)

    def feature_indices(self, frames: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`feature_index`: int array of any shape -> int64, same shape."""
        num, den = self._samples_per_frame_ratio()
        frames = np.asarray(frames, dtype=np.int64)
        d = den * self.hop_length
        return (2 * frames * num + d) // (2 * d)

    def window_feature_indices(self, n_video_frames: int) -> np.ndarray:
        """MFCC frame indices of the sync window of every video frame.

        Returns int64 ``(n_video_frames, window_features)``. Row ``i`` starts at
        the MFCC frame nearest the start of video frame ``i - window_offset_frames``
        and runs for ``window_features`` frames, i.e. the MFCC frames whose
        centres fall (to the nearest hop) inside video frames
        ``i - window_offset_frames .. i - window_offset_frames + window_video_frames - 1``.
        Indices may be negative or past the end; callers clip (edge padding).
        """
        _check_int("n_video_frames", n_video_frames, 0)
        starts = self.feature_indices(np.arange(n_video_frames) - self.window_offset_frames)
        return starts[:, None] + np.arange(self.window_features, dtype=np.int64)[None, :]

    def sample_range(self, first_frame: int, n_frames: int) -> tuple[int, int]:
        """Sample indices ``(start, stop)`` covering video frames
        ``first_frame .. first_frame + n_frames - 1`` (stop exclusive).

        Frame ``i`` starts at sample ``round_half_up(i * sample_rate / fps)``, so
        consecutive ranges tile the audio with no gap or overlap.
        """
        _check_int("first_frame", first_frame, 0)
        _check_int("n_frames", n_frames, 0)
        num, den = self._samples_per_frame_ratio()
        start = _round_half_up(int(first_frame) * num, den)
        stop = _round_half_up((int(first_frame) + int(n_frames)) * num, den)
        return start, stop

    def n_samples_for(self, n_frames: int) -> int:
        """Samples covering video frames ``0 .. n_frames - 1`` (``sample_range(0, n)[1]``)."""
        return self.sample_range(0, n_frames)[1]

    def n_video_frames_for(self, n_samples: int) -> int:
        """Number of whole video frames covered by ``n_samples`` samples from frame 0:
        the largest ``n`` with ``n_samples_for(n) <= n_samples``."""
        _check_int("n_samples", n_samples, 0)
        num, den = self._samples_per_frame_ratio()
        n = (int(n_samples) * den) // num  # floor(n_samples / samples_per_frame)
        while self.n_samples_for(n + 1) <= n_samples:
            n += 1
        while n > 0 and self.n_samples_for(n) > n_samples:
            n -= 1
        return n
