"""The realistic character family (no bpy): the other families' specs and plans as before it
existed, realistic specs seeded, varied and human, full beards only for held-out
characters, lips near the skin's colour, and its geometry and skin maps."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from lipsync.addon.factory.character_spec import (FACIAL_HAIR, REALISTIC_FIELDS, CharacterSpec)
from lipsync.addon.factory.family_geometry import face_for
from lipsync.addon.factory.family_specs import HELD_OUT_VARIANTS
from lipsync.addon.factory.head_geometry import R_GUM_LO, R_GUM_UP, Pose, mouth_grids
from lipsync.addon.factory.realistic_geometry import RealisticFace
from lipsync.addon.factory.realistic_skin import skin_maps
from lipsync.core.dataset.plan import held_out_character, plan_clips


def _digest(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# sha256 (first 16 hex digits) of json.dumps of the to_dict lists of seeds 0-299, 990, 123456
# and 999990, and of plan_clips(200, seed, families) for seeds 0, 5, 11, computed with main
# at 3d26501 (before the realistic family existed).
_SEEDS = list(range(300)) + [990, 123456, 999990]
BEFORE = {"cartoon": "a0005cb2508095cf", "anime": "785a1601fff56e97",
          "creature": "770d474634b9c12c"}
PLANS_BEFORE = {("cartoon",): "da28db14cf153b21", ("anime",): "2495b039a4772d61",
                ("cartoon", "anime", "creature"): "fc83ce8c72e1613e",
                ("anime", "creature"): "156ef105681d5fcd"}


@pytest.mark.parametrize("family", sorted(BEFORE))
def test_other_families_specs_are_those_of_before(family):
    specs = [CharacterSpec.random(s, family) for s in _SEEDS]
    assert _digest([s.to_dict() for s in specs]) == BEFORE[family]
    assert not any(set(REALISTIC_FIELDS) & set(s.to_dict()) for s in specs[:20])


@pytest.mark.parametrize("families", sorted(PLANS_BEFORE))
def test_other_families_plans_are_those_of_before(families):
    plans = [[p.to_dict() for p in plan_clips(200, s, families=families)] for s in (0, 5, 11)]
    assert _digest(plans) == PLANS_BEFORE[families]


def test_realistic_specs_are_seeded_varied_human_and_round_trip():
    specs = [CharacterSpec.random(s, "realistic") for s in range(1, 400)]
    assert specs[0] == CharacterSpec.random(1, "realistic")
    assert len({_digest(s.to_dict()) for s in specs}) == len(specs)
    for spec in specs[:30]:
        assert CharacterSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
        assert spec.family == "realistic" and spec.toon_bands == 0 and spec.horn_size == 0
    assert {s.skin_tone for s in specs} == {f"monk_{k:02d}" for k in range(1, 11)}
    assert {s.facial_hair for s in specs} == set(FACIAL_HAIR)
    cartoon = [CharacterSpec.random(s) for s in range(1, 400)]
    assert np.mean([s.eye_size for s in specs]) < 0.85 * np.mean([s.eye_size for s in cartoon])
    assert all(s.flatness == 0 and s.skin_detail > 0 for s in specs)
    for name, lo, hi in (("lipstick", 0.08, 0.25), ("glasses", 0.08, 0.25),
                         ("freckles", 0.05, 0.3), ("age", 0.99, 1.0)):
        share = np.mean([bool(getattr(s, name)) for s in specs])
        assert lo <= share <= hi, (name, share)
    assert np.ptp([s.age for s in specs]) > 0.9


def test_lips_are_near_the_skin_unless_made_up():
    """Natural lips: darker and redder than the skin, within a small factor of it;
    lipstick only on characters without facial hair."""
    for spec in (CharacterSpec.random(s, "realistic") for s in range(300)):
        skin, lip = np.array(spec.skin_colour), np.array(spec.lip_colour)
        if spec.lipstick:
            assert spec.facial_hair == "none" and spec.lip_redness == 1.0
            continue
        ratio = lip / skin
        assert np.all((ratio > 0.35) & (ratio < 0.95)), (spec.seed, ratio)
        assert ratio[0] > ratio[1] and ratio[0] > ratio[2], (spec.seed, ratio)


def test_full_beards_only_for_held_out_characters():
    plans = plan_clips(1500, 4, families=("realistic", "anime"))
    held = {"val": 0, "test": 0}
    for p in plans:
        spec = CharacterSpec.random(p.character_seed, p.family)
        held_out_beards = HELD_OUT_VARIANTS["realistic"]["facial_hair"]
        if p.family == "realistic" and spec.facial_hair in held_out_beards:
            assert spec.held_out_variant and held_out_character(p.character_seed)
            assert p.split != "train", p.clip_id
            held[p.split] += 1
    assert held["test"] >= 5 and held["val"] >= 1, held
    train = {CharacterSpec.random(s, "realistic").facial_hair for s in range(1, 600)
             if not held_out_character(s)}
    assert train == set(FACIAL_HAIR) - {"full_beard"}


def _realistic(pred) -> CharacterSpec:
    return next(s for s in (CharacterSpec.random(k, "realistic") for k in range(400)) if pred(s))


def test_gums_hide_at_rest_and_show_when_a_lip_lifts_past_the_teeth():
    face = face_for(_realistic(lambda s: True))
    assert isinstance(face, RealisticFace)
    u, v = np.meshgrid(np.linspace(-0.8, 0.8, 9), np.linspace(0, 1, 3), indexing="ij")
    rest = face.gum_points(u, v, True, Pose())
    ul = np.clip(face.s.teeth_width * u[:, 0], -1, 1)
    _, _, lip = face.lip_centre(ul, True, Pose())
    cover = lip + 0.7 * face.lip_radius(ul, True, Pose())
    assert np.all(rest[..., 2] <= cover[:, None]), "behind the upper lip at rest"
    lifted = face.gum_points(u, v, True, face.poses["round"])
    assert np.ptp(lifted[4, :, 2]) > 0.01, "the lifted lip shows the upper gums"
    interior = face.behind_y(lifted[..., 0], lifted[..., 2])
    assert np.all(lifted[..., 1] < interior), "gums in front of the interior"
    roles = {g.role for g in mouth_grids(face, Pose())}
    assert {R_GUM_UP, R_GUM_LO} <= roles
    assert not {R_GUM_UP, R_GUM_LO} & {g.role for g in mouth_grids(face_for(
        CharacterSpec.random(3)), Pose())}


def test_the_mouth_layers_stay_in_front_of_the_relief_skin():
    """The interior and the gums lie in front of the skin (with its folds) in every viseme.
    (The teeth's sides may lie behind the static skin, as in every family: the lips hide
    them.)"""
    face = face_for(_realistic(lambda s: s.age > 0.8))
    u, v = np.meshgrid(np.linspace(-1, 1, 13), np.linspace(0, 1, 5), indexing="ij")
    for name, pose in face.poses.items():
        for points in (face.interior_points(u, v, pose), face.gum_points(u, v, True, pose),
                       face.gum_points(u, v, False, pose)):
            skin = face.face_y(points[..., 0], points[..., 2])
            assert np.all(points[..., 1] < skin), name
    young = face_for(_realistic(lambda s: s.age < 0.1))

    def fold(f) -> float:   # relief just inside the fold's lower end
        return float(f.relief(np.array([f.fold[1][0] - 0.02]), np.array([f.fold[1][1] + 0.03]))[0])

    assert fold(face) > fold(young) > 0, "older characters have deeper folds"
    assert len(face.glasses_paths()) == (5 if face.s.glasses else 0)


@pytest.mark.parametrize("style", FACIAL_HAIR)
def test_facial_hair_maps_cover_their_regions(style):
    spec = _realistic(lambda s: s.facial_hair == style)
    face = face_for(spec)
    mid = face.mz + 1.9 * spec.lip_upper + 0.03          # between the upper lip and the nose
    chin = face.mz - 2.0 * spec.lip_lower - 0.08
    jaw_x = 0.75 * face.rx
    points = np.array([[0.0, float(face.face_y(0.0, z)), z] for z in (mid, chin, 0.4)]
                      + [[jaw_x, float(face.face_y(jaw_x, face.mz - 0.1)), face.mz - 0.1]])
    hair = skin_maps(face, points)["hair"]                 # moustache, chin, forehead, jaw
    expected = {"none": (0, 0, 0, 0), "stubble": (1, 1, 0, 1), "moustache": (1, 0, 0, 0),
                "goatee": (1, 1, 0, 0), "full_beard": (1, 1, 0, 1)}[style]
    assert list((hair > 0.5).astype(int)) == list(expected), hair
