"""The check after compositing: generated pixels may change only inside the face boxes.

`composite.composite_mouth` clips every blend to its face's box; `check_inside_faces`
compares the frame to be written with the frame as read, outside those boxes, and stops the run
(`DamageError`) when anything there differs. A box covers the pixels from floor(x0) to
ceil(x1) - 1 (columns) and floor(y0) to ceil(y1) - 1 (rows), as the compositor rounds.
Frames are stored-format arrays: (H, W), (H, W, 3) or (H, W, 4), any dtype.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import DamageError


def box_pixels(box: Sequence[float], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The pixel rectangle (x0, y0, x1, y1), ints, end exclusive, that face box `box`
    (x0, y0, x1, y1) px covers on a frame of `shape` (H, W, ...)."""
    h, w = int(shape[0]), int(shape[1])
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x1, y1 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    return x0, y0, max(x1, x0), max(y1, y0)


def changed_outside(before: np.ndarray, after: np.ndarray,
                    boxes: Sequence[Sequence[float]]) -> int:
    """How many pixels differ between `before` and `after` (same shape) outside every box
    of `boxes` ((x0, y0, x1, y1) px each).

    The four strips around the boxes' bounding rectangle are compared whole (cheap: a
    1080p frame in well under a millisecond); pixels are counted only inside that
    rectangle, or over the whole frame when a strip differs."""
    if before.shape != after.shape:
        raise DamageError(f"the composited frame is {after.shape}, the input {before.shape}")
    rects = [box_pixels(box, before.shape) for box in boxes]
    if rects:
        x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
        x1, y1 = max(r[2] for r in rects), max(r[3] for r in rects)
        strips = ((slice(None, y0), slice(None)), (slice(y1, None), slice(None)),
                  (slice(y0, y1), slice(None, x0)), (slice(y0, y1), slice(x1, None)))
        if all(np.array_equal(before[s], after[s]) for s in strips):
            return _count(before[y0:y1, x0:x1], after[y0:y1, x0:x1],
                          [(a - x0, b - y0, c - x0, d - y0) for a, b, c, d in rects])
    return _count(before, after, rects)


def _count(before: np.ndarray, after: np.ndarray,
           rects: Sequence[tuple[int, int, int, int]]) -> int:
    """Pixels that differ between `before` and `after`, outside the pixel rectangles."""
    changed = before != after
    if changed.ndim == 3:
        changed = changed.any(axis=2)                        # (H, W)
    for x0, y0, x1, y1 in rects:
        changed[y0:y1, x0:x1] = False
    return int(changed.sum())


def check_inside_faces(before: np.ndarray, after: np.ndarray,
                       boxes: Sequence[Sequence[float]], frame: str) -> None:
    """Raise DamageError naming `frame` when `after` differs from `before` outside `boxes`."""
    count = changed_outside(before, after, boxes)
    if count:
        raise DamageError(f"internal error: frame '{frame}' changed {count} pixels outside the "
                          "face box; the run was stopped and nothing was written. Please "
                          "report this with the frames and the command.")
