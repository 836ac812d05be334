"""The plan of a synthetic data set: which character, voice, sentence and shot each clip gets.

A plan is a pure function of (number of clips, seed): the same arguments give the same clips,
so an interrupted run can resume and a data set can be rebuilt from its recipe. Splits hold
characters and voices apart: a "test" clip has a character seed AND a voice never used in
"train"; a "val" clip has exactly one of the two held out.

Character families (`FAMILIES`): a plan of the default family, "cartoon", is the plan as it
always was; a plan of several families draws each clip's family from a stream of its own, so
every other field of a clip is the same whatever the families. The factory draws a
family's held-out variants (a skin colour, a mouth style, a full beard) only for held-out character seeds,
so they appear in val and test alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError
from ..speech.sentences import HELD_OUT_VOICES, SENTENCES, TRAIN_VOICES

LANGUAGE_WEIGHTS = {"en": 0.6, "de": 0.1, "fr": 0.1, "es": 0.1, "it": 0.1}
FAMILIES = ("cartoon", "anime", "creature", "realistic")
DEFAULT_FAMILIES = ("cartoon",)
CHARACTER_POOL = 1_000_000        # character seeds are drawn from [0, CHARACTER_POOL)
HELD_OUT_CHARACTER_EVERY = 10     # seeds divisible by this are never trained on
# a character field's values the factory draws only for held-out characters, per family
HELD_OUT_VARIANTS: dict[str, dict[str, tuple]] = {
    "anime": {"mouth_style": ("cat",)},
    "creature": {"skin_tone": ("purple", "yellow")},
    "realistic": {"facial_hair": ("full_beard",)},
}


@dataclass(frozen=True)
class ClipPlan:
    """One clip of the data set (see the module docstring for `split`)."""

    clip_id: str
    split: str                 # "train", "val" or "test"
    character_seed: int
    shot_seed: int
    language: str
    voice: str                 # espeak-ng voice name, with optional +variant
    rate_wpm: int              # speaking rate, words per minute
    pitch: int                 # espeak-ng pitch, 0-99
    sentence: str
    dub_sentence: str | None   # a second sentence on the same shot (the dubbing case), or None
    family: str = "cartoon"    # character family, one of FAMILIES

    def to_dict(self) -> dict:
        """Plain JSON types; "family" only when it is not "cartoon" (so a cartoon clip's
        record reads as it did before families existed)."""
        data = asdict(self)
        if data["family"] == "cartoon":
            del data["family"]
        return data


def held_out_character(seed: int) -> bool:
    """Whether character `seed` belongs to the held-out characters."""
    return seed % HELD_OUT_CHARACTER_EVERY == 0


def held_out_look(family: str, fields: Mapping[str, object]) -> bool:
    """Whether a character of `family` whose spec reads `fields` (name -> value, as a
    clip.json's "character") wears a variant training never shows (`HELD_OUT_VARIANTS`)."""
    return any(fields.get(name) in values
               for name, values in HELD_OUT_VARIANTS.get(family, {}).items())


def _character_seed(rng: np.random.Generator, held_out: bool) -> int:
    base = int(rng.integers(0, CHARACTER_POOL // HELD_OUT_CHARACTER_EVERY))
    if held_out:
        return base * HELD_OUT_CHARACTER_EVERY
    return base * HELD_OUT_CHARACTER_EVERY + int(rng.integers(1, HELD_OUT_CHARACTER_EVERY))


def check_families(families: tuple[str, ...]) -> tuple[str, ...]:
    """`families` as a tuple, or InputError naming the bad ones (empty, unknown, repeated)."""
    families = tuple(families)
    unknown = [f for f in families if f not in FAMILIES]
    if not families or unknown or len(set(families)) != len(families):
        raise InputError(f"--families must name some of {', '.join(FAMILIES)} (each once), got "
                         f"{', '.join(families) or 'none'}")
    return families


def _family(seed: int, index: int, families: tuple[str, ...]) -> str:
    """Clip `index`'s family, from a stream apart from the clip's other draws."""
    if len(families) == 1:
        return families[0]
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, 0xFA3]))
    return families[int(rng.integers(len(families)))]


def plan_clips(n_clips: int, seed: int, test_share: float = 0.1, val_share: float = 0.05,
               dub_share: float = 0.3,
               families: tuple[str, ...] = DEFAULT_FAMILIES) -> list[ClipPlan]:
    """The first `n_clips` clips of data set `seed` (a prefix of a larger plan is the same).

    test_share / val_share: fraction of clips in each held-out split; dub_share: fraction of
    clips that also speak a second sentence on the same shot; families: the character
    families drawn from, uniformly per clip (one family: every clip has it).
    """
    if n_clips < 1:
        raise InputError(f"--clips must be at least 1, got {n_clips}")
    families = check_families(families)
    if not (0 <= test_share < 1 and 0 <= val_share < 1 and test_share + val_share < 1):
        raise InputError(f"test_share {test_share} and val_share {val_share} must be in [0, 1) "
                         "and leave room for training clips")
    languages = list(LANGUAGE_WEIGHTS)
    weights = np.array([LANGUAGE_WEIGHTS[k] for k in languages])
    plans = []
    for i in range(n_clips):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        draw = rng.random()
        split = "test" if draw < test_share else "val" if draw < test_share + val_share else "train"
        language = str(rng.choice(languages, p=weights / weights.sum()))
        if split == "val":
            held_character = bool(rng.random() < 0.5)
            held_voice = not held_character
        else:
            held_character = held_voice = split == "test"
        voices = (HELD_OUT_VOICES if held_voice else TRAIN_VOICES)[language]
        sentences = SENTENCES[language]
        first, second = rng.choice(len(sentences), size=2, replace=False)
        plans.append(ClipPlan(
            clip_id=f"clip_{i:05d}", split=split,
            character_seed=_character_seed(rng, held_character),
            shot_seed=int(rng.integers(0, 2**31 - 1)),
            language=language, voice=str(rng.choice(voices)),
            rate_wpm=int(rng.integers(140, 210)), pitch=int(rng.integers(30, 70)),
            sentence=sentences[first],
            dub_sentence=sentences[second] if rng.random() < dub_share else None,
            family=_family(seed, i, families),
        ))
    return plans
