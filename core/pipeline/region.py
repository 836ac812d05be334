"""The mouth region: where generated pixels may replace the input, as a feathered mask.

The region is an ellipse around the mouth keypoints, reaching down towards the chin (an
opening mouth drops the jaw), sized in mouth widths so it scales with the face. Outside
the region the mask is exactly 0, so compositing leaves those pixels untouched.
"""

from __future__ import annotations

import cv2
import numpy as np

REGION_HALF_WIDTH = 0.95   # ellipse semi-axis across the mouth, in mouth widths
REGION_HALF_HEIGHT = 0.85  # semi-axis along the face, in mouth widths
REGION_DROP = 0.3          # centre below the mouth centre, in mouth widths (the jaw)
FEATHER = 0.25             # soft edge inside the ellipse, in mouth widths


def mouth_width(keypoints: np.ndarray) -> float:
    """Corner-to-corner width (px) of 25 mouth keypoints (25, 2)."""
    return float(np.linalg.norm(keypoints[6] - keypoints[0]))


def mouth_region_mask(keypoints: np.ndarray, shape: tuple[int, int],
                      scale: float = 1.0) -> np.ndarray:
    """Feathered mouth-region mask.

    Args:
        keypoints: (25, 2) mouth keypoints (x, y) px in the image.
        shape: (H, W) of the image.
        scale: grows (>1) or shrinks the region.

    Returns:
        (H, W) float32 in [0, 1]: 1 well inside the region, falling smoothly to exactly 0
        at the ellipse's edge and beyond.
    """
    keypoints = np.asarray(keypoints, np.float32)
    width = mouth_width(keypoints) * scale
    left, right = keypoints[0], keypoints[6]
    across = (right - left) / max(np.linalg.norm(right - left), 1e-6)   # unit, corner to corner
    down = np.array([-across[1], across[0]], np.float32)                # image y grows downwards
    if down[1] < 0:
        down = -down
    centre = keypoints[24] + REGION_DROP * width * down
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xs - centre[0], ys - centre[1]
    u = (dx * across[0] + dy * across[1]) / (REGION_HALF_WIDTH * width)
    v = (dx * down[0] + dy * down[1]) / (REGION_HALF_HEIGHT * width)
    r = np.sqrt(u * u + v * v)                                          # 1 on the ellipse
    soft = FEATHER / max(REGION_HALF_WIDTH, REGION_HALF_HEIGHT)
    mask = np.clip((1.0 - r) / soft, 0.0, 1.0)
    return (mask * mask * (3 - 2 * mask)).astype(np.float32)            # smoothstep


def mouth_region_bounds(keypoints: np.ndarray, scale: float = 1.0) -> tuple[float, float,
                                                                          float, float]:
    """(x0, y0, x1, y1) px: a box holding every pixel where `mouth_region_mask` > 0."""
    keypoints = np.asarray(keypoints, np.float32)
    width = mouth_width(keypoints) * scale
    left, right = keypoints[0], keypoints[6]
    across = (right - left) / max(np.linalg.norm(right - left), 1e-6)
    down = np.array([-across[1], across[0]], np.float32)
    if down[1] < 0:
        down = -down
    centre = keypoints[24] + REGION_DROP * width * down
    reach = max(REGION_HALF_WIDTH, REGION_HALF_HEIGHT) * width + 1.0
    return (float(centre[0] - reach), float(centre[1] - reach),
            float(centre[0] + reach), float(centre[1] + reach))


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
