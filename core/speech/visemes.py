"""Phonemes -> visemes -> per-video-frame viseme weights, with coarticulation.

Seven visemes (mouth shapes), in this column order everywhere::

    0 neutral       rest / silence (derived: 1 - the other six, see below)
    1 closed        lips pressed together: m b p
    2 open          jaw open: a-like vowels (a, A:, 0, V), open-mid E; small for
                    schwa, laterals l, velars k g N, h, taps and trills
    3 wide          lips spread: e/i vowels; small for t d n, sibilants s z, palatals j C
    4 round         lips rounded: o u y vowels, w; medium for sh/zh/ch (S Z tS dZ)
    5 lip_teeth     lower lip on the upper teeth: f v
    6 tongue_teeth  tongue between the teeth: th (T D)

The table maps espeak-ng phoneme mnemonics (the symbols of
:class:`~.espeak.Phoneme`) of en-us, en-gb, de, fr, es and it to a target:
a viseme and a strength in (0, 1], the weight it reaches at the phoneme's centre.

- Vowels by openness and rounding: open vowels -> open 1.0; open-mid E -> open 0.7;
  schwa-like @ 3 -> open 0.45; close/close-mid front unrounded i I e -> wide 0.8-1.0;
  rounded o O u U y Y W -> round 0.75-1.0. Diphthongs have two targets, the first
  for the first 60 % of the phoneme (aI: open -> wide, aU: open -> round, OI: round -> wide).
- Consonants by place: bilabial -> closed 1.0 (Spanish B, an approximant: 0.6);
  labiodental -> lip_teeth 1.0; dental T D -> tongue_teeth 1.0 (t[ d[ 0.5);
  alveolar stops and nasals -> wide 0.35; sibilants -> wide 0.6; postalveolars ->
  round 0.6; palatals -> wide 0.35-0.5; laterals -> open 0.4; velars, uvulars ->
  open 0.35; h -> open 0.4; taps, trills, r -> open 0.3; English r- -> round 0.4; w -> round 1.0.
- Pauses (every symbol starting with ``_``, and ``||``), language-switch markers
  such as ``(en)``, and the glottal stop ``?`` have no shape of their own: "neutral",
  no target.
- A symbol not in the table is looked up again with its modifier marks stripped
  from the end (``# : - ~ / ; ^ . [ "`` and digits, e.g. ``E~`` -> ``E``); a symbol
  still unknown is "neutral" with a logged warning, or a :class:`SpeechError`
  with ``strict=True``. :func:`is_known_phoneme` says whether a symbol is in the table.

Weights (:func:`viseme_weights`): each target gives an envelope over time, 0 at
``onset_s`` before the phoneme, rising (smoothstep) to 0.8 x strength at its start,
a dome peaking at 1.0 x strength at its centre, 0.8 x strength at its end, falling to
0 at ``release_s`` after it. Neighbouring envelopes overlap (anticipation and carry-over).
Per frame, each viseme takes the largest envelope among its targets; the open, wide,
round, lip_teeth and tongue_teeth weights then share the largest of them in proportion
(their sum is that largest value), and are scaled by ``1 - closed``, so full lip
closure shuts the mouth. Bilabials (closed, strength 1) are flat at 1 over their
whole length, release faster (``closure_release_s``, 0.04 s: lips part at the
burst), and the frame nearest each one's centre is set to closed = 1 exactly, so
the lips close at any frame rate, even for a stop shorter than a frame. neutral = 1 - (sum of the six), so every row
sums to 1 and silence longer than ``onset_s + release_s`` (0.15 s) is neutral = 1.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..audio.timing import AudioTiming
from .espeak import Phoneme, SpeechError
from ..mesh.viseme_names import OPENNESS, VISEMES

__all__ = [
    "Coarticulation",
    "OPENNESS",
    "VISEMES",
    "is_known_phoneme",
    "jaw_open",
    "phoneme_targets",
    "phoneme_to_viseme",
    "viseme_weights",
]

log = logging.getLogger(__name__)

_INDEX = {name: i for i, name in enumerate(VISEMES)}
_NEUTRAL, _CLOSED = 0, 1

Target = tuple[str, float]  # (viseme, strength in (0, 1])

# (viseme, strength, symbols): one target per symbol.
_SINGLE: list[tuple[str, float, str]] = [
    # vowels: open
    ("open", 1.0, "a a# a#2 a- a/ a2 aa A A# A: A~ A@"),
    ("open", 0.9, "0 0# 02"),
    ("open", 0.8, "V"),
    ("open", 0.7, "E E# E- E2 E: E~ e@"),
    ("open", 0.45, "@ @# @- @2 @5 3 3:"),
    # vowels: spread
    ("wide", 1.0, "i i: i# i/ i2 I:"),
    ("wide", 0.85, "I I# I2 I2# eI"),
    ("wide", 0.8, "e e: e# e- e/"),
    # vowels: rounded
    ("round", 1.0, "u u:"),
    ("round", 0.9, "o o: o/ oU oU# y y: y-"),
    ("round", 0.85, "U Y Y:"),
    ("round", 0.8, "O O2 O: O~ O@ o@"),
    ("round", 0.75, "W W2 W~"),
    # syllabic consonants and glides (vowel type in espeak-ng)
    ("closed", 1.0, "m-"),
    ("open", 0.4, "@L l-"),
    ("open", 0.35, "N-"),
    ("wide", 0.35, "n-"),
    ("wide", 0.5, "j/"),
    ("round", 0.4, "r-"),
    # consonants: bilabial, labiodental, dental
    ("closed", 1.0, "p p2 pF b m"),
    ("closed", 0.6, "B"),
    ("lip_teeth", 1.0, "f v v#"),
    ("tongue_teeth", 1.0, "T D"),
    ("tongue_teeth", 0.5, "t[ d["),
    # alveolar
    ("wide", 0.35, "t t2 t3 t# d d# n n. n2"),
    ("wide", 0.6, "s s. s; ss z z. z; z# z2 z3 z/2 ts ts2 dz"),
    ("open", 0.4, "l l. l/ l/2 l/3 l2"),
    ("open", 0.35, "l#"),
    ("open", 0.3, "r r. r\" r2 r/ r/2 * ** R R2 R3"),
    # postalveolar
    ("round", 0.6, "S S; S~ Z Z; tS tS; tS~ dZ dZ; dZ~"),
    # palatal
    ("wide", 0.5, "C j j. ;"),
    ("wide", 0.35, "c J J^ n^ l^ L L/"),
    # velar, uvular, glottal
    ("open", 0.35, "k k~ g g~ g# N x X q Q Q\" Q^ Q~"),
    ("open", 0.4, "h"),
    # labial-velar
    ("round", 1.0, "w w/ w2"),
    ("round", 0.9, "w#"),
]

# Diphthongs: first target for the first 60 % of the phoneme, second for the rest.
_DIPHTHONGS: dict[str, tuple[Target, Target]] = {
    "aI": (("open", 1.0), ("wide", 0.8)),
    "aI3": (("open", 1.0), ("wide", 0.8)),
    "aI@": (("open", 1.0), ("wide", 0.8)),
    "aU": (("open", 1.0), ("round", 0.8)),
    "aU@": (("open", 1.0), ("round", 0.8)),
    "EI": (("open", 0.7), ("wide", 0.8)),
    "OI": (("round", 0.8), ("wide", 0.85)),
    "OY": (("round", 0.8), ("wide", 0.85)),
    "oI": (("round", 0.9), ("wide", 0.85)),
    "i@": (("wide", 0.9), ("open", 0.45)),
    "i@3": (("wide", 0.9), ("open", 0.45)),
    "iR": (("wide", 0.9), ("open", 0.45)),
    "IR": (("wide", 0.85), ("round", 0.4)),
    "VR": (("open", 0.8), ("round", 0.4)),
    "U@": (("round", 0.85), ("open", 0.45)),
    "UR": (("round", 0.85), ("open", 0.45)),
    "eU": (("wide", 0.8), ("round", 0.9)),
    "iU": (("wide", 0.9), ("round", 1.0)),
    "uI": (("round", 1.0), ("wide", 0.9)),
}
_DIPHTHONG_SPLIT = 0.6  # fraction of a diphthong spent on its first target

_NO_SHAPE = frozenset({"||", "?"})  # no mouth shape of their own (besides pauses "_...")
_MODIFIERS = "#:-~/;^.[\"0123456789"


def _build_table() -> dict[str, tuple[Target, ...]]:
    table: dict[str, tuple[Target, ...]] = {}
    for viseme, strength, symbols in _SINGLE:
        for sym in symbols.split():
            if sym in table:
                raise AssertionError(f"viseme table lists {sym!r} twice")
            table[sym] = ((viseme, strength),)
    for sym, pair in _DIPHTHONGS.items():
        if sym in table:
            raise AssertionError(f"viseme table lists {sym!r} twice")
        table[sym] = pair
    return table


_TABLE = _build_table()
_warned: set[str] = set()


def _is_pause(symbol: str) -> bool:
    # "_", "_:", "_!" ... are pauses; "(en)" and the like mark a language switch.
    return symbol.startswith(("_", "(")) or symbol in _NO_SHAPE


def is_known_phoneme(symbol: str) -> bool:
    """True when ``symbol`` is a pause or is in the table itself (no fallback)."""
    return isinstance(symbol, str) and (_is_pause(symbol) or symbol in _TABLE)


def phoneme_targets(symbol: str, *, strict: bool = False) -> tuple[Target, ...]:
    """Mouth targets of one espeak-ng phoneme: ``((viseme, strength), ...)``.

    Args:
        symbol: espeak-ng mnemonic, e.g. ``"m"``, ``"aI"``, ``"_:"``.
        strict: raise for a symbol the table does not know (after stripping
            modifier marks) instead of treating it as neutral.

    Returns:
        ``()`` for pauses and shapeless phonemes; one ``(viseme, strength)`` pair,
        strength in (0, 1]; or two for a diphthong (first part, second part).

    Raises:
        SpeechError: ``symbol`` is not a string, or is unknown and ``strict``.
    """
    if not isinstance(symbol, str):
        raise SpeechError(f"phoneme symbol {symbol!r} must be a string such as 'm' or 'aI'.")
    if _is_pause(symbol):
        return ()
    found = _TABLE.get(symbol)
    base = symbol
    while found is None and len(base) > 1 and base[-1] in _MODIFIERS:
        base = base[:-1]
        found = _TABLE.get(base)
    if found is not None:
        return found
    if strict:
        raise SpeechError(
            f"Unknown espeak-ng phoneme {symbol!r}: it has no viseme. Add it to the "
            "table in core/speech/visemes.py, or call with strict=False to treat it as neutral."
        )
    if symbol not in _warned:
        _warned.add(symbol)
        log.warning("espeak-ng phoneme %r is not in the viseme table; using neutral", symbol)
    return ()


def phoneme_to_viseme(symbol: str, *, strict: bool = False) -> str:
    """The main viseme of one espeak-ng phoneme (a diphthong's first part).

    Returns one of :data:`VISEMES`; ``"neutral"`` for pauses (``_``, ``_:``, ...),
    the glottal stop ``?`` and (unless ``strict``) unknown symbols.
    """
    targets = phoneme_targets(symbol, strict=strict)
    return targets[0][0] if targets else "neutral"


@dataclass(frozen=True)
class Coarticulation:
    """How phoneme envelopes overlap in time."""

    onset_s: float = 0.06  # seconds a viseme starts forming before its phoneme, > 0
    release_s: float = 0.09  # seconds it takes to fade after its phoneme ends, > 0
    closure_release_s: float = 0.04  # seconds for lips to part after m b p (a fast gesture), > 0
    edge: float = 0.8  # envelope at the phoneme's start and end, x strength, in (0, 1]

    def __post_init__(self) -> None:
        for name in ("onset_s", "release_s", "closure_release_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 < v <= 1:
                raise SpeechError(f"Coarticulation.{name}={v!r} must be a number of seconds in (0, 1].")
        if not isinstance(self.edge, (int, float)) or not 0 < self.edge <= 1:
            raise SpeechError(f"Coarticulation.edge={self.edge!r} must be in (0, 1].")


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _envelope(
    t: np.ndarray, start: float, end: float, closure: bool, co: Coarticulation
) -> np.ndarray:
    """Envelope in [0, 1] of one target over [start, end] (end > start) at times t (F,);
    a full lip closure is flat at 1 over the phoneme and releases in ``closure_release_s``."""
    centre, half = 0.5 * (start + end), 0.5 * (end - start)
    edge = 1.0 if closure else co.edge
    release = co.closure_release_s if closure else co.release_s
    inside = 1.0 - (1.0 - edge) * ((t - centre) / half) ** 2
    before = edge * _smoothstep((t - (start - co.onset_s)) / co.onset_s)
    after = edge * _smoothstep(((end + release) - t) / release)
    return np.where(t < start, before, np.where(t > end, after, inside))


def _check_phonemes(phonemes: Sequence[Phoneme]) -> list[tuple[float, float, str]]:
    out = []
    for k, p in enumerate(phonemes):
        try:
            s, e, sym = float(p.start_s), float(p.end_s), p.symbol
        except (AttributeError, TypeError, ValueError) as exc:
            raise SpeechError(
                f"phonemes[{k}]={p!r} must be a Phoneme with start_s, end_s (seconds) and symbol."
            ) from exc
        if not (math.isfinite(s) and math.isfinite(e)) or e < s:
            raise SpeechError(
                f"phonemes[{k}] ({sym!r}) has start_s={s}, end_s={e}: "
                "need finite times with end_s >= start_s."
            )
        out.append((s, e, sym))
    return out


def viseme_weights(
    phonemes: Sequence[Phoneme],
    timing: AudioTiming,
    n_frames: int,
    coarticulation: Coarticulation = Coarticulation(),
) -> np.ndarray:
    """Viseme weights of every video frame, with coarticulation (see the module docstring).

    Args:
        phonemes: timed phonemes (e.g. ``Utterance.phonemes``), seconds from video frame 0;
            any order; zero-length ones are ignored.
        timing: the shot's timing; frame ``i`` is sampled at ``timing.video_frame_time(i)``.
        n_frames: number of video frames, >= 0.
        coarticulation: onset and release times.

    Returns:
        float32 (n_frames, 7) in [0, 1], columns in :data:`VISEMES` order; each row sums to 1.
    """
    if not isinstance(timing, AudioTiming):
        raise SpeechError(f"timing={timing!r} must be an AudioTiming built from the scene's fps.")
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 0:
        raise SpeechError(f"n_frames={n_frames!r} must be an integer >= 0.")
    items = _check_phonemes(phonemes)
    n = int(n_frames)
    t = np.array([timing.video_frame_time(i) for i in range(n)], dtype=np.float64)  # (F,)
    raw = np.zeros((n, len(VISEMES)), dtype=np.float64)  # (F, 7); neutral column unused
    period = timing.video_frame_time(1)  # seconds per video frame
    centre_frames: list[int] = []  # frames forced to closed = 1
    co = coarticulation

    for start, end, symbol in items:
        if end <= start:
            continue
        targets = phoneme_targets(symbol)
        if len(targets) == 2:
            split = start + _DIPHTHONG_SPLIT * (end - start)
            parts = [(start, split, targets[0]), (split, end, targets[1])]
        else:
            parts = [(start, end, tgt) for tgt in targets]
        for s, e, (viseme, strength) in parts:
            reach = (s - co.onset_s, e + max(co.release_s, co.closure_release_s))
            lo, hi = np.searchsorted(t, reach, side="left")  # frames the envelope touches
            hi = min(hi + 1, n)
            full_closure = viseme == "closed" and strength >= 1.0
            if lo < hi:
                env = strength * _envelope(t[lo:hi], s, e, full_closure, co)  # (hi - lo,)
                col = raw[lo:hi, _INDEX[viseme]]
                np.maximum(col, env, out=col)
            if full_closure:
                k = _nearest_frame(t, 0.5 * (s + e), period)
                if k is not None:
                    centre_frames.append(k)

    if centre_frames:
        raw[centre_frames, _CLOSED] = 1.0
    closed = raw[:, _CLOSED]  # (F,)
    others = raw[:, _CLOSED + 1 :]  # (F, 5)
    top = others.max(axis=1, initial=0.0)  # (F,)
    total = others.sum(axis=1)  # (F,)
    share = np.divide(top, total, out=np.zeros_like(top), where=total > 0)  # (F,)
    shaped = others * share[:, None] * (1.0 - closed)[:, None]  # (F, 5); row sum <= 1 - closed
    out = np.empty_like(raw)
    out[:, _CLOSED] = closed
    out[:, _CLOSED + 1 :] = shaped
    out[:, _NEUTRAL] = 1.0 - closed - shaped.sum(axis=1)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _nearest_frame(t: np.ndarray, time_s: float, period_s: float) -> int | None:
    """Index of the frame time in ``t`` (F,) nearest ``time_s`` (the earlier on a tie);
    None when ``time_s`` is more than half a frame period outside the frames."""
    n = t.shape[0]
    if n == 0 or time_s < t[0] - 0.5 * period_s or time_s > t[-1] + 0.5 * period_s:
        return None
    k = int(np.searchsorted(t, time_s))
    if k >= n:
        return n - 1
    if k > 0 and time_s - t[k - 1] <= t[k] - time_s:
        return k - 1
    return k


def jaw_open(weights: np.ndarray) -> np.ndarray:
    """Mouth opening per frame from viseme weights: ``weights @ OPENNESS``.

    Args:
        weights: float (n_frames, 7) in [0, 1], columns in :data:`VISEMES` order
            (from :func:`viseme_weights`).

    Returns:
        float32 (n_frames,) in [0, 1]: 0 lips shut or at rest, 1 jaw fully open
        (openness: open 1.0, wide 0.4, round 0.35, tongue_teeth 0.25, lip_teeth 0.15,
        closed and neutral 0).
    """
    w = np.asarray(weights)
    if w.ndim != 2 or w.shape[1] != len(VISEMES):
        raise SpeechError(f"weights must have shape (n_frames, {len(VISEMES)}), got {w.shape}.")
    if not np.issubdtype(w.dtype, np.number) or not np.all(np.isfinite(w)):
        raise SpeechError("weights must be finite numbers in [0, 1].")
    openness = np.array([OPENNESS[v] for v in VISEMES], dtype=np.float64)  # (7,)
    return np.clip(w.astype(np.float64) @ openness, 0.0, 1.0).astype(np.float32)
