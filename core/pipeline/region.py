"""The mouth region: where generated pixels may replace the input, as a feathered mask.

The region is an ellipse around the mouth keypoints, reaching down towards the chin (an
opening mouth drops the jaw), sized in mouth widths so it scales with the face. Outside
the region the mask is exactly 0, so compositing leaves those pixels untouched. A learnt
character's own mouth (`bank`) is drawn over the larger `JAW` region: its jaw drops below
the `MOUTH` region's edge, and its skin around it is the character's own.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np


class RegionForm(NamedTuple):
    """An ellipse in mouth widths: semi-axes across and along the face, and its centre's
    distance below the mouth centre."""

    half_width: float
    half_height: float
    drop: float


MOUTH = RegionForm(0.95, 0.85, 0.3)   # the generated mouth's region: lips and the jaw's top
JAW = RegionForm(1.45, 1.15, 0.6)     # a bank's mouth: the same top, the jaw's whole drop
                                      # (a realistic avatar's chin moves 1.5 mouth widths
                                      # below the mouth centre, an anime one's jaw line 1.4
                                      # to the side)
FOOTAGE_JAW = RegionForm(1.45, 1.0, 0.6)   # another frame's mouth in footage: the jaw,
                                          # below the nose (its pose differs a little)
FEATHER = 0.25             # soft edge inside the ellipse, in mouth widths


def mouth_width(keypoints: np.ndarray) -> float:
    """Corner-to-corner width (px) of 25 mouth keypoints (25, 2)."""
    return float(np.linalg.norm(keypoints[6] - keypoints[0]))


def _frame(keypoints: np.ndarray, width: float, form: RegionForm
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre, across, down) px of the region of `form` around keypoints (25, 2) px whose
    mouth is `width` px wide: its centre and unit axes."""
    left, right = keypoints[0], keypoints[6]
    across = (right - left) / max(np.linalg.norm(right - left), 1e-6)   # unit, corner to corner
    down = np.array([-across[1], across[0]], np.float32)                # image y grows downwards
    if down[1] < 0:
        down = -down
    return keypoints[24] + form.drop * width * down, across, down


def mouth_region_mask(keypoints: np.ndarray, shape: tuple[int, int],
                      scale: float = 1.0, form: RegionForm = MOUTH) -> np.ndarray:
    """Feathered mouth-region mask.

    Args:
        keypoints: (25, 2) mouth keypoints (x, y) px in the image.
        shape: (H, W) of the image.
        scale: grows (>1) or shrinks the region.
        form: the ellipse (`MOUTH`, or `JAW` for a bank's mouth).

    Returns:
        (H, W) float32 in [0, 1]: 1 well inside the region, falling smoothly to exactly 0
        at the ellipse's edge and beyond.
    """
    keypoints = np.asarray(keypoints, np.float32)
    width = mouth_width(keypoints) * scale
    centre, across, down = _frame(keypoints, width, form)
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xs - centre[0], ys - centre[1]
    u = (dx * across[0] + dy * across[1]) / (form.half_width * width)
    v = (dx * down[0] + dy * down[1]) / (form.half_height * width)
    r = np.sqrt(u * u + v * v)                                          # 1 on the ellipse
    soft = FEATHER / max(form.half_width, form.half_height)
    mask = np.clip((1.0 - r) / soft, 0.0, 1.0)
    return (mask * mask * (3 - 2 * mask)).astype(np.float32)            # smoothstep


def mouth_region_bounds(keypoints: np.ndarray, scale: float = 1.0, form: RegionForm = MOUTH
                        ) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) px: a box holding every pixel where `mouth_region_mask` > 0."""
    keypoints = np.asarray(keypoints, np.float32)
    width = mouth_width(keypoints) * scale
    centre, _, _ = _frame(keypoints, width, form)
    reach = max(form.half_width, form.half_height) * width + 1.0
    return (float(centre[0] - reach), float(centre[1] - reach),
            float(centre[0] + reach), float(centre[1] + reach))


def jaw_face(face: np.ndarray, regions: list[np.ndarray]) -> np.ndarray:
    """The face box (4,) px (x0, y0, x1, y1) a bank's mouth may draw in: `face` reaching down
    to the bottom of the `JAW` regions of the keypoint sets `regions` ((25, 2) px each): a
    learnt jaw drops below the face at rest."""
    face = np.array(face, np.float32)
    if face[2] > face[0] and face[3] > face[1]:
        bottom = max(mouth_region_bounds(points, form=JAW)[3] for points in regions)
        face[3] = max(face[3], bottom)
    return face


def keypoint_heatmap(keypoints: np.ndarray, shape: tuple[int, int],
                     sigma: float = 1.5) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the outer and inner lip contours drawn as soft lines."""
    h, w = shape
    canvas = np.zeros((h * 4, w * 4), np.uint8)  # 4x supersampled lines
    pts = np.round(np.asarray(keypoints, np.float32) * 4).astype(np.int32)
    cv2.polylines(canvas, [pts[0:12], pts[12:24]], isClosed=True, color=255, thickness=4)
    small = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    if sigma > 0:
        small = cv2.GaussianBlur(small, (0, 0), sigma) * 2.0
    return np.clip(small, 0.0, 1.0)


def composite(frame: np.ndarray, generated: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`generated` inside `mask`, `frame` outside; pixels where mask == 0 are `frame` exactly.

    frame, generated: (H, W, C) uint8; mask: (H, W) float in [0, 1]. Returns uint8.
    """
    alpha = mask[..., None].astype(np.float32)
    mixed = frame.astype(np.float32) * (1 - alpha) + generated.astype(np.float32) * alpha
    out = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    outside = mask <= 0
    out[outside] = frame[outside]
    return out
