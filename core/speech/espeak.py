"""Speech synthesis with phoneme timings, through a ctypes binding to espeak-ng.

:func:`synthesize` turns text into mono float32 samples in [-1, 1] and the
phonemes espeak-ng spoke, each with its start and end time in seconds from the
first sample. The library (``libespeak-ng.so.1``, Debian packages ``espeak-ng``
and ``libespeak-ng1``) is loaded and initialised on first use, once per process,
with ``AUDIO_OUTPUT_SYNCHRONOUS`` and ``espeakINITIALIZE_PHONEME_EVENTS``; audio
and ``espeakEVENT_PHONEME`` events arrive through the synth callback. espeak-ng
keeps global state and is not thread-safe, so every call holds one module lock.

Binding (``speak_lib.h`` of espeak-ng 1.51, ``ESPEAK_API_REVISION`` 12, x86-64;
offsets checked with ``offsetof`` in C, see ``tests/core/test_speech_espeak.py``)::

    espeak_EVENT (40 bytes)             espeak_VOICE (40 bytes)
      0 int   type (enum)                 0 const char *name
      4 uint  unique_identifier           8 const char *languages
      8 int   text_position              16 const char *identifier
     12 int   length                     24 uchar gender, age, variant, xx1
     16 int   audio_position  (ms)       28 int   score
     20 int   sample                     32 void *spare
     24 void *user_data
     32 union id { int number; const char *name; char string[8]; }

Phoneme events carry espeak-ng's phoneme mnemonic (e.g. ``m``, ``aI``, ``_:``) in
``id.string``, NUL-terminated unless it fills all 8 bytes. ``audio_position`` is
the event's time in milliseconds from the start of the text's audio.

Timing conventions of :class:`Utterance`:

- Phoneme ``k`` starts at its event's ``audio_position`` and ends where phoneme
  ``k + 1`` starts; the last one ends at the end of the audio. Several events can
  share a time (espeak-ng emits zero-length ``_`` markers), so durations may be 0.
- Language-switch markers (``(en)`` when a German voice reads an English word)
  are dropped: they are not sounds.
- espeak-ng starts speaking a few milliseconds into the audio; that gap is
  covered by a leading pause phoneme ``_``, so the phonemes tile ``[0, duration]``.
- espeak-ng keeps some state from call to call: the same text and settings give
  the same phonemes, but times and length may differ by about 15 ms.
- Text is spoken with ``espeakENDPAUSE``: a sentence pause (about 0.3 s at 175
  words per minute) follows the last word, so the mouth has time to relax.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

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

INSTALL_HINT = "apt-get install espeak-ng libespeak-ng1"

RATE_RANGE_WPM = (80, 450)  # espeakRATE_MINIMUM .. espeakRATE_MAXIMUM, words per minute
PITCH_RANGE = (0, 100)  # espeakPITCH: 0 lowest .. 100 highest, 50 normal
SAMPLE_RATE_RANGE = (8000, 192000)  # Hz accepted for the result

# speak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit()
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EE_OK = 0
_BUFFER_MS = 200  # audio handed to the callback per call


class SpeechError(InputError):
    """Speech cannot be synthesised: espeak-ng is missing, or a voice, rate,
    pitch, sample rate or text is not usable. The message says how to fix it."""


# -- ctypes structures (layout in the module docstring) ----------------------


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),
    ]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated name)*, then a 0 byte
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


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


# -- the library (one per process) -------------------------------------------


class _Engine:
    """The loaded and initialised library, its callback, and what the callback collects."""

    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise SpeechError(
                f"The espeak-ng speech library ({path}) cannot be loaded: {exc}. "
                f"Install it with: {INSTALL_HINT}"
            ) from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
        lib.espeak_SetVoiceByProperties.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_Voice)]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int

        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, None,
            _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT,
        )
        if rate <= 0:
            raise SpeechError(
                f"espeak-ng failed to initialise (code {rate}); its voice data may be missing. "
                f"Reinstall it with: {INSTALL_HINT}"
            )
        self.lib = lib
        self.native_rate = int(rate)  # 22050 Hz for espeak-ng's own voices
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, str]] = []  # (audio_position ms, mnemonic)
        self.callback_error: BaseException | None = None
        self._callback = _SynthCallback(self._on_synth)  # keep a reference: C holds it
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, n_samples, events) -> int:  # noqa: ANN001 (ctypes pointers)
        # Exceptions cannot cross into C: keep the first one and stop synthesis (return 1).
        try:
            if n_samples > 0 and wav:
                self.chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
            if events:
                i = 0
                while events[i].type != _EVENT_LIST_TERMINATED:
                    ev = events[i]
                    if ev.type == _EVENT_PHONEME:
                        raw = bytes(ev.id.string).split(b"\0", 1)[0]
                        self.events.append((int(ev.audio_position), raw.decode("utf-8", "replace")))
                    i += 1
            return 0
        except BaseException as exc:  # noqa: BLE001
            self.callback_error = exc
            return 1

    def voices(self) -> list[tuple[str, list[str]]]:
        """(identifier, languages) of every voice espeak-ng lists."""
        out: list[tuple[str, list[str]]] = []
        arr = self.lib.espeak_ListVoices(None)
        i = 0
        while arr and arr[i]:
            v = arr[i].contents
            ident = (v.identifier or b"").decode("utf-8", "replace")
            langs: list[str] = []
            p = v.languages
            while p:
                if ctypes.c_ubyte.from_address(p).value == 0:  # priority 0 ends the list
                    break
                name = ctypes.string_at(p + 1)
                if not name:
                    break
                langs.append(name.decode("utf-8", "replace"))
                p += 2 + len(name)
            out.append((ident, langs))
            i += 1
        return out

    def set_voice(self, voice: str) -> bool:
        """Select a voice by name or language code; False when none matches."""
        key = voice.encode("utf-8")
        if self.lib.espeak_SetVoiceByName(key) == _EE_OK:
            return True
        # Language codes such as "en-gb" are not voice names: select by language.
        spec = _Voice()
        buf = ctypes.create_string_buffer(key)
        spec.languages = ctypes.cast(buf, ctypes.c_void_p)
        if self.lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) == _EE_OK:
            return True
        # Some listed codes (e.g. "chr-US-Qaaa-x-west") are found only by their voice file.
        for ident, langs in self.voices():
            if voice.lower() in (lang.lower() for lang in langs):
                return self.lib.espeak_SetVoiceByName(ident.encode("utf-8")) == _EE_OK
        return False

    def speak(self, text: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """int16 samples at ``native_rate`` and the phoneme events of ``text``."""
        self.chunks, self.events, self.callback_error = [], [], None
        data = text.encode("utf-8")
        buf = ctypes.create_string_buffer(data)  # NUL-terminated copy
        err = self.lib.espeak_Synth(
            buf, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
        )
        if self.callback_error is not None:
            raise SpeechError(f"espeak-ng synthesis failed in the audio callback: {self.callback_error!r}")
        if err != _EE_OK:
            raise SpeechError(f"espeak-ng could not synthesise {text!r} (error code {err}).")
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)
        return audio, list(self.events)


_LOCK = threading.Lock()  # espeak-ng is not thread-safe: one caller at a time
_ENGINE: _Engine | None = None


def _engine() -> _Engine:
    """The process's engine, created on first use. Call with ``_LOCK`` held."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Engine()
    return _ENGINE


def is_available() -> bool:
    """True when the espeak-ng library can be loaded and initialised."""
    try:
        with _LOCK:
            _engine()
    except SpeechError:
        return False
    return True


# -- public API --------------------------------------------------------------


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
    with _LOCK:
        voices = _engine().voices()
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
    sample_rate: int = 16000,
) -> Utterance:
    """Speak ``text`` with espeak-ng and return the audio with its phoneme timings.

    Args:
        text: what to say, UTF-8; punctuation gives pauses (a comma about 0.15 s).
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

    with _LOCK:
        eng = _engine()
        if not eng.set_voice(voice.strip()):
            raise SpeechError(
                f"espeak-ng has no voice {voice!r}. Use a language code from list_voices(), "
                "e.g. 'en-us', 'en-gb', 'de', 'fr', 'es' or 'it'."
            )
        # Voice selection resets the parameters, so set them after it, every call.
        eng.lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
        eng.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
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
