"""The mouth region: a feathered mask around the keypoints, and compositing that leaves every
pixel outside it exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic_faces import FaceSpec, synthetic_face
from lipsync.core.pipeline.region import composite, keypoint_heatmap, mouth_region_mask, mouth_width


def _keypoints():
    _, face = synthetic_face(FaceSpec(centre=(128.0, 128.0)))
    return face.keypoints


def test_mask_covers_the_mouth_and_the_jaw_below_it_and_is_zero_far_away():
    points = _keypoints()
    mask = mouth_region_mask(points, (256, 256))
    assert mask.dtype == np.float32 and 0 <= mask.min() and mask.max() == 1
    for x, y in np.round(points[12:25]).astype(int):      # inner lips and centre
        assert mask[y, x] > 0.9
    cx, cy = points[24]
    w = mouth_width(points)
    assert mask[int(cy + 0.6 * w), int(cx)] > 0.5            # the jaw below the mouth
    assert mask[int(cy - 1.2 * w), int(cx)] == 0              # the nose and above
    assert mask[int(cy), int(cx + 1.5 * w)] == 0              # the cheek


def test_mask_scales_with_the_mouth():
    points = _keypoints() + 128          # away from the borders of a 512 px canvas
    small = mouth_region_mask(points, (512, 512)).sum()
    centre = points[24]
    large = mouth_region_mask(centre + 1.5 * (points - centre), (512, 512)).sum()
    assert large / small == pytest.approx(1.5 ** 2, rel=0.02)


def test_composite_keeps_every_pixel_outside_the_region():
    rng = np.random.default_rng(0)
    points = _keypoints()
    frame = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    generated = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    mask = mouth_region_mask(points, (256, 256))
    out = composite(frame, generated, mask)
    outside = mask == 0
    assert outside.mean() > 0.8
    assert np.array_equal(out[outside], frame[outside])
    inside = mask == 1
    assert np.array_equal(out[inside], generated[inside])


def test_heatmap_marks_the_lip_contours():
    points = _keypoints()
    heat = keypoint_heatmap(points, (256, 256))
    assert heat.dtype == np.float32 and heat.max() <= 1
    x, y = np.round(points[3]).astype(int)
    assert heat[y, x] > 0.5 and heat[5, 5] == 0


@pytest.mark.parametrize("form", ["MOUTH", "JAW"])
def test_the_bounds_hold_the_whole_region(form):
    from lipsync.core.pipeline import region
    from lipsync.core.pipeline.region import mouth_region_bounds

    form = getattr(region, form)
    rng = np.random.default_rng(3)
    for _ in range(5):
        angle = rng.uniform(-0.6, 0.6)
        centre = rng.uniform(40, 80, 2)
        half = rng.uniform(8, 14)
        across = np.array([np.cos(angle), np.sin(angle)])
        points = np.repeat(centre[None], 25, axis=0).astype(np.float32)
        points[0], points[6] = centre - half * across, centre + half * across
        mask = mouth_region_mask(points, (160, 160), form=form)
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = mouth_region_bounds(points, form=form)
        assert x0 <= xs.min() and xs.max() <= x1 and y0 <= ys.min() and ys.max() <= y1
        assert (x1 - x0) < 2 * (form.half_width + 0.2) * half * 2      # and not much more


def test_the_jaw_region_holds_the_mouth_region_and_reaches_further_down_only():
    from lipsync.core.pipeline.region import JAW

    points = _keypoints()
    mouth, jaw = mouth_region_mask(points, (400, 256)), mouth_region_mask(points, (400, 256),
                                                                          form=JAW)
    assert np.all(jaw[mouth > 0] > 0)                     # everything the generator may draw
    rows = np.flatnonzero((mouth > 0).any(axis=1)), np.flatnonzero((jaw > 0).any(axis=1))
    assert abs(rows[1][0] - rows[0][0]) <= 1              # the same top (under the nose)
    assert rows[1][-1] - rows[0][-1] > 0.4 * mouth_width(points)   # the jaw's whole drop


def test_a_banks_face_box_reaches_down_to_its_jaw_and_an_empty_box_stays_empty():
    from lipsync.core.pipeline.region import JAW, jaw_face, mouth_region_bounds

    points = _keypoints()
    face = np.array([60.0, 40.0, 200.0, 200.0], np.float32)          # ends at the rest chin
    grown = jaw_face(face, [points])
    assert np.array_equal(grown[:3], face[:3])                        # sides and top kept
    bottom = mouth_region_bounds(points, form=JAW)[3]
    assert bottom > face[3] and grown[3] == pytest.approx(bottom)
    tall = np.array([60.0, 40.0, 200.0, 400.0], np.float32)
    assert np.array_equal(jaw_face(tall, [points]), tall)             # never shrinks
    assert not jaw_face(np.zeros(4, np.float32), [points]).any()      # no face: none
