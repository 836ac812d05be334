"""Factory character specs (no bpy): seeded, varied, plain JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lipsync.addon.factory.character_spec import CharacterSpec, part_colours
from lipsync.core.errors import InputError


def test_spec_is_deterministic_and_round_trips():
    a, b = CharacterSpec.random(42), CharacterSpec.random(42)
    assert a == b and a.to_dict() == b.to_dict()
    assert CharacterSpec.random(43).to_dict() != a.to_dict()
    text = json.dumps(a.to_dict())
    assert CharacterSpec.from_dict(json.loads(text)) == a
    with pytest.raises(InputError, match="missing keys"):
        CharacterSpec.from_dict({k: v for k, v in a.to_dict().items() if k != "mouth_width"})
    with pytest.raises(InputError, match="seed"):
        CharacterSpec.random(-1)


def test_spec_spread_over_200_seeds():
    specs = [CharacterSpec.random(s) for s in range(200)]
    assert len({json.dumps(s.to_dict(), sort_keys=True) for s in specs}) == 200
    stylised = [s for s in specs if s.stylised]
    assert 0.08 <= len(stylised) / 200 <= 0.25
    assert {s.skin_tone for s in stylised} == {"green", "blue", "grey"}
    assert len({s.skin_tone for s in specs if not s.stylised}) == 10
    # Lips from nearly skin-coloured to strong red.
    diff = np.array([np.abs(np.subtract(s.lip_colour, s.skin_colour)).max() for s in specs])
    red = np.array([s.lip_redness for s in specs])
    assert red.min() < 0.05 and red.max() > 0.95
    assert np.quantile(diff, 0.1) < 0.12 and np.quantile(diff, 0.9) > 0.4
    assert {s.hair_style for s in specs} == {"none", "short", "bangs", "long"}
    assert {"brown", "blonde", "black"} <= {s.hair_colour_name for s in specs}
    flat = np.array([s.flatness for s in specs])
    assert (flat == 0).any() and (flat == 1).any() and ((flat > 0.2) & (flat < 0.8)).any()
    for name in ("head_width", "mouth_width", "lip_upper", "lip_lower", "eye_size", "teeth_height"):
        v = np.array([getattr(s, name) for s in specs])
        assert v.std() > 0.1 * v.mean() / 3, name


def test_seed_0_reference_values():
    """Values as drawn by the spec code before it left character.py (branch rooms)."""
    s = CharacterSpec.random(0)
    assert (s.head_width, s.mouth_width, s.skin_tone, s.hair_style, s.hair_colour_name) == \
        (0.85694, 0.35628, "monk_07", "bangs", "blonde")
    assert s.skin_colour == (0.24792, 0.11944, 0.06123)
    assert s.lip_colour == (0.45608, 0.00816, 0.01564)


def test_bad_input():
    with pytest.raises(InputError, match="seed"):
        CharacterSpec.random(1.5)
    with pytest.raises(InputError, match="seed"):
        CharacterSpec.random(True)
    data = CharacterSpec.random(3).to_dict()
    with pytest.raises(InputError, match="unknown keys"):
        CharacterSpec.from_dict({**data, "wings": 2})
    with pytest.raises(InputError, match="hair_style"):
        CharacterSpec.from_dict({**data, "hair_style": "mohawk"})


def test_part_colours():
    s = CharacterSpec.random(5)
    colours = part_colours(s)
    assert colours["skin"] == colours["nose"] == s.skin_colour
    assert colours["lip_upper"] == colours["lip_lower"] == s.lip_colour
    assert all(len(c) == 3 and all(0.0 <= x <= 1.0 for x in c) for c in colours.values())
