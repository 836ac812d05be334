"""The ctypes binding to espeak-ng: the library loaded and initialised once per process.

The library (``libespeak-ng.so.1``, Debian packages ``espeak-ng`` and ``libespeak-ng1``)
is loaded and initialised on first use (:func:`engine`), with
``AUDIO_OUTPUT_SYNCHRONOUS`` and ``espeakINITIALIZE_PHONEME_EVENTS``; audio and
``espeakEVENT_PHONEME`` events arrive through the synth callback. espeak-ng keeps global
state and is not thread-safe, so every caller holds :data:`LOCK`.

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
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

from ..errors import InputError

INSTALL_HINT = "apt-get install espeak-ng libespeak-ng1"

# speak_lib.h constants.
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit()
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
POS_CHARACTER = 1
CHARS_UTF8 = 1
ENDPAUSE = 0x1000
PARAM_RATE = 1
PARAM_PITCH = 3
EE_OK = 0
BUFFER_MS = 200  # audio handed to the callback per call


class SpeechError(InputError):
    """Speech cannot be synthesised: espeak-ng is missing, or a voice, rate,
    pitch, sample rate or text is not usable. The message says how to fix it."""


# -- ctypes structures (layout in the module docstring) ----------------------


class EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),
    ]


class Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", EventId),
    ]


class Voice(ctypes.Structure):
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


SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(Event)
)


# -- the library (one per process) -------------------------------------------


class Engine:
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
        lib.espeak_SetSynthCallback.argtypes = [SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(Voice)]
        lib.espeak_SetVoiceByProperties.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.POINTER(Voice)]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(Voice))
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int

        rate = lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, None,
            INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT,
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
        self._callback = SynthCallback(self._on_synth)  # keep a reference: C holds it
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, n_samples, events) -> int:  # noqa: ANN001 (ctypes pointers)
        # Exceptions cannot cross into C: keep the first one and stop synthesis (return 1).
        try:
            if n_samples > 0 and wav:
                self.chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
            if events:
                i = 0
                while events[i].type != EVENT_LIST_TERMINATED:
                    ev = events[i]
                    if ev.type == EVENT_PHONEME:
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
        if self.lib.espeak_SetVoiceByName(key) == EE_OK:
            return True
        # Language codes such as "en-gb" are not voice names: select by language.
        spec = Voice()
        buf = ctypes.create_string_buffer(key)
        spec.languages = ctypes.cast(buf, ctypes.c_void_p)
        if self.lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) == EE_OK:
            return True
        # Some listed codes (e.g. "chr-US-Qaaa-x-west") are found only by their voice file.
        for ident, langs in self.voices():
            if voice.lower() in (lang.lower() for lang in langs):
                return self.lib.espeak_SetVoiceByName(ident.encode("utf-8")) == EE_OK
        return False

    def speak(self, text: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """int16 samples at ``native_rate`` and the phoneme events of ``text``."""
        self.chunks, self.events, self.callback_error = [], [], None
        data = text.encode("utf-8")
        buf = ctypes.create_string_buffer(data)  # NUL-terminated copy
        err = self.lib.espeak_Synth(
            buf, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE, None, None
        )
        if self.callback_error is not None:
            raise SpeechError(f"espeak-ng synthesis failed in the audio callback: {self.callback_error!r}")
        if err != EE_OK:
            raise SpeechError(f"espeak-ng could not synthesise {text!r} (error code {err}).")
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)
        return audio, list(self.events)


LOCK = threading.Lock()  # espeak-ng is not thread-safe: one caller at a time
_ENGINE: Engine | None = None


def engine() -> Engine:
    """The process's engine, created on first use. Call with ``LOCK`` held."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine()
    return _ENGINE
