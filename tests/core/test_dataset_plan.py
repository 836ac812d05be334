"""The data set plan: reproducible, prefix-stable, and splits that hold characters and voices apart."""

import pytest

from lipsync.core.dataset.plan import (HELD_OUT_VOICES, TRAIN_VOICES, held_out_character,
                                       plan_clips)
from lipsync.core.speech.sentences import SENTENCES
from lipsync.core.errors import InputError


def test_same_seed_same_plan_and_prefix_stable():
    assert plan_clips(50, seed=7) == plan_clips(50, seed=7)
    assert plan_clips(20, seed=7) == plan_clips(50, seed=7)[:20]
    assert plan_clips(20, seed=8) != plan_clips(20, seed=7)


def test_splits_hold_characters_and_voices_apart():
    plans = plan_clips(2000, seed=1)
    train = [p for p in plans if p.split == "train"]
    test = [p for p in plans if p.split == "test"]
    val = [p for p in plans if p.split == "val"]
    assert 150 < len(test) < 250 and 50 < len(val) < 150
    train_chars = {p.character_seed for p in train}
    train_voices = {p.voice for p in train}
    assert not train_chars & {p.character_seed for p in test}
    assert not train_voices & {p.voice for p in test}
    assert all(held_out_character(p.character_seed) != (p.voice in sum(HELD_OUT_VOICES.values(), ()))
               for p in val)
    assert all(p.voice in TRAIN_VOICES[p.language] for p in train)


def test_clips_vary_in_language_rate_pitch_and_dubbing():
    plans = plan_clips(500, seed=3)
    assert {p.language for p in plans} == set(SENTENCES)
    assert len({p.rate_wpm for p in plans}) > 30 and len({p.pitch for p in plans}) > 20
    dubbed = [p for p in plans if p.dub_sentence]
    assert 0.2 < len(dubbed) / len(plans) < 0.4
    assert all(p.dub_sentence != p.sentence for p in dubbed)
    assert all(p.sentence in SENTENCES[p.language] for p in plans)
    assert len({p.clip_id for p in plans}) == 500


@pytest.mark.parametrize("n", [0, -3])
def test_bad_clip_count(n):
    with pytest.raises(InputError, match="--clips"):
        plan_clips(n, seed=0)
