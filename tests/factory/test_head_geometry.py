"""Factory head geometry (no bpy): head and hair shapes, face parts, viseme surfaces."""

from __future__ import annotations

import numpy as np
import pytest

from lipsync.addon.factory.character_spec import CharacterSpec
from lipsync.addon.factory.head_geometry import (R_FIXED, R_INTERIOR, R_LIP_LO, R_LIP_UP, R_SKIN,
                                                 R_TEETH_LO, R_TEETH_UP, R_TONGUE, LIP_M, LIP_N, Face,
                                                 mouth_grids, pose_positions, smoothstep)
from lipsync.core.mesh.viseme_names import VISEMES

SEEDS = range(12)


def _face(seed: int) -> Face:
    return Face(CharacterSpec.random(seed))


def _unit_sphere(n: int = 24) -> np.ndarray:
    """(n * n, 3) points on the unit sphere."""
    a, b = np.meshgrid(np.linspace(0, 2 * np.pi, n, endpoint=False), np.linspace(-1.4, 1.4, n))
    return np.stack([np.cos(b) * np.cos(a), np.cos(b) * np.sin(a), np.sin(b)], -1).reshape(-1, 3)


def _lip_gap(face: Face, pose) -> float:
    """Vertical gap between the lips at the middle of the mouth (< 0: they press together)."""
    u = np.zeros(1)
    _, _, z_up = face.lip_centre(u, True, pose)
    _, _, z_lo = face.lip_centre(u, False, pose)
    return float(((z_up - face.lip_radius(u, True, pose)) - (z_lo + face.lip_radius(u, False, pose)))[0])


def test_smoothstep_reference_values():
    x = np.array([-1.0, 0.0, 0.25, 0.5, 1.0, 2.0])
    np.testing.assert_allclose(smoothstep(0.0, 1.0, x), [0, 0, 0.15625, 0.5, 1, 1])
    np.testing.assert_allclose(smoothstep(1.0, 0.0, x), [1, 1, 0.84375, 0.5, 0, 0])  # reversed edges


@pytest.mark.parametrize("seed", SEEDS)
def test_head_and_hair_shapes(seed):
    face = _face(seed)
    s = face.s
    head = np.array([face.head_vertex(*p) for p in _unit_sphere()])
    mirrored = np.array([face.head_vertex(*(p * (-1, 1, 1))) for p in _unit_sphere()])
    np.testing.assert_allclose(mirrored, head * (-1, 1, 1), atol=1e-12)  # left-right symmetric
    assert face.head_vertex(0.0, 0.0, 1.0) == pytest.approx((0.0, 0.0, s.head_height))  # the crown
    assert np.abs(head[:, 0]).max() <= s.head_width + 1e-9
    zc, yc = -s.chin_drop, -np.sqrt(1.0 - s.chin_drop ** 2)          # the chin point
    chin_y = face.head_vertex(0.0, yc, zc)[1]
    assert chin_y <= yc * s.head_depth
    assert (chin_y < yc * s.head_depth - 0.5 * s.chin_size) == (s.chin_size > 0)
    assert face.face_y(0.0, 0.0) == pytest.approx(-s.head_depth)
    assert face.face_y(0.3, 0.0) == pytest.approx(face.face_y(-0.3, 0.0))

    hair = [face.hair_vertex(*p) for p in _unit_sphere()]
    assert face.hair_vertex(0.0, 0.0, 1.0)[2] > s.head_height       # the crown is covered
    assert face.hair_vertex(0.0, -1.0, -0.3) is None                # no hair over the face
    kept = np.array([h for h in hair if h is not None])
    assert 0 < len(kept) < len(hair)
    assert kept[:, 2].max() > head[:, 2].max()


@pytest.mark.parametrize("seed", SEEDS)
def test_face_parts_sit_on_the_face(seed):
    face = _face(seed)
    s = face.s
    left, right = face.eye("left"), face.eye("right")
    assert left.ball.centre[0] == pytest.approx(s.eye_spacing) == pytest.approx(-right.ball.centre[0])
    assert left.ball.part == "eye_left" and right.pupil.part == "pupil_right" and left.lid.part == "skin"
    x, y, z = left.ball.centre
    assert y - s.eye_size < face.face_y(x, z) < y                     # the eyeball bulges out
    assert left.pupil.centre[1] < left.iris.centre[1] < y             # pupil on the iris, in front
    assert left.ball.centre[2] < left.lid_edge <= left.ball.centre[2] + s.eye_size
    for t in (0.0, 0.5, 1.0):
        bx, by, bz = face.brow_centre(t, "left")
        assert bz > left.ball.centre[2] + s.eye_size                  # brows above the eyes
        assert by < face.face_y(bx, bz) + 0.01
        assert face.brow_centre(t, "right")[0] == pytest.approx(-bx)
    assert face.brow_radius(0.0) == face.brow_radius(0.06) < 0.6 * s.brow_thickness  # thin ends
    assert face.brow_radius(0.5) == pytest.approx(s.brow_thickness)
    nose = face.nose()
    assert [n.part for n in nose] == ["nose"] * 4
    assert face.mz < nose[1].centre[2] < left.ball.centre[2]          # tip between mouth and eyes
    ears = face.ears()
    assert ears[0].centre[0] > s.head_width * 0.5
    assert ears[1].centre[0] == pytest.approx(-ears[0].centre[0])


def test_mouth_grids_shapes_and_order():
    face = _face(0)
    grids = mouth_grids(face, face.poses["neutral"])
    assert [(g.part, g.role) for g in grids] == [
        ("lip_upper", R_LIP_UP), ("lip_lower", R_LIP_LO), ("mouth_interior", R_INTERIOR),
        ("teeth", R_TEETH_UP), ("teeth", R_TEETH_LO), ("tongue", R_TONGUE)]
    assert grids[0].points.shape == (LIP_N, LIP_M, 3) and grids[0].pu.shape == (LIP_N, LIP_M)
    for g in grids:
        assert g.points.shape[:2] == g.pu.shape == g.pv.shape and np.isfinite(g.points).all()
    assert set(face.poses) == set(VISEMES)


@pytest.mark.parametrize("seed", SEEDS)
def test_visemes_open_and_close_the_mouth_in_depth_order(seed):
    face = _face(seed)
    gaps = {name: _lip_gap(face, pose) for name, pose in face.poses.items()}
    assert gaps["neutral"] < 0 and gaps["closed"] < 0                 # lips press together
    for name in ("open", "wide", "round", "lip_teeth", "tongue_teeth"):
        assert gaps[name] > 0, name
    assert gaps["open"] == max(gaps.values())
    skin_y = face.face_y(0.0, face.mz)
    for name, pose in face.poses.items():
        front = {(g.part, g.role): g.points[..., 1].min() for g in mouth_grids(face, pose)}
        assert max(front.values()) < skin_y, name                    # every part in front of the skin
        assert front[("lip_upper", R_LIP_UP)] < front[("teeth", R_TEETH_UP)], name
        tongue_out = front[("tongue", R_TONGUE)] < front[("teeth", R_TEETH_UP)]
        assert tongue_out == (name == "tongue_teeth"), name


@pytest.mark.parametrize("seed", SEEDS)
def test_pose_positions_move_the_mouth_only(seed):
    face = _face(seed)
    head = np.array([face.head_vertex(*p) for p in _unit_sphere(32)])
    grids = mouth_grids(face, face.poses["neutral"])
    co = np.concatenate([head, [[0.0, 0.0, 0.0]]] + [g.points.reshape(-1, 3) for g in grids])
    role = np.concatenate([np.full(len(head), R_SKIN), [R_FIXED]]
                          + [np.full(g.pu.size, g.role) for g in grids])
    pu = np.concatenate([np.zeros(len(head) + 1)] + [g.pu.ravel() for g in grids])
    pv = np.concatenate([np.zeros(len(head) + 1)] + [g.pv.ravel() for g in grids])
    neutral = pose_positions(face, co, role, pu, pv, face.poses["neutral"])
    np.testing.assert_allclose(neutral, co, atol=1e-12)
    far = np.zeros(len(co), bool)
    far[:len(head)] = head[:, 2] > 0.0                                 # skin above the middle
    far[len(head)] = True                                              # a fixed vertex
    mouth = role > R_SKIN
    for name in VISEMES[1:]:
        moved = np.linalg.norm(pose_positions(face, co, role, pu, pv, face.poses[name]) - co, axis=1)
        assert moved[far].max() == 0.0, name
        assert moved[mouth].max() > 0.005, name
    chin = ((role == R_SKIN) & (co[:, 2] < face.mz - 0.2) & (co[:, 1] < -0.5 * face.ry)
            & (np.abs(co[:, 0]) < face.mw))
    assert chin.any()
    opened = pose_positions(face, co, role, pu, pv, face.poses["open"])
    assert (opened[chin, 2] < co[chin, 2] - 0.5 * face.s.jaw_drop).all()  # the jaw drops
