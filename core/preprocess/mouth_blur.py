"""The mouth blur picture: hide the mouth shape, keep the face (seed step S20, 1-3).

Conventions: frames are (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1]; masks
are (H, W) bool; points are (x, y) px, origin top-left, y down. A face's
orientation is the direction the top of its head points, counter-clockwise on
screen: 0 upright, 90 head to the left, 180 upside down, 270 head to the right.

Per face, two regions are mean-filtered and the two results fused:

* path A (`mouth_region_hsi`): lip-coloured pixels (red-weighted hue, see
  `hsi`) around the mouth keypoints, or in the lower part of the face box
  without keypoints, cleaned by a small morphological open then close;
* path B (`mouth_region_skin`): the skin of the face box (YCbCr ellipse, see
  `ycbcr`, holes such as lips and eyes filled), turned upright, its lower
  `lower_fraction` kept, turned back. Upright comes from the mouth keypoints, or
  without them from the skin ratio of the box halves (`face_orientation_from_skin`);
* fusion: ``w * A + (1 - w) * B`` per pixel (`PreprocessConfig.fusion_weight`).

Colour analysis runs on a copy of the face box shrunk to at most
`analysis_size` px (the masks are scaled back), blurs and the fusion on the
bounding box of each region, so pixels away from every face are returned
bit-identical.
"""

from __future__ import annotations

import math
from functools import cached_property, lru_cache
from typing import Callable

import cv2
import numpy as np

from .config import PreprocessConfig, odd_kernel_size
from .frames import check_rgb_image
from .hsi import lip_mask_from_hue
from .keypoints import (BOTTOM_OUTER, LEFT_CORNER, OUTER, RIGHT_CORNER, TOP_OUTER, Face,
                        face_angle)
from .ycbcr import skin_mask_ellipse
from ..errors import InputError

_KEYPOINTS_FOR_ANGLE = [LEFT_CORNER, TOP_OUTER, RIGHT_CORNER, BOTTOM_OUTER]
_SKIN_PERCENTILE = 0.02   # rows below 2 % / above 98 % of the skin pixels are ignored as noise


class _FaceView:
    """One face box cut to the frame, with a shrunk copy for colour analysis.

    `rgb` is the full-resolution crop (rows y0:y1, columns x0:x1 of the frame);
    `small` is the crop shrunk so its longer side is at most
    `config.analysis_size` px (`scale` = small / full), on which the skin mask
    and the orientation are computed once, on first use.
    """

    def __init__(self, frame: np.ndarray, face: Face, config: PreprocessConfig):
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = face.box
        self.y0, self.y1 = max(0, math.floor(y0)), min(h, math.ceil(y1))
        self.x0, self.x1 = max(0, math.floor(x0)), min(w, math.ceil(x1))
        self.face, self.config = face, config
        self.empty = self.y1 - self.y0 < 2 or self.x1 - self.x0 < 2
        if self.empty:
            return
        self.rgb = frame[self.slices]
        longer = max(self.rgb.shape[:2])
        self.scale = min(1.0, config.analysis_size / longer)
        if self.scale < 1.0:
            h_full, w_full = self.rgb.shape[:2]
            size = (max(2, round(w_full * self.scale)), max(2, round(h_full * self.scale)))
            self.small = cv2.resize(self.rgb, size, interpolation=cv2.INTER_AREA)
        else:
            self.small = self.rgb

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @cached_property
    def skin(self) -> np.ndarray:
        """(h, w) bool skin mask of `small`."""
        return skin_mask_ellipse(self.small, self.config)

    @cached_property
    def angle(self) -> float:
        """Orientation in degrees: from keypoints if usable, else a multiple of 90 from the skin ratio."""
        face = self.face
        if face.keypoints is not None and face.visible[_KEYPOINTS_FOR_ANGLE].all():
            angle = face_angle(face.keypoints)
            return 0.0 if abs(angle) <= self.config.upright_tolerance_deg else angle
        return float(face_orientation_from_skin(self.skin, self.config.orientation_tolerance))

    def to_full(self, mask: np.ndarray) -> np.ndarray:
        """Scale a mask of `small` up to the crop size."""
        h, w = self.rgb.shape[:2]
        if mask.shape == (h, w):
            return mask
        up = cv2.resize(mask.view(np.uint8) * np.uint8(255), (w, h), interpolation=cv2.INTER_LINEAR)
        return up >= 128


def mouth_blur_picture(frame: np.ndarray, faces: list[Face] | None,
                       config: PreprocessConfig) -> np.ndarray:
    """The fused mouth blur picture of one frame.

    Args:
        frame: (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1].
        faces: the faces to blur, each handled on its own. [] returns an
            unchanged copy; None means no keypoints are known: the whole frame
            is one face box and its orientation comes from the skin ratio.
        config: thresholds, kernel fractions and the fusion weight w.

    Returns:
        (H, W, 3) same dtype as `frame`: w * A + (1 - w) * B inside the face
        boxes, the frame's own pixels elsewhere.
    """
    frame = check_rgb_image(frame, "frame")
    if faces is None:
        faces = [Face(None, None, (0.0, 0.0, float(frame.shape[1]), float(frame.shape[0])))]
    out = frame.copy()
    if not faces:
        return out
    path_a = frame.copy()
    path_b = frame.copy()
    touched = []                                                # windows where A or B changed
    for face in faces:
        view = _FaceView(frame, face, config)
        if view.empty:
            continue
        ksize = odd_kernel_size(face.size, config.blur_fraction)
        feather = int(round(face.size * config.feather_fraction))
        touched.append(_blur_masked(path_a, _region_hsi(view), view.y0, view.x0, ksize, feather))
        touched.append(_blur_masked(path_b, _region_skin(view), view.y0, view.x0, ksize, feather))
    w = config.fusion_weight
    for window in filter(None, touched):
        out[window] = cv2.addWeighted(path_a[window], w, path_b[window], 1.0 - w, 0.0)
    return out


def mouth_region_hsi(frame: np.ndarray, face: Face, config: PreprocessConfig) -> np.ndarray:
    """Path A: the lip-coloured region of `face`.

    Lip pixels (`hsi.lip_mask_from_hue`) inside the outer lip contour grown by
    `keypoint_margin` mouth widths, or, without usable keypoints, in the lower
    `lower_fraction` of the face box (in the orientation found from the skin
    ratio); cleaned with a morphological open then close.

    Args:
        frame: (H, W, 3) RGB, uint8 or float32 [0, 1].
        face: the face; its box bounds the search.
        config: hue thresholds, margins, clean kernel fraction.

    Returns:
        (H, W) bool mask.
    """
    return _full_frame_mask(frame, face, config, _region_hsi)


def mouth_region_skin(frame: np.ndarray, face: Face, config: PreprocessConfig) -> np.ndarray:
    """Path B: the lower part of the face's skin region, which holds the mouth.

    Args:
        frame: (H, W, 3) RGB, uint8 or float32 [0, 1].
        face: the face; keypoints (if any) give the orientation, else the skin ratio.
        config: skin ellipse, `lower_fraction`, orientation tolerances.

    Returns:
        (H, W) bool mask.
    """
    return _full_frame_mask(frame, face, config, _region_skin)


def _full_frame_mask(frame: np.ndarray, face: Face, config: PreprocessConfig,
                     region: Callable[["_FaceView"], np.ndarray]) -> np.ndarray:
    """(H, W) bool: `region` of the face's view placed into a frame-sized mask."""
    frame = check_rgb_image(frame, "frame")
    mask = np.zeros(frame.shape[:2], dtype=bool)
    view = _FaceView(frame, face, config)
    if not view.empty:
        mask[view.slices] = region(view)
    return mask


def face_orientation_from_skin(skin_mask: np.ndarray, tolerance: float = 0.05) -> int:
    """Orientation of a face box from where its skin is (the chin side has the most).

    The skin ratios of the top, bottom, left and right halves of the ellipse
    inscribed in the box are compared (the box corners beside a tapering chin
    are background, so they are left out): the forehead half has hair, the chin
    half is mostly skin. The face counts as upright unless another half beats
    the bottom half by more than `tolerance`. Hair whose colour falls inside
    the skin ellipse (many browns, some blondes) defeats this; keypoints do not
    have that problem.

    Args:
        skin_mask: (H, W) bool skin of one face box, H, W >= 2.
        tolerance: skin-ratio lead, in [0, 1), another half needs over the bottom.

    Returns:
        0, 90, 180 or 270: where the top of the head points (0 up, 90 left,
        180 down, 270 right).
    """
    skin = np.asarray(skin_mask)
    if skin.ndim != 2 or skin.dtype != bool or min(skin.shape) < 2:
        raise InputError(f"skin_mask must be an (H, W) bool array with H, W >= 2, "
                         f"got shape {skin.shape} dtype {skin.dtype}")
    h, w = skin.shape
    inside = _inscribed_ellipse(h, w)                           # (H, W) bool
    skin_in = skin & inside
    skin_rows, area_rows = skin_in.sum(axis=1), inside.sum(axis=1)
    skin_cols, area_cols = skin_in.sum(axis=0), inside.sum(axis=0)

    def ratio(skin_count: np.ndarray, area: np.ndarray) -> float:
        return float(skin_count.sum()) / max(float(area.sum()), 1.0)

    chin_side = {0: ratio(skin_rows[h - h // 2:], area_rows[h - h // 2:]),
                 90: ratio(skin_cols[w - w // 2:], area_cols[w - w // 2:]),
                 180: ratio(skin_rows[:h // 2], area_rows[:h // 2]),
                 270: ratio(skin_cols[:w // 2], area_cols[:w // 2])}
    best = max(chin_side, key=chin_side.__getitem__)
    return 0 if chin_side[0] >= chin_side[best] - tolerance else best


def blur_region(frame: np.ndarray, mask: np.ndarray, ksize: int, feather: int = 0) -> np.ndarray:
    """Mean-filter `frame` inside `mask` only.

    Args:
        frame: (H, W, 3) RGB, uint8 or float32 [0, 1].
        mask: (H, W) bool, where to blur.
        ksize: odd mean-filter size >= 3, px.
        feather: soft-edge width in px (0: hard edge).

    Returns:
        (H, W, 3) copy of `frame`, same dtype, blurred inside the mask.
    """
    frame = check_rgb_image(frame, "frame")
    mask = np.asarray(mask)
    if mask.shape != frame.shape[:2] or mask.dtype != bool:
        raise InputError(f"mask must be a {frame.shape[:2]} bool array, got {mask.shape} {mask.dtype}")
    if ksize < 3 or ksize % 2 == 0:
        raise InputError(f"ksize must be an odd number >= 3, got {ksize!r}")
    if feather < 0:
        raise InputError(f"feather must be >= 0 px, got {feather!r}")
    out = frame.copy()
    _blur_masked(out, mask, 0, 0, ksize, feather)
    return out


def _inscribed_ellipse(h: int, w: int) -> np.ndarray:
    y = (np.arange(h, dtype=np.float32) - (h - 1) / 2.0) / (h / 2.0)
    x = (np.arange(w, dtype=np.float32) - (w - 1) / 2.0) / (w / 2.0)
    return x[None, :] ** 2 + y[:, None] ** 2 <= 1.0


def _region_hsi(view: _FaceView) -> np.ndarray:
    """Path A mask in crop coordinates (computed on the analysis copy, scaled back)."""
    config, face = view.config, view.face
    small = np.zeros(view.small.shape[:2], dtype=bool)
    h, w = small.shape
    clean_size = face.size * view.scale
    hull = _mouth_polygon(face, view, config)
    if hull is None:
        part = _lower_slices(h, w, int(round(view.angle / 90.0)) * 90 % 360, config.lower_fraction)
        small[part] = _clean(lip_mask_from_hue(view.small[part], config), clean_size, config)
        return view.to_full(small)
    # Around the keypoints: only the mouth's bounding box is analysed.
    x0, y0 = np.maximum(np.floor(hull.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(hull.max(axis=0)).astype(int) + 1, [w, h])
    if x1 - x0 >= 2 and y1 - y0 >= 2:
        inside = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        cv2.fillConvexPoly(inside, np.round(hull - [x0, y0]).astype(np.int32), 1)
        lips = lip_mask_from_hue(view.small[y0:y1, x0:x1], config) & inside.view(bool)
        small[y0:y1, x0:x1] = _clean(lips, clean_size, config)
    return view.to_full(small)


def _mouth_polygon(face: Face, view: _FaceView, config: PreprocessConfig) -> np.ndarray | None:
    """Hull of the visible outer lip points grown by the margin, in `view.small` px; None if unusable."""
    if face.keypoints is None:
        return None
    outer = face.keypoints[OUTER][face.visible[OUTER]].astype(np.float64)
    if len(outer) < 3:
        return None
    outer = (outer - [view.x0, view.y0]) * view.scale
    hull = cv2.convexHull(outer.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    centre = hull.mean(axis=0)
    width = float(np.ptp(hull[:, 0]) ** 2 + np.ptp(hull[:, 1]) ** 2) ** 0.5
    rel = hull - centre
    dist = np.maximum(np.hypot(rel[:, 0], rel[:, 1]), 1e-6)
    return centre + rel * (1.0 + config.keypoint_margin * width / dist)[:, None]


def _lower_slices(h: int, w: int, orientation: int, fraction: float) -> tuple[slice, slice]:
    """Slices of the chin-side `fraction` of an h x w box for orientation 0/90/180/270."""
    rows, cols = max(1, round(h * fraction)), max(1, round(w * fraction))
    return {0: (slice(h - rows, h), slice(0, w)), 180: (slice(0, rows), slice(0, w)),
            90: (slice(0, h), slice(w - cols, w)), 270: (slice(0, h), slice(0, cols))}[orientation]


def _clean(mask: np.ndarray, face_size: float, config: PreprocessConfig) -> np.ndarray:
    kernel = _ellipse_kernel(odd_kernel_size(face_size, config.clean_fraction))
    m = mask.view(np.uint8)
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, kernel)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel)
    return m.view(bool)


@lru_cache(maxsize=32)
def _ellipse_kernel(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _region_skin(view: _FaceView) -> np.ndarray:
    """Path B mask in crop coordinates: lower part of the hole-filled skin region, upright."""
    filled = _fill_holes(view.skin)
    fraction, angle = view.config.lower_fraction, view.angle
    turns = angle / 90.0
    if turns == round(turns):
        k = int(round(turns)) % 4
        lower = np.rot90(_lower_part(np.rot90(filled, -k), fraction), k)
        return view.to_full(np.ascontiguousarray(lower))
    h, w = filled.shape
    rad = math.radians(angle)
    cw = int(math.ceil(abs(w * math.cos(rad)) + abs(h * math.sin(rad))))
    ch = int(math.ceil(abs(h * math.cos(rad)) + abs(w * math.sin(rad))))
    # getRotationMatrix2D: positive angles turn counter-clockwise on screen, so
    # -angle brings the head to the top; then centre the crop on the canvas.
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), -angle, 1.0)
    m[:, 2] += [(cw - w) / 2.0, (ch - h) / 2.0]
    upright = cv2.warpAffine(filled.view(np.uint8), m, (cw, ch), flags=cv2.INTER_NEAREST)
    lower = _lower_part(upright.view(bool), fraction).view(np.uint8)
    back = cv2.warpAffine(lower, m, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    return view.to_full(back.view(bool))


def _lower_part(mask: np.ndarray, fraction: float) -> np.ndarray:
    """Keep the bottom `fraction` of the vertical extent (2nd-98th percentile rows) of `mask`."""
    counts = mask.sum(axis=1)
    total = int(counts.sum())
    out = mask.copy()
    if total == 0:
        return out
    cdf = np.cumsum(counts)
    top = int(np.searchsorted(cdf, _SKIN_PERCENTILE * total))
    bottom = int(np.searchsorted(cdf, (1.0 - _SKIN_PERCENTILE) * total))
    cut = int(math.ceil(bottom - fraction * (bottom - top)))
    out[:max(cut, 0)] = False
    return out


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """`mask` with every background area that does not touch the border filled."""
    h, w = mask.shape
    background = np.ones((h + 2, w + 2), dtype=np.uint8)
    background[1:-1, 1:-1] = ~mask
    flood_mask = np.zeros((h + 4, w + 4), dtype=np.uint8)
    cv2.floodFill(background, flood_mask, (0, 0), 2, flags=4)
    return background[1:-1, 1:-1] != 2


def _blur_masked(dst: np.ndarray, mask: np.ndarray, top: int, left: int, ksize: int,
                 feather: int) -> tuple[slice, slice] | None:
    """Mean-filter `dst` in place where `mask` (placed at row `top`, column `left`) is set.

    Returns the window of `dst` that may have changed, or None when the mask is empty.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    pad = ksize // 2 + feather
    h, w = dst.shape[:2]
    y0, y1 = max(top + rows[0] - pad, 0), min(top + rows[-1] + 1 + pad, h)
    x0, x1 = max(left + cols[0] - pad, 0), min(left + cols[-1] + 1 + pad, w)
    region = dst[y0:y1, x0:x1]
    local = np.zeros(region.shape[:2], dtype=np.uint8)
    my0, mx0 = max(y0 - top, 0), max(x0 - left, 0)
    my1, mx1 = min(y1 - top, mask.shape[0]), min(x1 - left, mask.shape[1])
    local[top + my0 - y0:top + my1 - y0, left + mx0 - x0:left + mx1 - x0] = mask[my0:my1, mx0:mx1]
    blurred = cv2.blur(region, (ksize, ksize), borderType=cv2.BORDER_REFLECT)
    if feather <= 0:
        np.copyto(region, blurred, where=local.view(bool)[:, :, None])
        return slice(y0, y1), slice(x0, x1)
    alpha = cv2.blur(local.astype(np.float32), (2 * feather + 1, 2 * feather + 1))   # soft mask, [0, 1]
    if dst.dtype == np.uint8:
        region[:] = cv2.blendLinear(blurred, region, alpha, 1.0 - alpha)        # rounds to uint8
    else:
        alpha = alpha[:, :, None]
        region[:] = blurred * alpha + region * (1.0 - alpha)
    return slice(y0, y1), slice(x0, x1)
