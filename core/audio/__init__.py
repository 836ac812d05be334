"""Audio for lip-sync: load and save sound, and turn it into MFCC windows
aligned to video frames at any frame rate.

- :mod:`.timing`: :class:`AudioTiming`, the one place that converts between video
  frames, audio samples and MFCC frames.
- :mod:`.io`: :func:`load_audio`, :func:`save_wav`, :func:`fit_to_frames`, :func:`is_silent`.
- :mod:`.features`: :func:`mel_spectrogram`, :func:`mfcc`, :func:`frame_windows`,
  :func:`features_for_frames`.

librosa is imported only when features are computed.
"""

from .features import features_for_frames, frame_windows, mel_spectrogram, mfcc
from .io import AudioFit, fit_to_frames, is_silent, load_audio, save_wav
from .timing import AudioTiming

__all__ = [
    "AudioFit",
    "AudioTiming",
    "features_for_frames",
    "fit_to_frames",
    "frame_windows",
    "is_silent",
    "load_audio",
    "mel_spectrogram",
    "mfcc",
    "save_wav",
]
