"""Speech synthesis with phoneme timings, through a ctypes binding to espeak-ng.

:func:`synthesize` turns text into mono float32 samples in [-1, 1] and the
phonemes espeak-ng spoke, each with its start and end time in seconds from the
first sample. espeak-ng itself is reached through :mod:`.espeak_binding` (ctypes),
loaded on first use; every call holds its lock, as espeak-ng is not thread-safe.

Timing conventions of :class:`Utterance`:

- Phoneme ``k`` starts at its event's ``audio_position`` and ends where phoneme
  ``k + 1`` starts; the last one ends at the end of the audio. Several events can
  share a time (espeak-ng emits zero-length ``_`` markers), so durations may be 0.
- Language-switch markers (``(en)`` when a German voice reads an English word)
  are dropped: they are not sounds.
- espeak-ng starts speaking a few milliseconds into the audio; that gap is
  covered by a leading pause phoneme ``_``, so the phonemes tile ``[0, duration]``.
- espeak-ng keeps some state from call to call: the same text and settings give
  the same phonemes, but times and length may differ slightly.
- Text is spoken with ``espeakENDPAUSE``: a sentence pause follows the last word,
  so the mouth has time to relax.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..audio.frontend import FRONT_END
from .espeak_binding import LOCK, PARAM_PITCH, PARAM_RATE, SpeechError, engine

__all__ = [
    "PITCH_RANGE",
    "Phoneme",
    "RATE_RANGE_WPM",
    "SpeechError",
    "Utterance",
    "is_available",
    "list_voices",
    "synthesize",
]

log = logging.getLogger(__name__)

RATE_RANGE_WPM = (80, 450)  # espeakRATE_MINIMUM .. espeakRATE_MAXIMUM, words per minute
PITCH_RANGE = (0, 100)  # espeakPITCH: 0 lowest .. 100 highest, 50 normal
SAMPLE_RATE_RANGE = (8000, 192000)  # Hz accepted for the result


# -- results -----------------------------------------------------------------


@dataclass(frozen=True)
class Phoneme:
    """One phoneme espeak-ng spoke."""

    start_s: float  # seconds from the first sample, >= 0
    end_s: float  # seconds, >= start_s (equal for zero-length markers)
    symbol: str  # espeak-ng mnemonic, e.g. "m", "aI", "_:" (pauses start with "_")

    @property
    def duration_s(self) -> float:
        """``end_s - start_s`` in seconds, >= 0."""
        return self.end_s - self.start_s

    @property
    def centre_s(self) -> float:
        """Middle of the phoneme in seconds."""
        return 0.5 * (self.start_s + self.end_s)


@dataclass(frozen=True, eq=False)
class Utterance:
    """Synthesised speech and its phoneme timings (compared by identity: it holds an array)."""

    samples: np.ndarray  # float32 (N,), mono, in [-1, 1], at sample_rate; read-only
    sample_rate: int  # Hz
    phonemes: tuple[Phoneme, ...]  # in time order, tiling [0, duration_s]
    text: str
    voice: str  # as asked for, e.g. "en-us"
    rate_wpm: int  # words per minute
    pitch: int  # 0..100

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds (``len(samples) / sample_rate``)."""
        return self.samples.shape[0] / self.sample_rate


# -- public API --------------------------------------------------------------


def is_available() -> bool:
    """True when the espeak-ng library can be loaded and initialised."""
    try:
        with LOCK:
            engine()
    except SpeechError:
        return False
    return True


def _check_int(name: str, value: object, lo: int, hi: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise SpeechError(f"{name}={value!r} must be an integer in [{lo}, {hi}] ({hint}).")
    return int(value)


def list_voices(language_prefix: str = "") -> list[str]:
    """Language codes espeak-ng can speak, e.g. ``["de", "en", "en-gb", "en-us", ...]``.

    Args:
        language_prefix: keep codes that start with it (case-insensitive), e.g. ``"en"``.

    Returns:
        Sorted, unique codes; each one is accepted as ``voice`` by :func:`synthesize`.
        MBROLA voices (``mb-*``) are left out: their data is not installed.
    """
    if not isinstance(language_prefix, str):
        raise SpeechError(f"language_prefix={language_prefix!r} must be a string such as 'en'.")
    prefix = language_prefix.lower()
    with LOCK:
        voices = engine().voices()
    codes = {
        lang
        for ident, langs in voices
        if not ident.startswith("mb/")
        for lang in langs
        if lang.lower().startswith(prefix)
    }
    return sorted(codes)


def synthesize(
    text: str,
    voice: str = "en-us",
    rate_wpm: int = 175,
    pitch: int = 50,
    sample_rate: int = FRONT_END.sample_rate,
) -> Utterance:
    """Speak ``text`` with espeak-ng and return the audio with its phoneme timings.

    Args:
        text: what to say, UTF-8; punctuation gives pauses.
        voice: language code or voice name, e.g. ``"en-us"``, ``"en-gb"``, ``"de"``,
            ``"fr"``, ``"es"``, ``"it"`` (see :func:`list_voices`).
        rate_wpm: speaking rate in words per minute, 80..450 (175 is normal).
        pitch: base pitch, 0..100 (50 is normal).
        sample_rate: Hz of the result, 8000..192000; espeak-ng speaks at 22050 Hz
            and the audio is resampled with soxr (librosa's ``soxr_hq``) when this differs.

    Returns:
        :class:`Utterance`: float32 samples (N,) in [-1, 1] at ``sample_rate`` and
        the phonemes, in time order, tiling ``[0, N / sample_rate]`` seconds.

    Raises:
        SpeechError: espeak-ng is missing, the voice is unknown, an argument is out
            of range, or the text is empty or gives no sound.
    """
    if not isinstance(text, str) or not text.strip():
        raise SpeechError(f"text={text!r} must be a non-empty string of words to speak.")
    if "\0" in text:
        raise SpeechError("text must not contain NUL characters.")
    if not isinstance(voice, str) or not voice.strip():
        raise SpeechError(f"voice={voice!r} must be a language code such as 'en-us' (see list_voices()).")
    rate_wpm = _check_int("rate_wpm", rate_wpm, *RATE_RANGE_WPM, "words per minute; 175 is normal")
    pitch = _check_int("pitch", pitch, *PITCH_RANGE, "50 is normal")
    sample_rate = _check_int("sample_rate", sample_rate, *SAMPLE_RATE_RANGE, "Hz, e.g. 16000")

    with LOCK:
        eng = engine()
        if not eng.set_voice(voice.strip()):
            raise SpeechError(
                f"espeak-ng has no voice {voice!r}. Use a language code from list_voices(), "
                "e.g. 'en-us', 'en-gb', 'de', 'fr', 'es' or 'it'."
            )
        # Voice selection resets the parameters, so set them after it, every call.
        eng.lib.espeak_SetParameter(PARAM_RATE, rate_wpm, 0)
        eng.lib.espeak_SetParameter(PARAM_PITCH, pitch, 0)
        pcm, events = eng.speak(text)
        native_rate = eng.native_rate

    if pcm.shape[0] == 0:
        raise SpeechError(f"espeak-ng produced no sound for {text!r}; give it words to speak.")
    samples = pcm.astype(np.float32) / np.float32(32768.0)  # (N0,) int16 -> [-1, 1)
    if sample_rate != native_rate:
        import soxr  # small; what librosa's res_type="soxr_hq" calls

        samples = soxr.resample(samples, native_rate, sample_rate, quality="HQ")
    samples = np.ascontiguousarray(np.clip(samples, -1.0, 1.0), dtype=np.float32)  # (N,)
    samples.setflags(write=False)
    duration = samples.shape[0] / sample_rate
    phonemes = _phonemes_from_events(events, duration)
    log.debug("espeak-ng %s %d wpm: %.2f s, %d phonemes", voice, rate_wpm, duration, len(phonemes))
    return Utterance(
        samples=samples, sample_rate=sample_rate, phonemes=phonemes,
        text=text, voice=voice, rate_wpm=rate_wpm, pitch=pitch,
    )


def _phonemes_from_events(events: list[tuple[int, str]], duration: float) -> tuple[Phoneme, ...]:
    """Phonemes tiling [0, duration] from (ms, mnemonic) events in order of arrival."""
    starts: list[float] = []
    symbols: list[str] = []
    last = 0.0
    for ms, symbol in events:
        if symbol.startswith("(") and symbol.endswith(")"):
            continue  # "(en)", "(de)": a language switch inside the text, not a sound
        t = min(max(ms / 1000.0, last), duration)  # monotone and inside the audio
        starts.append(t)
        symbols.append(symbol)
        last = t
    if not starts or starts[0] > 0.0:
        starts.insert(0, 0.0)
        symbols.insert(0, "_")
    ends = starts[1:] + [duration]
    return tuple(Phoneme(start_s=s, end_s=e, symbol=sym) for s, e, sym in zip(starts, ends, symbols))
