"""Identical frames get identical keypoints: a still must never look like it speaks.

A locator that follows a face from frame to frame (crops at the last box, smoothing) can
give two identical frames slightly different points. `FrameDigests` remembers a digest of
each frame's pixels as it is read; `hold_repeats` gives every frame whose pixels equal the
previous frame's that frame's points, visibility and box.
"""

from __future__ import annotations

import hashlib

import numpy as np


class FrameDigests:
    """Digests (SHA-1, 20 bytes: fast where the CPU has SHA instructions; not a security
    use) of frames' pixels by frame index, for `hold_repeats`."""

    def __init__(self, n_frames: int):
        self.digests: list[bytes | None] = [None] * n_frames

    def add(self, index: int, image: np.ndarray) -> None:
        """Remember frame `index`'s pixels (any shape and dtype, C-contiguous or not)."""
        digest = hashlib.sha1(np.ascontiguousarray(image).data, usedforsecurity=False)
        digest.update(repr((image.shape, image.dtype.str)).encode())
        self.digests[index] = digest.digest()

    def same_as_previous(self) -> np.ndarray:
        """(F,) bool: frame i's pixels equal frame i - 1's (False for frame 0 and for
        frames never added)."""
        same = np.zeros(len(self.digests), bool)
        for i in range(1, len(self.digests)):
            d = self.digests[i]
            same[i] = d is not None and d == self.digests[i - 1]
        return same


def hold_repeats(same: np.ndarray, *arrays: np.ndarray) -> None:
    """In place: frame i of each array (first axis F) becomes frame i - 1's wherever
    `same[i]` ((F,) bool), so runs of identical frames all carry their first frame's."""
    for i in np.flatnonzero(same):
        for array in arrays:
            array[i] = array[i - 1]
