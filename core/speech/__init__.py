"""Speech for lip-sync data and tests. Pure Python (ctypes + numpy), no bpy.

- :mod:`.espeak`: :func:`synthesize` text with espeak-ng into float32 mono samples in
  [-1, 1] plus timed phonemes (:class:`Utterance`, :class:`Phoneme`); :func:`list_voices`.
- :mod:`.espeak_binding`: the ctypes layer over libespeak-ng (engine, events, voices).
- :mod:`.visemes`: espeak-ng phonemes -> the seven :data:`VISEMES` ->
  per-video-frame weights (n_frames, 7) with coarticulation (:func:`viseme_weights`),
  and a scalar mouth opening per frame (:func:`jaw_open`).
- :mod:`.isolated`: :func:`synthesize_isolated`, the same in a fresh process (reproducible).

espeak-ng is loaded on the first call, not at import.
Names are loaded on first use (`__getattr__`), so importing a light submodule such as
`sentences` (the add-on's settings do, at registration) does not pull in audio and numpy.
"""

import importlib

_SOURCES = {
    ".espeak": ("Phoneme", "SpeechError", "Utterance", "is_available", "list_voices",
                "synthesize"),
    ".isolated": ("synthesize_isolated",),
    ".visemes": ("OPENNESS", "VISEMES", "Coarticulation", "is_known_phoneme", "jaw_open",
                 "phoneme_targets", "phoneme_to_viseme", "viseme_weights"),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
