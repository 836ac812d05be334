"""Crop boxes (`core.pipeline.crop`): the steady boxes of a mouth that already speaks."""

from __future__ import annotations

import numpy as np

from lipsync.core.pipeline.crop import CROP_MOUTH_WIDTHS, crop_boxes, steady_crop_boxes


def _speaking(n: int = 30, face_width: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 25, 2) keypoints of a mouth whose width swings 16-28 px with the visemes and
    whose middle point drops with the jaw, and (n, 4) face boxes of `face_width` px."""
    t = np.arange(n)
    width = 22 + 6 * np.sin(t * 1.3)
    points = np.zeros((n, 25, 2), np.float32)
    points[:, 0] = np.stack([100 - width / 2, np.full(n, 120.0)], axis=1)
    points[:, 6] = np.stack([100 + width / 2, np.full(n, 120.0)], axis=1)
    points[:, 24] = np.stack([np.full(n, 100.0), 121 + 3 * np.abs(np.sin(t * 0.9))], axis=1)
    faces = np.tile(np.array([50, 60, 50 + face_width, 160], np.float32), (n, 1))
    return points, faces


def test_steady_boxes_hold_still_while_the_mouth_speaks():
    points, faces = _speaking()
    visible = np.ones(len(points), bool)
    plain = crop_boxes(points, visible)
    steady = steady_crop_boxes(points, visible, faces, rest=0)
    assert np.ptp(plain[:, 2] - plain[:, 0]) > 5, "plain boxes pump with the visemes"
    assert np.allclose(steady[:, 2] - steady[:, 0], CROP_MOUTH_WIDTHS * 22, atol=1.5)
    centre_y = (steady[:, 1] + steady[:, 3]) / 2
    assert np.ptp(centre_y) < 0.5, "the jaw's drop does not move the box"


def test_steady_boxes_follow_the_face_size():
    points, faces = _speaking()
    visible = np.ones(len(points), bool)
    near = points.copy()
    near[..., 0] = 100 + (points[..., 0] - 100) * 2               # the same mouth twice as big
    wide = faces.copy()
    wide[:, 2] = wide[:, 0] + 200
    base = steady_crop_boxes(points, visible, faces, rest=0)
    twice = steady_crop_boxes(near, visible, wide, rest=0)
    assert np.allclose(twice[:, 2] - twice[:, 0], 2 * (base[:, 2] - base[:, 0]), rtol=0.02)
