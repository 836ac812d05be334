"""The check after compositing: generated pixels may change only inside the face boxes.

`_composite` clips every blend to its face's box; `check_inside_faces` compares the frame
to be written with the frame as read, outside those boxes, and stops the run
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
    of `boxes` ((x0, y0, x1, y1) px each)."""
    if before.shape != after.shape:
        raise DamageError(f"the composited frame is {after.shape}, the input {before.shape}")
    changed = before != after
    if changed.ndim == 3:
        changed = changed.any(axis=2)                        # (H, W)
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if rows.size == 0:
        return 0
    for box in boxes:                                        # fast path: all in one box
        x0, y0, x1, y1 = box_pixels(box, changed.shape)
        if x0 <= cols[0] and cols[-1] < x1 and y0 <= rows[0] and rows[-1] < y1:
            return 0
    for box in boxes:
        x0, y0, x1, y1 = box_pixels(box, changed.shape)
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
