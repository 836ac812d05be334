"""The 25 mouth keypoints read off the face parser's output for one crop.

`mouth_keypoints` takes the class probabilities of a crop cut like the factory's and
returns the keypoints in the topology of `preprocess.keypoints`, calibrated to where the
factory's projected mesh points lie. Used by `locate` to follow a mouth through a shot.

Crops are (S, S) at the parser's size; probabilities are (12, S, S) float32 softmax
outputs (classes in `models.parser.CLASS_NAMES`); points are crop px (x, y), y down.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError
from ..models.parser import CLASS_NAMES
from ..preprocess.keypoints import LEFT_CORNER, N_CONTOUR, RIGHT_CORNER
from ..pipeline.crop import CROP_MOUTH_WIDTHS, CROP_UP_SHIFT

SKIN = CLASS_NAMES.index("skin")
UPPER_LIP = CLASS_NAMES.index("upper lip")
LOWER_LIP = CLASS_NAMES.index("lower lip")
OPEN_CLASSES = (CLASS_NAMES.index("teeth"), CLASS_NAMES.index("mouth interior"))
LIP_CLASSES = (UPPER_LIP, LOWER_LIP) + OPEN_CLASSES

MOUTH_THRESHOLD = 0.5        # a pixel is mouth (lips, teeth, interior) above this probability
MIN_AREA = 0.008             # least mouth area, share of the crop (closed thin lips ~0.02)
WIDTH_RANGE = (0.5, 2.0)     # found width / expected width accepted
ACCEPT = 0.45                # least score (mouth confidence x skin around it) of a mouth
RING = 0.06                  # skin ring around the mouth, share of the crop side
UPSAMPLE = 4                 # the mouth mask is read at this x the parser's resolution
RAY_STEP = 0.25              # px of the parser's input along the rays
# The factory's inner points lie on the lips' inner rim, not on the edge of the opening: a
# closed mouth's gap (points 15 to 21) is ~0.17 mouth widths, an open one's the visible
# opening plus that (fit over the training clips). Inner point k sits that ellipse's
# radius plus |sin| of its angle x the opening's, from the centre along its ray.
INNER_PRIOR = (0.21, 0.085)  # half axes of the closed mouth's inner contour, in mouth widths
# The factory's keypoints (projected lip-mesh vertices) lie inside the visible lip outline:
# corner to corner is WIDTH_SHARE of the lips' visible extent, top to bottom HEIGHT_SHARE
# (medians over the 103 training clips of the 120-clip factory set, from its part labels;
# 0.68-0.94 per character, 10th-90th percentile).
WIDTH_SHARE = 0.79
HEIGHT_SHARE = 0.82


def mouth_keypoints(probs: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The mouth's 25 keypoints in a parsed crop, or None when there is none.

    probs: (12, S, S) float32 class probabilities of a crop cut like the factory's
    (the mouth expected at (S/2, S/2 + CROP_UP_SHIFT S), 1 / CROP_MOUTH_WIDTHS S wide).
    Returns ((25, 2) float32 crop px, score in [0, 1]): the mouth's mean confidence
    times the share of skin around it.

    The mouth is the lip-class blob (upper and lower lip, teeth, interior) nearest the
    expected place; its up direction goes from the lower to the upper lip's centroid.
    The centre (24) is the blob's centroid (the factory's centre is the lip vertex
    nearest the lip vertices' centroid), the corners (0 and 6) its extremes along the
    mouth's axis, outer point k where the ray from the centre at 30 k degrees leaves the
    blob; all pulled in to where the factory's mesh points lie (`WIDTH_SHARE`,
    `HEIGHT_SHARE`). Inner point 12 + k lies on the same ray, `INNER_PRIOR`'s ellipse
    plus |sin| of the angle x the distance to the edge of the opening (teeth, interior),
    never outside the outer point.
    """
    probs = np.asarray(probs, np.float32)
    if probs.ndim != 3 or probs.shape[0] != len(CLASS_NAMES) or probs.shape[1] != probs.shape[2]:
        raise InputError(f"mouth_keypoints needs (12, S, S) probabilities, got {probs.shape}")
    size = probs.shape[1]
    mouth = probs[list(LIP_CLASSES)].sum(axis=0)                          # (S, S)
    region = _mouth_blob(mouth, size)
    if region is None:
        return None
    mouth = mouth * region
    upper, lower = probs[UPPER_LIP] * region, probs[LOWER_LIP] * region
    up = np.array([0.0, -1.0])
    if upper.sum() > 1.0 and lower.sum() > 1.0:
        tilt = _centroid(upper) - _centroid(lower)
        if np.hypot(*tilt) > 0.5 and tilt[1] < 0:
            up = tilt / np.hypot(*tilt)
    right = np.array([-up[1], up[0]])
    left_end, right_end = _corners(mouth, right)
    centre = _centroid(mouth)
    extent = float(np.hypot(*(right_end - left_end)))
    width = WIDTH_SHARE * extent
    if not WIDTH_RANGE[0] <= width / (size / CROP_MOUTH_WIDTHS) <= WIDTH_RANGE[1]:
        return None
    angles = np.radians(np.arange(N_CONTOUR) * 360.0 / N_CONTOUR)
    cos, sin = np.cos(angles), np.sin(angles)
    directions = -cos[:, None] * right[None, :] + sin[:, None] * up[None, :]   # (12, 2)
    opening = probs[list(OPEN_CLASSES)].sum(axis=0) * region
    outer_t = _ray_exits(mouth, centre, directions, size / 2)
    outer = np.stack([-cos * outer_t, sin * outer_t], axis=1)              # (12, 2) along, up
    for k, end in ((LEFT_CORNER, left_end), (RIGHT_CORNER, right_end)):
        outer[k] = ((end - centre) @ right, (end - centre) @ up)
    # the factory's points lie inside the visible lips: shrink along and across the mouth
    outer *= np.array([WIDTH_SHARE, HEIGHT_SHARE])
    inner_t = _ray_exits(opening, centre, directions, size / 2)
    a, b = INNER_PRIOR[0] * width, INNER_PRIOR[1] * width
    prior = 1.0 / np.sqrt((cos / a) ** 2 + (sin / b) ** 2)
    inner_t = prior + np.abs(sin) * inner_t
    inner = np.stack([-cos * inner_t, sin * inner_t], axis=1)
    inner_r, outer_r = np.hypot(*inner.T), np.hypot(*outer.T)
    inner *= np.minimum(1.0, outer_r / np.maximum(inner_r, 1e-6))[:, None]   # inside the lips
    local = np.concatenate([outer, inner, np.zeros((1, 2))])                # (25, 2) along, up
    points = centre + local[:, :1] * right[None, :] + local[:, 1:] * up[None, :]
    confidence = float((mouth * (mouth > MOUTH_THRESHOLD)).sum()
                       / max((mouth > MOUTH_THRESHOLD).sum(), 1))
    return points.astype(np.float32), confidence * _skin_around(probs[SKIN], region, size)


def _mouth_blob(mouth: np.ndarray, size: int) -> np.ndarray | None:
    """(S, S) float32 0/1 region of the lip blob nearest the expected mouth place (grown
    by one pixel), or None when it is too small."""
    mask = (mouth > MOUTH_THRESHOLD).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, centres = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    expected = np.array([size / 2, size / 2 + CROP_UP_SHIFT * size])
    distance = np.hypot(*(centres[1:] - expected).T)
    mass = np.array([mouth[labels == j].sum() for j in range(1, count)])
    pick = 1 + int(np.argmax(mass * np.exp(-0.5 * (distance / (0.25 * size)) ** 2)))
    if stats[pick, cv2.CC_STAT_AREA] < MIN_AREA * size * size:
        return None
    region = (labels == pick).astype(np.uint8)
    return cv2.dilate(region, np.ones((3, 3), np.uint8)).astype(np.float32)


def _centroid(weights: np.ndarray) -> np.ndarray:
    ys, xs = np.indices(weights.shape)
    total = weights.sum()
    return np.array([(xs * weights).sum() / total, (ys * weights).sum() / total])


def _corners(mouth: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extreme points (x, y) crop px of the mouth mask along `right`, read at UPSAMPLE x
    the resolution (bilinear probabilities thresholded at MOUTH_THRESHOLD)."""
    size = mouth.shape[0]
    big = cv2.resize(mouth, (size * UPSAMPLE, size * UPSAMPLE), interpolation=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(big > MOUTH_THRESHOLD)
    if len(xs) == 0:
        ys, xs = np.nonzero(big >= big.max())
    pts = (np.stack([xs, ys], axis=1) + 0.5) / UPSAMPLE - 0.5              # (N, 2) crop px
    along = pts @ right
    band = 0.5                                                             # crop px
    left = pts[along <= along.min() + band].mean(axis=0)
    right_pt = pts[along >= along.max() - band].mean(axis=0)
    return left, right_pt


def _ray_exits(values: np.ndarray, centre: np.ndarray, directions: np.ndarray,
               reach: float) -> np.ndarray:
    """(K,) distance from `centre` along each direction (K, 2) to the last place where
    `values` (S, S) falls below MOUTH_THRESHOLD (bilinear, linear between samples);
    0 where the ray never rises above it."""
    steps = np.arange(0.0, reach, RAY_STEP, dtype=np.float32)             # (T,)
    xy = centre[None, None, :] + steps[None, :, None] * directions[:, None, :]   # (K, T, 2)
    sampled = cv2.remap(values.astype(np.float32), xy[..., 0].astype(np.float32),
                        xy[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)   # (K, T)
    above = sampled > MOUTH_THRESHOLD
    out = np.zeros(len(directions))
    for k in range(len(directions)):
        hits = np.flatnonzero(above[k])
        if len(hits) == 0:
            continue
        j = hits[-1]
        if j + 1 >= len(steps):
            out[k] = steps[j]
            continue
        v0, v1 = sampled[k, j], sampled[k, j + 1]
        out[k] = steps[j] + RAY_STEP * (v0 - MOUTH_THRESHOLD) / max(v0 - v1, 1e-6)
    return out


def _skin_around(skin: np.ndarray, region: np.ndarray, size: int) -> float:
    """Mean skin probability in a ring around the mouth region (a face, not a red cup)."""
    grow = max(1, int(round(RING * size)))
    outer = cv2.dilate(region, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    ring = (outer > 0) & (region == 0)
    return float(skin[ring].mean()) if ring.any() else 0.0
