"""Blending one character's generated mouth into a stored frame.

The generator's mouth is drawn over the `MOUTH` region, faded to 0 at the crop box's edge
and where the face parser does not see the face near the mouth; a learnt character's own
mouth (`bank`) over the larger `JAW` region, whole wherever it shows the face, in the
frame's own light; another frame's mouth of footage (`own_mouths`) over the
`FOOTAGE_JAW` region, in the frame's light, faded to 0 at the region's and the face box's
edges. Nothing changes outside the character's face box (for a learnt bank's mouth: down
to its jaw, `region.jaw_face`).
"""

from __future__ import annotations

import cv2
import numpy as np

from .bank import WHOLE_ABOVE, exemplar_pixels
from .character import Generated
from .crop import uncrop
from .damage import box_pixels
from .native import native_pixels, own_reference
from .pixels import blend_into, to_display
from .region import MOUTH, RegionForm, mouth_region_bounds, mouth_region_mask

EDGE_FEATHER = 0.08      # the mask fades to 0 over this share of the crop side at its edge
KEEP_BLUR = 0.03         # the parser's face probability is blurred by this share of the side


def composite_mouth(raw: np.ndarray, made: Generated, matte: np.ndarray | None) -> bool:
    """Blend one generated mouth into the stored frame `raw` in place (and into `matte`),
    never outside its face box; False when nothing was blended (an empty region)."""
    banked = made.exemplar is not None     # a bank's mouth: its jaw, and its own skin
    edge = made.exemplar.box if banked else made.box                  # what is drawn
    if banked and not made.exemplar.whole:   # footage's own mouth: faded out inside the
        edge = np.concatenate([np.maximum(edge[:2], made.face[:2]),    # face box, not cut
                               np.minimum(edge[2:], made.face[2:])])
    form = made.exemplar.form if banked else MOUTH
    bx0, by0, bx1, by1 = edge
    bounds = np.array([mouth_region_bounds(points, form=form) for points in made.regions])
    rx0, ry0 = bounds[:, :2].min(axis=0)
    rx1, ry1 = bounds[:, 2:].max(axis=0)
    fx0, fy0, fx1, fy1 = box_pixels(made.face, raw.shape)
    rect = (max(int(np.floor(max(bx0, rx0))), fx0), max(int(np.floor(max(by0, ry0))), fy0),
            min(int(np.ceil(min(bx1, rx1))), fx1), min(int(np.ceil(min(by1, ry1))), fy1))
    if rect[2] - rect[0] < 2 or rect[3] - rect[1] < 2:
        return False
    mask = _region_mask(made, rect, edge, form)
    if banked and made.exemplar.whole:     # no fade into the input: the skin is its own
        mask = np.clip(mask / WHOLE_ABOVE, 0.0, 1.0)
    if not (mask > 0).any():
        return False
    if banked:
        light = to_display(raw[rect[1]:rect[3], rect[0]:rect[2]]) / 255.0
        pixels = exemplar_pixels(made.exemplar, rect, light, _unmoved(made, rect))
    else:
        warp = made.warp
        if warp is not None and warp.reference is None:     # its own frame's pixels
            warp = own_reference(warp, raw)
        pixels = native_pixels(made.rgb, made.box, rect, warp, made.detail)
    blend_into(raw, rect, pixels, mask)
    if matte is not None:
        x0, y0, x1, y1 = rect
        np.maximum(matte[y0:y1, x0:x1], mask, out=matte[y0:y1, x0:x1])
    return True


def _unmoved(made: Generated, rect: tuple[int, int, int, int]) -> np.ndarray:
    """(h, w) bool over `rect`: pixels a speaking mouth leaves as they are: outside its
    `MOUTH` regions and above the mouth's centre (beside the nose, the cheeks)."""
    rows = np.arange(rect[1], rect[3])[:, None] < made.regions[0][24, 1]
    return (_regions_over(made, rect, MOUTH) <= 0) & rows


def _regions_over(made: Generated, rect: tuple[int, int, int, int],
                  form: RegionForm) -> np.ndarray:
    """(h, w) float32 over `rect`: the largest `mouth_region_mask` of `form` of
    `made.regions`."""
    x0, y0, x1, y1 = rect
    corner = np.array([x0, y0], np.float32)
    return np.max([mouth_region_mask(points - corner, (y1 - y0, x1 - x0), form=form)
                   for points in made.regions], axis=0)


def _region_mask(made: Generated, rect: tuple[int, int, int, int],
                 edge: np.ndarray, form: RegionForm) -> np.ndarray:
    """(h, w) float32 mask over `rect`: the keypoint mouth region of `form`, faded to 0 at
    the edge of `edge` (the box whose pixels are drawn: the crop box, or the exemplar's),
    times where the parser keeps them (`Generated.keep`, blurred). 0 exactly outside."""
    x0, y0, x1, y1 = rect
    mask = _regions_over(made, rect, form)
    side = float(edge[2] - edge[0])
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    inside = np.minimum.reduce([xs - edge[0], edge[2] - xs, ys - edge[1], edge[3] - ys])
    mask *= np.clip(inside / (EDGE_FEATHER * side), 0.0, 1.0)
    keep = made.keep
    sigma = KEEP_BLUR * keep.shape[0]
    keep = cv2.GaussianBlur(keep, (0, 0), sigma) if sigma > 0.3 else keep
    mask *= np.clip(uncrop(keep, made.box, rect), 0.0, 1.0)
    return mask.astype(np.float32)
