"""The audio front end: what the networks hear, defined once.

`AudioFrontEnd` fixes the sample rate, the MFCC analysis (FFT, window, hop, mel bands,
coefficients kept) and the window of MFCC columns the networks read for a group of video
frames. `FRONT_END` is the one the product computes; every network's config stores the
front end it was trained on, so a weights file says what audio it reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import AudioError

__all__ = ["FRONT_END", "AudioFrontEnd"]


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise AudioError(f"Audio front end: {name}={value!r} must be an integer >= {minimum}.")


@dataclass(frozen=True)
class AudioFrontEnd:
    """Sample rate, MFCC analysis and the networks' audio window (all integers)."""

    sample_rate: int = 16000  # audio samples per second (Hz)
    hop_length: int = 160     # samples between MFCC columns (10 ms at 16 kHz)
    win_length: int = 400     # samples in each analysis window (25 ms at 16 kHz)
    n_fft: int = 512          # FFT size in samples, >= win_length
    n_mels: int = 40          # mel bands
    n_mfcc: int = 13          # MFCC coefficients kept (c0 = log energy first), <= n_mels
    group_frames: int = 5     # video frames in one sync group (the window's frames)
    window_columns: int = 20  # MFCC columns the networks read per group (0.2 s at 10 ms)

    def __post_init__(self) -> None:
        for name in ("sample_rate", "hop_length", "win_length", "n_fft", "n_mels", "n_mfcc",
                     "group_frames", "window_columns"):
            _check_int(name, getattr(self, name), 1)
        if self.win_length > self.n_fft:
            raise AudioError(
                f"Audio front end: win_length={self.win_length} must be <= n_fft={self.n_fft}."
            )
        if self.n_mfcc > self.n_mels:
            raise AudioError(
                f"Audio front end: n_mfcc={self.n_mfcc} must be <= n_mels={self.n_mels}."
            )

    @property
    def feature_rate(self) -> float:
        """MFCC columns per second (``sample_rate / hop_length``)."""
        return self.sample_rate / self.hop_length

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


FRONT_END = AudioFrontEnd()  # the front end the product computes
