"""Audio for lip-sync: load and save sound, and turn it into MFCC windows
aligned to video frames at any frame rate.

- :mod:`.frontend`: :class:`AudioFrontEnd`, what the networks hear (sample rate, MFCC
  analysis, window read), and `FRONT_END`, the one the product computes.
- :mod:`.timing`: :class:`AudioTiming`, the one place that converts between video
  frames, audio samples and MFCC columns.
- :mod:`.io`: :func:`load_audio`, :func:`save_wav`, :func:`fit_to_frames`, :func:`is_silent`,
  :func:`shot_audio`.
- :mod:`.features`: :func:`mel_spectrogram`, :func:`mfcc`, :func:`group_window` (the
  networks' window), :func:`frame_windows`, :func:`features_for_frames`.

librosa is imported only when features are computed.
"""

from .features import features_for_frames, frame_windows, group_window, mel_spectrogram, mfcc
from .frontend import FRONT_END, AudioFrontEnd
from .io import AudioFit, fit_to_frames, is_silent, load_audio, save_wav, shot_audio
from .timing import AudioTiming

__all__ = [
    "FRONT_END",
    "AudioFit",
    "AudioFrontEnd",
    "AudioTiming",
    "features_for_frames",
    "fit_to_frames",
    "frame_windows",
    "group_window",
    "is_silent",
    "shot_audio",
    "load_audio",
    "mel_spectrogram",
    "mfcc",
    "save_wav",
]
