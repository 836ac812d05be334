"""Speech for lip-sync data and tests. Pure Python (ctypes + numpy), no bpy.

- :mod:`.espeak`: :func:`synthesize` text with espeak-ng into float32 mono samples in
  [-1, 1] plus timed phonemes (:class:`Utterance`, :class:`Phoneme`); :func:`list_voices`.
- :mod:`.espeak_binding`: the ctypes layer over libespeak-ng (engine, events, voices).
- :mod:`.visemes`: espeak-ng phonemes -> the seven :data:`VISEMES` ->
  per-video-frame weights (n_frames, 7) with coarticulation (:func:`viseme_weights`),
  and a scalar mouth opening per frame (:func:`jaw_open`).
- :mod:`.isolated`: :func:`synthesize_isolated`, the same in a fresh process (reproducible).

espeak-ng is loaded on the first call, not at import.
"""

from .espeak import Phoneme, SpeechError, Utterance, is_available, list_voices, synthesize
from .isolated import synthesize_isolated
from .visemes import (OPENNESS, VISEMES, Coarticulation, is_known_phoneme, jaw_open,
                      phoneme_targets, phoneme_to_viseme, viseme_weights)

__all__ = [
    "Coarticulation",
    "OPENNESS",
    "Phoneme",
    "SpeechError",
    "Utterance",
    "VISEMES",
    "is_available",
    "is_known_phoneme",
    "jaw_open",
    "list_voices",
    "phoneme_targets",
    "phoneme_to_viseme",
    "synthesize",
    "synthesize_isolated",
    "viseme_weights",
]
