"""Character families (no bpy): cartoon specs and plans as before families existed, the
other families' ranges, and held-out variants that never reach training."""

from __future__ import annotations

import hashlib
import json

from dataclasses import replace

import numpy as np
import pytest

from lipsync.addon.factory.character_spec import CharacterSpec
from lipsync.addon.factory.family_geometry import AnimeFace, face_for, horns
from lipsync.addon.factory.family_specs import (HELD_OUT_VARIANTS, MORE_MOUTH_STYLES,
                                                MOUTH_STYLES, check_mouth_styles,
                                                with_mouth_styles)
from lipsync.addon.factory.head_geometry import Pose
from lipsync.core.dataset.plan import plan_clips
from lipsync.core.errors import InputError


def _digest(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# sha256 (first 16 hex digits) of json.dumps(spec.to_dict(), sort_keys=True) and of the
# plans' to_dict lists, computed with main at 25ea776 (before families existed).
CARTOON_SPECS = {0: "71464c56ef691073", 1: "db1bb5f661505f26", 7: "abd892363a719060",
                 42: "645d6eb4562cabb9", 990: "f7b88af9e3c5192f", 123456: "4a4dbea1988990b5"}
CARTOON_PLANS = {0: "3b7eb57101cd962c", 11: "4eb1961ff6e52734", 101: "b9f10c1b96aa223e"}


@pytest.mark.parametrize("seed", sorted(CARTOON_SPECS))
def test_cartoon_specs_are_those_of_before_families(seed):
    spec = CharacterSpec.random(seed)
    assert _digest(spec.to_dict()) == CARTOON_SPECS[seed]
    assert CharacterSpec.random(seed, "cartoon") == spec and spec.family == "cartoon"
    assert CharacterSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("seed", sorted(CARTOON_PLANS))
def test_cartoon_plans_are_those_of_before_families(seed):
    plans = plan_clips(40, seed)
    assert _digest([p.to_dict() for p in plans]) == CARTOON_PLANS[seed]
    assert plans == plan_clips(40, seed, families=("cartoon",))
    assert all("family" not in p.to_dict() and p.family == "cartoon" for p in plans)


def test_a_plan_of_families_changes_only_the_family():
    plain = plan_clips(300, 5)
    mixed = plan_clips(300, 5, families=("cartoon", "anime", "creature"))
    without_family = [{k: v for k, v in p.to_dict().items() if k != "family"} for p in mixed]
    assert [p.to_dict() for p in plain] == without_family
    counts = {f: sum(p.family == f for p in mixed) for f in ("cartoon", "anime", "creature")}
    assert all(70 < n < 130 for n in counts.values()), counts
    assert mixed == plan_clips(300, 5, families=("cartoon", "anime", "creature"))
    assert {p.family for p in plan_clips(20, 5, families=("anime",))} == {"anime"}


@pytest.mark.parametrize("families", [(), ("elf",), ("anime", "anime")])
def test_bad_families_are_refused(families):
    with pytest.raises(InputError, match="--families"):
        plan_clips(3, 0, families=families)


def test_held_out_variants_never_reach_training():
    plans = plan_clips(1500, 2, families=("anime", "creature"))
    held = {p.split: 0 for p in plans}
    for p in plans:
        spec = CharacterSpec.random(p.character_seed, p.family)
        assert spec.family == p.family
        if spec.held_out_variant:
            assert p.split != "train", (p.clip_id, spec.mouth_style, spec.skin_tone)
            held[p.split] += 1
    assert held["test"] >= 10 and held["val"] >= 1, held


@pytest.mark.parametrize("family", ["anime", "creature"])
def test_family_specs_are_seeded_varied_and_round_trip(family):
    specs = [CharacterSpec.random(s, family) for s in range(1, 200)]
    assert specs[0] == CharacterSpec.random(1, family)
    assert len({_digest(s.to_dict()) for s in specs}) == len(specs)
    for spec in specs[:20]:
        assert CharacterSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    train = {v for s in specs if not s.held_out_variant
             for v in (s.mouth_style, s.skin_tone)}
    assert not train & set(sum(HELD_OUT_VARIANTS[family].values(), ()))
    if family == "anime":
        assert {s.mouth_style for s in specs} == set(MOUTH_STYLES)
        assert all(s.lip_colour == s.skin_colour and s.toon_bands in (2, 3) and s.outline > 0
                   for s in specs)
        cartoon = [CharacterSpec.random(s) for s in range(1, 200)]
        assert np.mean([s.eye_size for s in specs]) > 1.5 * np.mean([s.eye_size for s in cartoon])
    else:
        tones = {s.skin_tone for s in specs}
        assert {"green", "blue", "red", "grey"} <= tones
        assert all(s.mouth_width >= 0.36 and s.teeth_height >= 0.05 for s in specs)
        assert 0.2 < np.mean([s.horn_size > 0 for s in specs]) < 0.6
    with pytest.raises(InputError, match="family"):
        CharacterSpec.random(1, "elf")


def test_an_anime_mouth_is_a_line_at_rest_and_shows_teeth_and_tongue_open():
    """At rest the teeth and tongue have no height (hidden behind the lips); open, the
    upper teeth hang from the upper lip and the tongue rises from the lower lip, both in
    front of the interior."""
    spec = next(s for s in map(lambda k: CharacterSpec.random(k, "anime"), range(50))
                if s.mouth_style == "line")
    face = face_for(spec)
    assert isinstance(face, AnimeFace) and not horns(face)
    u, v = np.meshgrid(np.linspace(-1, 1, 9), np.linspace(0, 1, 3), indexing="ij")
    rest, open_ = Pose(), face.poses["open"]
    for pose, tall in ((rest, False), (open_, True)):
        teeth = face.teeth_points(u, v, True, pose)
        height = np.ptp(teeth[4, :, 2])
        assert (height > spec.teeth_height * 0.8) == tall, height
        lower = face.teeth_points(u, v, False, pose)
        assert np.ptp(lower[..., 2], axis=1).max() < 1e-9
    creature = CharacterSpec.random(next(k for k in range(50)
                                         if CharacterSpec.random(k, "creature").horn_size), "creature")
    assert len(horns(face_for(creature))) == 2


def test_more_mouth_styles_only_where_asked_and_never_for_held_out_characters():
    plans = plan_clips(600, 4, families=("anime", "creature"))
    specs = [CharacterSpec.random(p.character_seed, p.family) for p in plans]
    assert not {s.mouth_style for s in specs} & set(MORE_MOUTH_STYLES)
    drawn = [with_mouth_styles(s, MORE_MOUTH_STYLES) for s in specs]
    assert drawn == [with_mouth_styles(s, MORE_MOUTH_STYLES) for s in specs]   # seeded
    for before, after in zip(specs, drawn):
        changed = {k for k, v in after.to_dict().items() if before.to_dict()[k] != v}
        assert changed <= {"mouth_style"}
        if before.family != "anime" or before.held_out_variant:
            assert after == before
        else:
            assert after.mouth_style in MORE_MOUTH_STYLES
    anime = {s.mouth_style for s, p in zip(drawn, plans) if p.family == "anime"}
    assert set(MORE_MOUTH_STYLES) <= anime and "cat" in anime
    assert with_mouth_styles(specs[0], ()) == specs[0]


@pytest.mark.parametrize("styles", [("cat",), ("wide", "wide"), ("grin",)])
def test_bad_mouth_styles_are_refused(styles):
    with pytest.raises(InputError, match="--mouth-styles"):
        check_mouth_styles(styles)


def test_the_more_mouth_styles_have_their_shapes():
    """At rest: "wide" is wider than "line", "frown" its corners lower under its middle,
    "tilt" one corner above the other, "open" a gap wider than the others'."""
    base = next(s for s in map(lambda k: CharacterSpec.random(k, "anime"), range(1, 50))
                if s.mouth_style == "line")
    faces = {m: face_for(with_mouth_styles(replace(base, mouth_style="line"), (m,)))
             for m in ("line",) + MORE_MOUTH_STYLES}
    u = np.array([-1.0, 0.0, 1.0])
    lines = {m: [np.stack(f.lip_centre(u, upper, Pose())) for upper in (True, False)]
             for m, f in faces.items()}
    width = {m: np.ptp(up[0]) for m, (up, _) in lines.items()}
    gap = {m: (up[2] - lo[2])[1] for m, (up, lo) in lines.items()}
    assert width["wide"] > 1.3 * width["line"]
    drop = {m: up[2][1] - 0.5 * (up[2][0] + up[2][2]) for m, (up, _) in lines.items()}
    assert drop["frown"] > drop["line"] + 0.025
    tilt_up = lines["tilt"][0][2]
    assert abs(tilt_up[2] - tilt_up[0]) > 0.04
    assert gap["open"] > 1.5 * max(g for m, g in gap.items() if m != "open")
