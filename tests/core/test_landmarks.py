"""The 68 landmarks -> 25 mouth points mapping (`core.locator.landmarks`) on made-up lips
(ellipses, so the right answer is known), the face box, the covered-mouth measure and the
repeats of identical frames (`core.locator.repeats`); no landmark model needed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipsync.core.errors import InputError
from lipsync.core.locator.landmarks import (Face, face_box, landmark_model_available,
                                            mouth_from_landmarks, mouth_texture)
from lipsync.core.locator.repeats import FrameDigests, hold_repeats
from lipsync.core.preprocess.keypoints import face_angle


def ellipse(centre, a, b, n, tilt=0.0):
    """n points on an ellipse (half axes a across, b up), from the image-left end over the
    top, as dlib orders lips; `tilt` degrees counter-clockwise on screen."""
    t = np.radians(np.arange(n) * 360.0 / n)
    local = np.stack([-a * np.cos(t), -b * np.sin(t)], axis=1)          # y down: up is -y
    c, s = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
    rot = np.array([[c, s], [-s, c]])
    return local @ rot.T + centre


def landmarks(centre=(100.0, 120.0), a=30.0, b=12.0, inner_b=5.0, tilt=0.0):
    lm = np.zeros((68, 2), np.float32)
    lm[:48] = np.asarray(centre) + np.random.default_rng(0).uniform(-60, 60, (48, 2))
    lm[48:60] = ellipse(centre, a, b, 12, tilt)
    lm[60:68] = ellipse(centre, 0.8 * a, inner_b, 8, tilt)
    return lm


def test_points_lie_on_the_rays_of_the_topology():
    p = mouth_from_landmarks(landmarks())
    assert p.shape == (25, 2) and p.dtype == np.float32
    assert np.allclose(p[24], (100, 120), atol=1e-4)
    assert np.allclose(p[0], (70, 120), atol=1e-3) and np.allclose(p[6], (130, 120), atol=1e-3)
    assert np.allclose(p[3], (100, 108), atol=1e-3) and np.allclose(p[9], (100, 132), atol=1e-3)
    assert np.allclose(p[15], (100, 115), atol=1e-3) and np.allclose(p[21], (100, 125), atol=1e-3)
    rel = p[:24] - p[24]
    angles = np.degrees(np.arctan2(-rel[:, 1], -rel[:, 0])) % 360     # 0 left, 90 up
    assert np.allclose(angles[:12], np.arange(12) * 30, atol=1e-3)
    assert np.allclose(angles[12:], np.arange(12) * 30, atol=1e-3)


def test_a_closed_mouth_keeps_the_inner_points_inside():
    p = mouth_from_landmarks(landmarks(inner_b=0.0))
    inner = np.linalg.norm(p[12:24] - p[24], axis=1)
    outer = np.linalg.norm(p[:12] - p[24], axis=1)
    assert (inner <= outer + 1e-4).all()
    assert abs(p[15, 1] - p[21, 1]) < 1e-3                # the lips meet


def test_a_tilted_mouth_keeps_its_own_rays():
    p = mouth_from_landmarks(landmarks(tilt=20.0))
    assert face_angle(p) == pytest.approx(20.0, abs=0.5)
    assert np.linalg.norm(p[6] - p[0]) == pytest.approx(60.0, abs=1e-2)


def test_bad_landmarks_are_refused():
    with pytest.raises(InputError, match=r"\(68, 2\)"):
        mouth_from_landmarks(np.zeros((5, 2)))
    bad = landmarks()
    bad[50] = np.nan
    with pytest.raises(InputError):
        mouth_from_landmarks(bad)


def test_face_box_holds_the_landmarks_and_stays_in_the_frame():
    lm = landmarks()
    face = Face(lm, np.array([50, 60, 150, 170], np.float32), 1.0, 1.0)
    box = face_box(face, (200, 300))
    assert (box[:2] <= lm.min(axis=0)).all() and (lm.max(axis=0) <= box[2:]).all()
    assert box[0] >= 0 and box[1] >= 0 and box[2] <= 300 and box[3] <= 200


def test_a_flat_patch_over_the_mouth_has_no_texture():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (240, 200, 3), dtype=np.uint8)
    lm = landmarks()
    assert mouth_texture(image, lm) > 0.5
    image[100:140, 60:140] = 120
    assert mouth_texture(image, lm) == 0.0


def test_confidence_is_the_weaker_of_face_and_mouth():
    lm = landmarks()
    assert Face(lm, np.zeros(4, np.float32), 2.0, 0.3).confidence == pytest.approx(0.3)
    assert Face(lm, np.zeros(4, np.float32), 0.2, 3.0).confidence == pytest.approx(0.2)
    assert Face(lm, np.zeros(4, np.float32), 2.0, 3.0).confidence == 1.0


def test_identical_frames_hold_the_first_ones_points():
    a, b = np.zeros((4, 4, 3), np.uint8), np.ones((4, 4, 3), np.uint8)
    digests = FrameDigests(5)
    for i, image in enumerate([a, a.copy(), b, b, a]):
        digests.add(i, image)
    same = digests.same_as_previous()
    assert same.tolist() == [False, True, False, True, False]
    points = np.arange(5, dtype=np.float32)[:, None] * np.ones((5, 3))
    hold_repeats(same, points)
    assert points[:, 0].tolist() == [0, 0, 2, 2, 4]


def test_the_model_is_looked_for_without_importing_it(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert landmark_model_available() is False
