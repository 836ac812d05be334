"""Mouth-centred square crops of full frames, and their way back.

A crop box is (x0, y0, x1, y1) in full-frame pixels, square, centred a little above the
mouth and `CROP_MOUTH_WIDTHS` mouth widths wide, smoothed over time so crops do not jitter.
The data factory stores its training crops with the same boxes, so the networks see at
inference what they saw in training.
"""

from __future__ import annotations

import cv2
import numpy as np

CROP_MOUTH_WIDTHS = 2.6   # crop side, in mouth widths (corner to corner)
CROP_UP_SHIFT = 0.15      # crop centre above the mouth centre, in crop sides
SMOOTH_FRAMES = 5         # moving average of the crop box over this many frames


def crop_boxes(points: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Square crop boxes (F, 4) float32 around the mouth from keypoints (F, 25, 2) px.

    visible: (F, 25) or (F,) bool. Frames whose mouth is not visible borrow the nearest
    visible frame's box; the centre and side are smoothed with a moving average over
    `SMOOTH_FRAMES` frames. Raises ValueError when no frame is visible.
    """
    ok = visible.all(axis=1) if visible.ndim == 2 else visible.astype(bool)
    if not ok.any():
        raise ValueError("the mouth is not visible on any frame")
    idx = np.flatnonzero(ok)
    nearest = idx[np.abs(np.arange(len(ok))[:, None] - idx[None, :]).argmin(axis=1)]
    pts = points[nearest]                                        # (F, 25, 2)
    side = CROP_MOUTH_WIDTHS * np.linalg.norm(pts[:, 6] - pts[:, 0], axis=1)
    centre = pts[:, 24] - np.stack([np.zeros_like(side), CROP_UP_SHIFT * side], axis=1)
    kernel = np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES
    pad = SMOOTH_FRAMES // 2

    def smooth(x):
        return np.convolve(np.pad(x, pad, mode="edge"), kernel, mode="valid")

    side = smooth(side)
    cx, cy = smooth(centre[:, 0]), smooth(centre[:, 1])
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2],
                    axis=1).astype(np.float32)


def steady_crop_boxes(points: np.ndarray, visible: np.ndarray, faces: np.ndarray,
                      rest: int) -> np.ndarray:
    """Crop boxes (F, 4) for a mouth that already speaks: as `crop_boxes`, but the side
    follows the face, not each viseme (the shot's median mouth width over face width, times
    each frame's face width), and the centre is the corners' midpoint plus the rest frame's
    offset of its middle point from its corners' midpoint. Training crops every version of
    a clip at its neutral render's boxes, which hold still while the mouth speaks.

    points: (F, 25, 2) px; visible: (F,) bool; faces: (F, 4) face boxes px; rest: the
    frame whose mouth is the most closed."""
    pts = points.astype(np.float64)
    width = np.linalg.norm(pts[:, 6] - pts[:, 0], axis=1)
    face = faces[:, 2] - faces[:, 0]
    usable = visible & (face >= 1)
    steady_width = np.full(len(pts), np.median(width[visible]))
    if usable.any():
        ratio = np.median(width[usable] / face[usable])
        steady_width = np.where(face >= 1, ratio * face, steady_width)
    middle = (pts[:, 0] + pts[:, 6]) / 2
    half = (pts[:, 6] - pts[:, 0]) / np.maximum(width, 1e-6)[:, None] * steady_width[:, None] / 2
    steady = pts.copy()
    steady[:, 0], steady[:, 6] = middle - half, middle + half
    steady[:, 24] = middle + (pts[rest, 24] - middle[rest])
    return crop_boxes(steady.astype(np.float32), visible)


def crop_matrix(box: np.ndarray, size: int) -> np.ndarray:
    """(2, 3) float32 affine map from frame px to the (size, size) crop of `box`."""
    x0, y0, x1, _ = (float(v) for v in box)
    scale = size / (x1 - x0)
    return np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)


def crop(image: np.ndarray, box: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Resample `box` of `image` (H, W[, C]) to a (size, size[, C]) crop; outside is
    edge-padded. Boxes more than twice the crop's side are first shrunk by pixel-area
    averaging (an integer factor), so large frames do not alias."""
    matrix = crop_matrix(box, size)
    scale = float(matrix[0, 0])
    if scale < 0.5 and not nearest:
        image, matrix = _shrunk(image, box, matrix)
    return cv2.warpAffine(image, matrix, (size, size),
                          flags=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)


def _shrunk(image: np.ndarray, box: np.ndarray,
            matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The neighbourhood of `box` shrunk by k = int(1 / scale) with INTER_AREA, and the
    affine map from its pixels to the crop's (`matrix`: frame px -> crop px)."""
    scale = float(matrix[0, 0])
    k = int(1 / scale)
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    ix0, iy0 = max(int(x0) - k, 0), max(int(y0) - k, 0)
    ix1, iy1 = min(int(np.ceil(x1)) + k, w), min(int(np.ceil(y1)) + k, h)
    nx, ny = (ix1 - ix0) // k, (iy1 - iy0) // k
    if nx < 2 or ny < 2:                       # the box lies (almost) outside the frame
        return image, matrix
    sub = cv2.resize(image[iy0:iy0 + ny * k, ix0:ix0 + nx * k], (nx, ny),
                     interpolation=cv2.INTER_AREA)
    # sub pixel j is the mean of frame pixels ix0 + j*k .. ix0 + j*k + k-1
    matrix = np.array([[scale * k, 0, scale * (ix0 + (k - 1) / 2 - x0)],
                       [0, scale * k, scale * (iy0 + (k - 1) / 2 - y0)]], np.float32)
    return sub, matrix


def box_to_crop(points: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Points (..., 2) in frame px -> the same points in crop px."""
    x0, y0, x1, _ = (float(v) for v in box)
    return ((np.asarray(points, np.float32) - np.array([x0, y0], np.float32))
            * (size / (x1 - x0))).astype(np.float32)


def uncrop(patch: np.ndarray, box: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """Resample a square crop `patch` (S, S[, C]) of `box` back to the frame pixels of
    `rect` = (x0, y0, x1, y1) (integers, end exclusive) -> (y1-y0, x1-x0[, C]), bicubic."""
    size = patch.shape[0]
    x0, y0, x1, y1 = rect
    matrix = crop_matrix(box, size).astype(np.float64)
    matrix[:, 2] += matrix[:, 0] * x0 + matrix[:, 1] * y0        # rect px -> crop px
    return cv2.warpAffine(patch, matrix, (x1 - x0, y1 - y0),
                          flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
