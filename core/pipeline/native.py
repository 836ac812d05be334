"""A generated mouth at the frame's own resolution.

An RGB generator's crop (S x S) is resampled to the frame's pixels. A warping generator's
parts (`core.models.warp`) are resampled instead, and the reference frame itself is
warped: each frame pixel inside the crop box looks up its place in the reference crop
(`flow`, normalised crop units) and takes the reference frame's pixel there, so the lips
and skin keep the render's texture at any mouth size; only where `blend` < 1 does the
synthesised colour (the mouth interior, teeth, tongue) show. Where it shows only faintly
(blend above `OWN_CHROMA`) it lends its brightness but takes the warped pixels' chroma:
there the generator's colour is a small correction whose hue is noise, red and green
fringes at the frame's resolution (docs/experiments.md, 2026-12-06).

Coordinates: crop pixel index c of a box (x0, y0, x1, y1) is frame x = x0 + c * side / S
(pixel centres, as `crop.crop_matrix`); normalised crop units n = (c + 0.5) / S * 2 - 1
(`grid_sample`, align_corners=False).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..models.detail import DetailNet, add_detail
from ..models.warp import MAX_FLOW
from .crop import uncrop
from .pixels import to_display


SHOWN = 1 - 1 / 512   # a drawn pixel shows where the blend is under this
OWN_CHROMA = 0.8      # above this blend the drawn colour fades to the warped pixels' chroma


@dataclass
class NativeWarp:
    """A warping generator's output for one frame, to be applied at frame resolution.

    flow: (S, S, 2) float32 (x, y) offsets into the reference crop, normalised crop units;
    blend: (S, S) float32 in [0, 1], 1 = the warped reference;
    reference: (H, W, 3) uint8 display pixels of the reference frame (shared, not copied),
    or None: the frame drawn into is its own reference (`own_reference`);
    reference_box: (4,) the reference crop's box in that frame, px.
    """

    flow: np.ndarray
    blend: np.ndarray
    reference: np.ndarray | None
    reference_box: np.ndarray


def own_reference(warp: NativeWarp, raw: np.ndarray) -> NativeWarp:
    """`warp` with the stored frame `raw` it is drawn into as its reference: display
    pixels of the reference box grown by the flow's reach (`MAX_FLOW`), so that no lookup
    leaves them, and that box moved into them."""
    box = warp.reference_box
    reach = MAX_FLOW / 2 * float(box[2] - box[0]) + 4                       # px
    x0, y0 = max(int(np.floor(box[0] - reach)), 0), max(int(np.floor(box[1] - reach)), 0)
    x1 = min(int(np.ceil(box[2] + reach)), raw.shape[1])
    y1 = min(int(np.ceil(box[3] + reach)), raw.shape[0])
    pixels = to_display(raw[y0:y1, x0:x1])
    return replace(warp, reference=pixels,
                   reference_box=np.asarray(box, np.float32) - np.float32([x0, y0, x0, y0]))


def native_pixels(colour: np.ndarray, box: np.ndarray, rect: tuple[int, int, int, int],
                  warp: NativeWarp | None = None, detail: DetailNet | None = None
                  ) -> np.ndarray:
    """The generated mouth over frame pixels `rect` = (x0, y0, x1, y1) (ints, end
    exclusive) -> (y1-y0, x1-x0, 3) float32 sRGB in [0, 1].

    colour: (S, S, 3) float32, the model-size crop of `box` (an RGB generator's output, or a
    warping generator's synthesised colour), scaled to the frame's pixels and given back a
    render's edges by `detail` (`models.detail`) when there is one; warp: the warping
    generator's parts, or None.
    """
    size = colour.shape[0]
    scale = float(box[2] - box[0]) / size                         # frame px per crop px
    drawn = np.clip(uncrop(colour, box, rect), 0.0, 1.0)
    if warp is None:
        return drawn if detail is None else add_detail(detail, drawn, scale)
    blend = np.clip(uncrop(warp.blend, box, rect), 0.0, 1.0)[..., None]  # (h, w, 1)
    if detail is not None:
        drawn = _detail_where_shown(detail, drawn, scale, blend[..., 0] < SHOWN)
    flow = uncrop(warp.flow, box, rect)                                   # (h, w, 2)
    x0, y0, x1, y1 = rect
    side = float(box[2] - box[0])
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    # frame px -> normalised crop units of `box`, moved by the flow
    nx = ((xs - box[0]) * size / side + 0.5) / size * 2 - 1 + flow[..., 0]
    ny = ((ys - box[1]) * size / side + 0.5) / size * 2 - 1 + flow[..., 1]
    # -> reference frame px through the reference box
    ref_box = warp.reference_box
    ref_scale = float(ref_box[2] - ref_box[0]) / size
    map_x = ref_box[0] + ((nx + 1) / 2 * size - 0.5) * ref_scale
    map_y = ref_box[1] + ((ny + 1) / 2 * size - 0.5) * ref_scale
    warped = cv2.remap(warp.reference, map_x.astype(np.float32), map_y.astype(np.float32),
                       cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    warped = warped.astype(np.float32) / 255
    drawn = _chroma_of(warped, drawn, np.clip((blend - OWN_CHROMA) / (1 - OWN_CHROMA), 0, 1))
    return np.clip(blend * warped + (1 - blend) * drawn, 0.0, 1.0)


def _chroma_of(warped: np.ndarray, drawn: np.ndarray, share: np.ndarray) -> np.ndarray:
    """`drawn` (h, w, 3) float32 RGB in [0, 1] with its chroma (YCrCb) moved to `warped`'s
    by `share` (h, w, 1) in [0, 1]; its luma as it was, and where `share` is 0, itself."""
    moved = share[..., 0] > 0
    if not moved.any():
        return drawn
    ours = cv2.cvtColor(drawn.astype(np.float32), cv2.COLOR_RGB2YCrCb)
    theirs = cv2.cvtColor(warped, cv2.COLOR_RGB2YCrCb)
    ours[..., 1:] += share * (theirs[..., 1:] - ours[..., 1:])
    out = drawn.copy()
    out[moved] = np.clip(cv2.cvtColor(ours, cv2.COLOR_YCrCb2RGB), 0.0, 1.0)[moved]
    return out


def _detail_where_shown(detail: DetailNet, drawn: np.ndarray, scale: float,
                        shown: np.ndarray) -> np.ndarray:
    """`drawn` (h, w, 3) with the detail network's edges over the bounding box of `shown`
    (h, w) bool, grown by the network's reach so that it sees what it would over the whole;
    elsewhere (never shown) as it was."""
    rows, cols = np.flatnonzero(shown.any(axis=1)), np.flatnonzero(shown.any(axis=0))
    if not len(rows):
        return drawn
    reach = detail.reach + 2
    y0, y1 = max(rows[0] - reach, 0), min(rows[-1] + 1 + reach, drawn.shape[0])
    x0, x1 = max(cols[0] - reach, 0), min(cols[-1] + 1 + reach, drawn.shape[1])
    y0, x0 = y0 - y0 % 2, x0 - x0 % 2           # the network's 2 x 2 blocks, as over all
    out = drawn.copy()
    out[y0:y1, x0:x1] = add_detail(detail, drawn[y0:y1, x0:x1], scale)
    return out
