"""Tests of core/speech/visemes.py: the phoneme -> viseme table, per-frame weights
with coarticulation, and jaw opening. Real espeak-ng speech where it matters."""

import logging

import numpy as np
import pytest

from lipsync.core.audio.frontend import AudioFrontEnd
from lipsync.core.audio.timing import AudioTiming
from lipsync.core.errors import InputError
from lipsync.core.speech import visemes as V
from lipsync.core.speech.espeak import Phoneme, SpeechError, is_available, synthesize
from lipsync.core.speech.visemes import (OPENNESS, VISEMES, Coarticulation, is_known_phoneme,
                                         jaw_open, phoneme_targets, phoneme_to_viseme,
                                         viseme_weights)

needs_espeak = pytest.mark.skipif(
    not is_available(),
    reason="espeak-ng library (libespeak-ng.so.1) not found: apt-get install espeak-ng libespeak-ng1",
)

FPS_ALL = (24000 / 1001, 25, 30, 60)
COL = {name: i for i, name in enumerate(VISEMES)}

# 20 sentences across the six languages the table is made for.
SENTENCES = {
    "en-us": ["Hello, my name is Bob.", "The quick brown fox jumps over the lazy dog.",
              "Think about the weather: thousands of feathers, whirling through the air.",
              "She sells seashells by the seashore, doesn't she?",
              "Judge the vision of the pleasure ship at Christmas."],
    "en-gb": ["Would you like a cup of tea, or perhaps coffee?",
              "Our hour of power is near; Ian's idea was odd.",
              "Bring the boy some yellow oranges and a cherry pie."],
    "de": ["Guten Morgen, ich heiße Anna und wohne in München.",
           "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
           "Möchtest du noch ein Stück Kuchen? Ja, gerne!"],
    "fr": ["Bonjour, je m'appelle Pierre et j'habite à Paris.",
           "Le chat noir dort sous la table, près du feu.",
           "Un bon vin blanc, une brune et un grand pain."],
    "es": ["Buenos días, me llamo Carmen y vivo en Madrid.",
           "El perro corre rápido por la calle mojada.",
           "¿Quieres un churro con chocolate? Gracias, hijo."],
    "it": ["Buongiorno, mi chiamo Marco e abito a Roma.",
           "Gli gnocchi sono buoni, ma la pizza è migliore.",
           "Quella zuppa di zucca è squisita, vero?"],
}


def _ph(*spec: tuple[str, float, float]) -> list[Phoneme]:
    return [Phoneme(start_s=s, end_s=e, symbol=sym) for sym, s, e in spec]


def _nearest(timing: AudioTiming, n: int, time_s: float) -> int:
    times = np.array([timing.video_frame_time(i) for i in range(n)])
    return int(np.argmin(np.abs(times - time_s)))


# -- the table -----------------------------------------------------------------


def test_visemes_and_openness():
    assert VISEMES == ("neutral", "closed", "open", "wide", "round", "lip_teeth", "tongue_teeth")
    assert set(OPENNESS) == set(VISEMES) and all(0.0 <= v <= 1.0 for v in OPENNESS.values())
    assert OPENNESS["open"] == 1.0 and OPENNESS["closed"] == OPENNESS["neutral"] == 0.0


@pytest.mark.parametrize(
    "symbols, viseme",
    [
        ("m b p m- pF", "closed"),
        ("f v", "lip_teeth"),
        ("T D", "tongue_teeth"),
        ("a A: aa V 0 E aI aU", "open"),
        ("i i: I e e: eI", "wide"),
        ("u u: U o o: O oU w y Y W OI", "round"),
        ("_ _: _! _| ? (en)", "neutral"),
        ("s z t d n", "wide"),
        ("k g N h l", "open"),
        ("S Z tS dZ", "round"),
    ],
)
def test_phoneme_to_viseme(symbols, viseme):
    for sym in symbols.split():
        assert phoneme_to_viseme(sym) == viseme, sym


def test_targets_strengths_and_diphthongs():
    for sym, targets in V._TABLE.items():
        assert 1 <= len(targets) <= 2, sym
        for viseme, strength in targets:
            assert viseme in VISEMES and viseme != "neutral", sym
            assert 0.0 < strength <= 1.0, sym
    assert phoneme_targets("m") == (("closed", 1.0),)
    assert phoneme_targets("aI") == (("open", 1.0), ("wide", 0.8))
    assert phoneme_targets("_:") == ()
    # Consonants away from the lips give a small opening, vowels a full one.
    assert phoneme_targets("t")[0][1] < 0.5 and phoneme_targets("k")[0][1] < 0.5
    assert phoneme_targets("a")[0][1] == 1.0


def test_unknown_symbols(caplog):
    assert not is_known_phoneme("Q7x") and is_known_phoneme("_:") and is_known_phoneme("aI")
    with pytest.raises(SpeechError, match="'Q7x'") as info:
        phoneme_to_viseme("Q7x", strict=True)
    assert isinstance(info.value, InputError)
    with caplog.at_level(logging.WARNING, logger="lipsync.core.speech.visemes"):
        assert phoneme_to_viseme("%%%") == "neutral"
    assert "'%%%'" in caplog.text
    # Modifier marks are stripped before giving up: "O~#" -> "O~".
    assert not is_known_phoneme("O~#") and phoneme_to_viseme("O~#", strict=True) == "round"
    with pytest.raises(SpeechError, match="string"):
        phoneme_to_viseme(7)  # type: ignore[arg-type]


@needs_espeak
def test_table_covers_every_phoneme_espeak_emits_for_the_sentences():
    seen: dict[str, str] = {}
    for voice, sentences in SENTENCES.items():
        for text in sentences:
            for p in synthesize(text, voice=voice).phonemes:
                seen.setdefault(p.symbol, f"{voice}: {text}")
    unknown = {sym: where for sym, where in seen.items() if not is_known_phoneme(sym)}
    assert unknown == {}, f"phonemes missing from the viseme table: {unknown}"
    assert len(seen) > 60  # the sentences really span the six languages
    spoken = {phoneme_to_viseme(s) for s in seen}
    assert spoken == set(VISEMES)  # every viseme is used


# -- weights -------------------------------------------------------------------

SIMPLE = _ph(("_", 0.0, 0.3), ("m", 0.3, 0.38), ("a", 0.38, 0.6), ("_", 0.6, 1.2),
             ("i", 1.2, 1.35), ("f", 1.35, 1.45), ("u", 1.45, 1.62), ("_", 1.62, 2.0))


def test_weights_shape_dtype_range():
    timing = AudioTiming(fps=25)
    w = viseme_weights(SIMPLE, timing, 50)
    assert w.shape == (50, 7) and w.dtype == np.float32
    assert w.min() >= 0.0 and w.max() <= 1.0
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-5)
    assert viseme_weights(SIMPLE, timing, 0).shape == (0, 7)
    assert viseme_weights([], timing, 10)[:, COL["neutral"]].tolist() == [1.0] * 10


def test_frames_past_the_phonemes_are_neutral():
    w = viseme_weights(SIMPLE, AudioTiming(fps=30), 120)  # 4 s of frames, 2 s of phonemes
    assert np.all(w[70:, COL["neutral"]] == 1.0)


@pytest.mark.parametrize("fps", FPS_ALL)
def test_peak_on_the_frame_nearest_the_centre(fps):
    timing = AudioTiming(fps=fps)
    n = int(2.0 * fps)
    w = viseme_weights(SIMPLE, timing, n)
    for sym, viseme in (("a", "open"), ("i", "wide"), ("f", "lip_teeth"), ("u", "round")):
        p = next(q for q in SIMPLE if q.symbol == sym)
        lo = _nearest(timing, n, p.start_s - 0.1)
        hi = _nearest(timing, n, p.end_s + 0.1)
        peak = lo + int(np.argmax(w[lo : hi + 1, COL[viseme]]))
        assert abs(peak - _nearest(timing, n, p.centre_s)) <= 1, (sym, peak)
    # An isolated vowel peaks exactly there.
    alone = _ph(("_", 0.0, 0.5), ("a", 0.5, 0.71), ("_", 0.71, 1.5))
    w = viseme_weights(alone, timing, int(1.5 * fps))
    assert int(np.argmax(w[:, COL["open"]])) == _nearest(timing, w.shape[0], 0.605)
    assert w[:, COL["open"]].max() == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("fps", FPS_ALL)
def test_bilabials_close_fully_on_their_centre_frame(fps):
    timing = AudioTiming(fps=fps)
    # 30 ms "b" between open vowels: shorter than a frame at 23.976-30 fps.
    short = _ph(("_", 0.0, 0.2), ("a", 0.2, 0.4), ("b", 0.4, 0.43), ("a", 0.43, 0.65), ("_", 0.65, 1.0))
    n = int(fps)
    w = viseme_weights(short, timing, n)
    k = _nearest(timing, n, 0.415)
    assert w[k, COL["closed"]] == 1.0 and w[k, COL["open"]] == 0.0


@needs_espeak
@pytest.mark.parametrize("fps", FPS_ALL)
def test_real_speech_closes_on_m_b_p_and_opens_on_vowels(fps):
    u = synthesize("Hello, my name is Bob. Maybe pop music?")
    timing = AudioTiming(fps=fps, front_end=AudioFrontEnd(sample_rate=u.sample_rate))
    n = timing.n_video_frames_for(u.samples.shape[0])
    w = viseme_weights(u.phonemes, timing, n)
    bilabials = [p for p in u.phonemes if p.symbol in ("m", "b", "p")]
    assert len(bilabials) >= 7
    for p in bilabials:
        k = _nearest(timing, n, p.centre_s)
        assert w[k, COL["closed"]] == 1.0, (p, k)
        assert w[k, COL["open"]] < 0.05 and w[k, COL["wide"]] < 0.05
    jaw = jaw_open(w)
    vowel = next(p for p in u.phonemes if p.symbol == "0")  # "Bob"
    assert jaw[_nearest(timing, n, vowel.centre_s)] > 0.7
    assert np.all(w[-3:, COL["neutral"]] == 1.0)  # the end pause relaxes the mouth


def test_long_silence_relaxes_short_pause_does_not():
    timing = AudioTiming(fps=60)
    long = _ph(("a", 0.0, 0.3), ("_:", 0.3, 0.6), ("a", 0.6, 0.9))
    w = viseme_weights(long, timing, 60)
    mid = _nearest(timing, 60, 0.45)
    assert w[mid, COL["neutral"]] == 1.0 and w[mid, COL["open"]] == 0.0
    short = _ph(("a", 0.0, 0.3), ("_", 0.3, 0.38), ("a", 0.38, 0.7))
    w = viseme_weights(short, timing, 60)
    assert w[_nearest(timing, 60, 0.34), COL["neutral"]] < 0.5  # 80 ms: the mouth stays open


def test_coarticulation_anticipates_and_releases():
    timing = AudioTiming(fps=100)
    co = Coarticulation()
    w = viseme_weights(_ph(("_", 0.0, 0.5), ("u", 0.5, 0.7), ("_", 0.7, 1.2)), timing, 120)
    rnd = w[:, COL["round"]]
    assert rnd[47] > 0.0 and rnd[int((0.5 - co.onset_s) * 100) - 1] == 0.0  # forms before the phoneme
    assert rnd[73] > 0.0 and rnd[int((0.7 + co.release_s) * 100) + 1] == 0.0  # fades after it
    assert np.all(np.diff(rnd[38:50]) >= 0) and np.all(np.diff(rnd[70:82]) <= 0)
    # Neighbours overlap: at the boundary of "i" and "u" both are present.
    w = viseme_weights(_ph(("i", 0.0, 0.3), ("u", 0.3, 0.6)), timing, 60)
    assert w[30, COL["wide"]] > 0.2 and w[30, COL["round"]] > 0.2


def test_weights_follow_the_timing():
    """Shifting every phoneme by one frame period shifts the weights by one row."""
    timing = AudioTiming(fps=24000 / 1001)
    period = timing.video_frame_time(1)
    shifted = [Phoneme(p.start_s + period, p.end_s + period, p.symbol) for p in SIMPLE]
    a = viseme_weights(SIMPLE, timing, 60)
    b = viseme_weights(shifted, timing, 60)
    np.testing.assert_allclose(b[1:], a[:-1], atol=1e-5)


def test_diphthong_moves_between_its_targets():
    timing = AudioTiming(fps=100)
    w = viseme_weights(_ph(("_", 0.0, 0.3), ("aU", 0.3, 0.7), ("_", 0.7, 1.2)), timing, 120)
    assert w[40, COL["open"]] > 0.8 and w[40, COL["round"]] < 0.1  # first part: open
    assert w[65, COL["round"]] > 0.6 and w[65, COL["open"]] < 0.3  # second part: round


def test_bad_input():
    timing = AudioTiming(fps=25)
    with pytest.raises(SpeechError, match="AudioTiming"):
        viseme_weights(SIMPLE, 25, 10)  # type: ignore[arg-type]
    with pytest.raises(SpeechError, match="n_frames"):
        viseme_weights(SIMPLE, timing, -1)
    with pytest.raises(SpeechError, match="end_s >= start_s"):
        viseme_weights(_ph(("a", 0.5, 0.4)), timing, 10)
    with pytest.raises(SpeechError, match=r"phonemes\[0\]"):
        viseme_weights([("a", 0.0, 0.1)], timing, 10)  # type: ignore[list-item]
    with pytest.raises(SpeechError, match="release_s"):
        Coarticulation(release_s=0.0)
    with pytest.raises(SpeechError, match="shape"):
        jaw_open(np.zeros((5, 6)))


# -- jaw -----------------------------------------------------------------------


def test_jaw_open():
    timing = AudioTiming(fps=100)
    w = viseme_weights(SIMPLE, timing, 200)
    jaw = jaw_open(w)
    assert jaw.shape == (200,) and jaw.dtype == np.float32
    assert jaw.min() >= 0.0 and jaw.max() <= 1.0
    assert jaw[49] > 0.9  # "a"
    assert jaw[34] == 0.0  # "m"
    assert 0.2 < jaw[127] < 0.6  # "i"
    assert np.all(jaw[90:110] == 0.0)  # silence
    one_hot = np.eye(7, dtype=np.float32)
    np.testing.assert_allclose(jaw_open(one_hot), [OPENNESS[v] for v in VISEMES])
