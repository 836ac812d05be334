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
from .frontend import FRONT_END, AudioFrontEnd

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
    """How audio samples, MFCC columns and video frames line up in one shot.

    Build one per shot from the scene's frame rate and pass it to every audio
    function; nothing else computes a frame/sample/feature conversion. The sample
    rate, hop and the networks' window come from ``front_end``.
    """

    fps: float  # video frames per second, > 0 (e.g. 24000/1001 for 23.976)
    front_end: AudioFrontEnd = FRONT_END  # sample rate, MFCC analysis, window read

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
        if not isinstance(self.front_end, AudioFrontEnd):
            raise AudioError(f"Audio timing: front_end={self.front_end!r} must be an AudioFrontEnd.")

    @property
    def sample_rate(self) -> int:
        """Audio samples per second (Hz), the front end's."""
        return self.front_end.sample_rate

    @property
    def hop_length(self) -> int:
        """Samples between MFCC columns, the front end's."""
        return self.front_end.hop_length

    @classmethod
    def from_blender_fps(cls, fps: int, fps_base: float,
                         front_end: AudioFrontEnd = FRONT_END) -> AudioTiming:
        """Timing for a Blender scene: frame rate is ``scene.render.fps / fps_base``.

        ``fps_base`` is stored by Blender as a 32-bit float (1.001 reads back as
        1.0010000467...); it is snapped to the nearest simple fraction, so
        ``(24, 1.001)`` gives exactly 24000/1001.
        """
        if isinstance(fps, bool) or not isinstance(fps, (int, np.integer)) or fps <= 0:
            raise AudioError(f"Blender fps={fps!r} must be a positive integer (render.fps).")
        if not isinstance(fps_base, (int, float, np.integer, np.floating)) or not (
            math.isfinite(fps_base) and fps_base > 0
        ):
            raise AudioError(f"Blender fps_base={fps_base!r} must be a finite number > 0.")
        base = Fraction(float(fps_base)).limit_denominator(_FPS_MAX_DENOMINATOR)
        return cls(fps=float(Fraction(int(fps)) / base), front_end=front_end)

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
        """MFCC columns per second (``sample_rate / hop_length``)."""
        return self.front_end.feature_rate

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

    def group_columns(self, first_frame: int) -> np.ndarray:
        """MFCC column indices the networks read for the group of video frames
        ``first_frame .. first_frame + group_frames - 1``: int64 (window_columns,), the
        ``window_columns`` columns centred on the group's middle (the same length in
        seconds at any fps). Indices may be negative or past the end; callers clip.

        The centre is rounded in float arithmetic, as the networks were trained.
        """
        front = self.front_end
        centre_s = (first_frame + front.group_frames / 2) / self.fps
        centre = int(round(centre_s * front.sample_rate / front.hop_length))   # column
        start = centre - front.window_columns // 2
        return np.arange(start, start + front.window_columns, dtype=np.int64)

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
