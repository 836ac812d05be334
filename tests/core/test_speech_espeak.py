"""Tests of core/speech/espeak_binding.py (the ctypes binding) and core/speech/espeak.py
(synthesis and phoneme timings), with the real espeak-ng; skipped only when the library
is not installed."""

import ctypes
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from lipsync.core.errors import InputError
from lipsync.core.speech import espeak_binding as binding
from lipsync.core.speech.espeak import SpeechError, is_available, list_voices, synthesize

needs_espeak = pytest.mark.skipif(
    not is_available(),
    reason="espeak-ng library (libespeak-ng.so.1) not found: apt-get install espeak-ng libespeak-ng1",
)

HELLO = "Hello, my name is Bob."
LANGUAGES = ("en-us", "en-gb", "de", "fr", "es", "it")
VOWEL_START = tuple("aeiouyAEIOUVY03@W")  # first letters of espeak-ng vowel mnemonics


def _rms(samples: np.ndarray, sr: int, start_s: float, end_s: float) -> float:
    seg = samples[int(round(start_s * sr)) : int(round(end_s * sr))].astype(np.float64)
    return float(np.sqrt(np.mean(seg**2))) if seg.size else 0.0


def _yin(frame: np.ndarray, sr: int, fmin: float = 50.0, fmax: float = 400.0) -> float:
    """Pitch of one frame by YIN (de Cheveigne & Kawahara 2002): the first lag whose
    cumulative-mean-normalised difference dips under 0.15."""
    max_lag = int(sr / fmin)
    w = frame.size - max_lag
    d = np.array([np.sum((frame[:w] - frame[lag : lag + w]) ** 2) for lag in range(max_lag + 1)])
    cmnd = d[1:] * np.arange(1, max_lag + 1) / np.maximum(np.cumsum(d[1:]), 1e-12)  # lags 1..max_lag
    lo = int(sr / fmax)
    below = np.flatnonzero(cmnd[lo - 1 :] < 0.15)
    lag = (below[0] + lo) if below.size else (np.argmin(cmnd[lo - 1 :]) + lo)
    return sr / lag


# -- the binding ---------------------------------------------------------------

# sizeof/offsetof printed by a C program compiled against speak_lib.h of espeak-ng
# 1.51 (Debian libespeak-ng-dev 1.51+dfsg-10, x86-64); see the next test.
EVENT_LAYOUT = {"type": 0, "unique_identifier": 4, "text_position": 8, "length": 12,
                "audio_position": 16, "sample": 20, "user_data": 24, "id": 32}
VOICE_LAYOUT = {"name": 0, "languages": 8, "identifier": 16, "gender": 24, "age": 25,
                "variant": 26, "xx1": 27, "score": 28, "spare": 32}


def test_struct_layout_matches_speak_lib_h():
    assert ctypes.sizeof(binding.Event) == 40 and ctypes.sizeof(binding.EventId) == 8
    assert {f: getattr(binding.Event, f).offset for f in EVENT_LAYOUT} == EVENT_LAYOUT
    assert ctypes.sizeof(binding.Voice) == 40
    assert {f: getattr(binding.Voice, f).offset for f in VOICE_LAYOUT} == VOICE_LAYOUT
    assert binding.EventId.string.size == 8


HEADER = Path("/usr/include/espeak-ng/speak_lib.h")


@pytest.mark.skipif(
    not (HEADER.is_file() and shutil.which("cc")),
    reason="needs a C compiler and speak_lib.h (apt-get install libespeak-ng-dev)",
)
def test_struct_layout_against_installed_header(tmp_path):
    fields = [("espeak_EVENT", f) for f in EVENT_LAYOUT] + [("espeak_VOICE", f) for f in VOICE_LAYOUT]
    src = "#include <stdio.h>\n#include <stddef.h>\n#include <espeak-ng/speak_lib.h>\nint main(void){\n"
    src += 'printf("%zu %zu\\n", sizeof(espeak_EVENT), sizeof(espeak_VOICE));\n'
    src += "".join(f'printf("%zu\\n", offsetof({s}, {f}));\n' for s, f in fields)
    src += 'printf("%d %d %d %d %d\\n", AUDIO_OUTPUT_SYNCHRONOUS, espeakEVENT_PHONEME, '
    src += "espeakINITIALIZE_PHONEME_EVENTS, espeakRATE, espeakPITCH);\nreturn 0;}\n"
    (tmp_path / "layout.c").write_text(src)
    subprocess.run(["cc", "-o", str(tmp_path / "layout"), str(tmp_path / "layout.c")], check=True)
    out = subprocess.run([str(tmp_path / "layout")], capture_output=True, text=True, check=True).stdout.split()
    sizes, offsets, consts = out[:2], out[2 : 2 + len(fields)], out[2 + len(fields) :]
    assert [int(x) for x in sizes] == [ctypes.sizeof(binding.Event), ctypes.sizeof(binding.Voice)]
    ours = [getattr({"espeak_EVENT": binding.Event, "espeak_VOICE": binding.Voice}[s], f).offset for s, f in fields]
    assert [int(x) for x in offsets] == ours
    assert [int(x) for x in consts] == [binding.AUDIO_OUTPUT_SYNCHRONOUS, binding.EVENT_PHONEME,
                                        binding.INITIALIZE_PHONEME_EVENTS, binding.PARAM_RATE,
                                        binding.PARAM_PITCH]


def test_missing_library_says_how_to_install(monkeypatch):
    def no_library(*args, **kwargs):
        raise OSError("libespeak-ng.so.1: cannot open shared object file")

    monkeypatch.setattr(binding.ctypes, "CDLL", no_library)
    with pytest.raises(SpeechError, match="apt-get install espeak-ng libespeak-ng1"):
        binding.Engine()


# -- synthesis -----------------------------------------------------------------


@needs_espeak
def test_hello_audio_and_phonemes():
    u = synthesize(HELLO)
    assert (u.text, u.voice, u.rate_wpm, u.pitch, u.sample_rate) == (HELLO, "en-us", 175, 50, 16000)
    assert u.samples.dtype == np.float32 and u.samples.ndim == 1
    assert not u.samples.flags.writeable
    assert 0.8 <= u.duration_s <= 3.0
    assert np.abs(u.samples).max() <= 1.0 and np.abs(u.samples).max() > 0.1
    ph = u.phonemes
    assert len(ph) > 10
    assert ph[0].start_s == 0.0 and ph[-1].end_s == pytest.approx(u.duration_s)
    for a, b in zip(ph, ph[1:]):
        assert a.end_s == b.start_s  # they tile the audio
    assert all(0.0 <= p.start_s <= p.end_s <= u.duration_s for p in ph)
    symbols = [p.symbol for p in ph]
    assert "m" in symbols and symbols.count("b") == 2  # "my", "name", "Bob"
    assert not any(s.startswith("(") for s in symbols)


@needs_espeak
def test_voices_exist_and_speak():
    voices = list_voices()
    assert set(LANGUAGES) <= set(voices)
    english = list_voices("EN")
    assert "en-us" in english and all(v.startswith("en") for v in english)
    durations = {}
    for lang in LANGUAGES:
        u = synthesize(HELLO, voice=lang)
        assert len(u.phonemes) > 8 and u.voice == lang
        durations[lang] = u.duration_s
    assert len({round(d, 2) for d in durations.values()}) >= 4  # voices speak differently


@needs_espeak
def test_every_listed_voice_can_be_selected():
    # Some codes (e.g. "chr-US-Qaaa-x-west") are neither voice names nor languages
    # espeak_SetVoiceByProperties finds; list_voices must only list what works.
    failed = []
    for code in list_voices():
        try:
            synthesize("ok", voice=code)
        except SpeechError as exc:
            failed.append((code, str(exc)))
    assert failed == []


@needs_espeak
def test_rate_changes_duration_and_pitch_changes_sound():
    slow, normal, fast = (synthesize(HELLO, rate_wpm=r) for r in (100, 175, 350))
    assert slow.duration_s > normal.duration_s > fast.duration_s
    assert slow.duration_s > 2.0 * fast.duration_s
    low, high = synthesize(HELLO, pitch=10), synthesize(HELLO, pitch=90)

    def f0(u):  # median YIN pitch (Hz) over the stressed vowel of "Bob"
        vowel = [p for p in u.phonemes if p.symbol == "0"][0]
        seg = u.samples[int(vowel.start_s * 16000) : int(vowel.end_s * 16000)].astype(np.float64)
        return float(np.median([_yin(seg[i : i + 800], 16000) for i in range(0, seg.size - 800, 160)]))

    assert 55 < f0(low) < 85 and 120 < f0(high) < 170  # librosa.yin: 68 and 144 Hz
    assert f0(high) > 1.5 * f0(low)


@needs_espeak
def test_repeated_calls_with_other_voices_in_between_repeat_the_timings():
    first = synthesize(HELLO, voice="en-us")
    for lang in ("de", "fr", "it"):
        synthesize("Eins, zwei, drei.", voice=lang, rate_wpm=300, pitch=80)
    again = synthesize(HELLO, voice="en-us")
    assert [p.symbol for p in first.phonemes] == [p.symbol for p in again.phonemes]
    # espeak-ng keeps some state between calls: the same phonemes, times within ~15 ms.
    np.testing.assert_allclose([p.start_s for p in first.phonemes], [p.start_s for p in again.phonemes], atol=0.02)
    assert abs(first.duration_s - again.duration_s) < 0.05


@needs_espeak
def test_sample_rate_resamples_without_moving_phonemes():
    a = synthesize(HELLO, sample_rate=16000)
    b = synthesize(HELLO, sample_rate=44100)
    assert b.sample_rate == 44100 and b.samples.dtype == np.float32
    assert abs(a.duration_s - b.duration_s) < 0.05
    np.testing.assert_allclose([p.start_s for p in a.phonemes], [p.start_s for p in b.phonemes], atol=0.02)


@needs_espeak
def test_phoneme_times_match_speech_energy():
    """Pauses are quiet and vowels loud in the audio: the event times line up with the sound."""
    u = synthesize("Hello, my name is Bob. How are you?")
    sr = u.samples, u.sample_rate
    spoken = [p for p in u.phonemes if not p.symbol.startswith("_")]
    pauses = [p for p in u.phonemes if p.symbol.startswith("_") and p.duration_s > 0.05]
    vowels = [p for p in spoken if p.symbol.startswith(VOWEL_START) and p.duration_s >= 0.03]
    assert len(vowels) >= 8 and len(pauses) >= 3
    lead = (0.0, spoken[0].start_s)  # a few ms: espeak-ng starts at once
    trail = (spoken[-1].end_s, u.duration_s)  # the end pause
    assert u.phonemes[0].symbol == "_" and trail[1] - trail[0] > 0.15
    vowel_rms = np.mean([_rms(*sr, p.start_s, p.end_s) for p in vowels])
    edge_rms = np.mean([_rms(*sr, *lead), _rms(*sr, *trail)])
    pause_rms = max(_rms(*sr, p.start_s + 0.01, p.end_s - 0.01) for p in pauses)
    assert vowel_rms > 3 * edge_rms
    assert vowel_rms > 10 * pause_rms  # the comma and full-stop pauses are silent too
    # The sound starts within 30 ms of the first spoken phoneme.
    first = next(p for p in u.phonemes if not p.symbol.startswith("_"))
    loud = np.flatnonzero(np.abs(u.samples) > 0.02)
    assert abs(loud[0] / u.sample_rate - first.start_s) < 0.03


@needs_espeak
def test_concurrent_calls_are_serialised():
    expected = [p.symbol for p in synthesize(HELLO).phonemes]
    results, errors = [], []

    def work():
        try:
            results.append([p.symbol for p in synthesize(HELLO).phonemes])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [expected] * 4


# -- bad input -----------------------------------------------------------------


@needs_espeak
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"text": ""}, "non-empty"),
        ({"text": "   "}, "non-empty"),
        ({"text": 42}, "non-empty"),
        ({"voice": "xx-nowhere"}, "list_voices"),
        ({"voice": ""}, "language code"),
        ({"rate_wpm": 20}, "rate_wpm"),
        ({"rate_wpm": 175.0}, "rate_wpm"),
        ({"pitch": 101}, "pitch"),
        ({"pitch": True}, "pitch"),
        ({"sample_rate": 0}, "sample_rate"),
    ],
)
def test_bad_input_raises_speech_error(kwargs, match):
    args = {"text": HELLO, **kwargs}
    with pytest.raises(SpeechError, match=match) as info:
        synthesize(**args)
    assert isinstance(info.value, InputError)


@needs_espeak
def test_unknown_voice_does_not_break_later_calls():
    with pytest.raises(SpeechError):
        synthesize(HELLO, voice="xx-nowhere")
    assert synthesize(HELLO, voice="en-gb").voice == "en-gb"
