"""Colour jitter of a generator batch: each sample's character seen in other colours.

The generator learns from a few hundred characters and meets others (a held-out skin
colour, footage): one random colour transform per sample, the same on every image of it
(input frames, target frames, reference, and the RGB channels of the S20 passes, whose
blur picture is a colour image), so what the sample teaches stays true and only the
colours change. The transform is a rotation about the grey axis (a hue turn of up to
`MAX_HUE_TURN` radians), per-channel gains in 1 +- `MAX_GAIN` and a brightness shift of up
to +- `MAX_SHIFT`; the gradient pass (a grey edge map) is left as it is.
"""

from __future__ import annotations

import numpy as np

MAX_HUE_TURN = np.pi / 6   # radians
MAX_GAIN = 0.15            # per-channel gain range around 1
MAX_SHIFT = 0.06           # brightness shift, 0-1 units
IMAGE_KEYS = ("input", "target", "reference")   # (B, [T,] 3, S, S) images in [0, 1]


def colour_matrix(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One random transform: (3, 3) matrix M and (3,) shift b, colour' = M @ colour + b."""
    angle = rng.uniform(-MAX_HUE_TURN, MAX_HUE_TURN)
    axis = np.ones(3) / np.sqrt(3)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    turn = (np.cos(angle) * np.eye(3) + np.sin(angle) * cross
            + (1 - np.cos(angle)) * np.outer(axis, axis))        # Rodrigues' rotation
    gains = 1 + rng.uniform(-MAX_GAIN, MAX_GAIN, 3)
    return (gains[:, None] * turn).astype(np.float32), \
        np.full(3, rng.uniform(-MAX_SHIFT, MAX_SHIFT), np.float32)


def _apply(images: np.ndarray, matrix: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """images (..., 3, S, S) -> the same shape, transformed and clipped to [0, 1]."""
    out = np.einsum("ij,...jhw->...ihw", matrix, images) + shift[:, None, None]
    return np.clip(out, 0.0, 1.0).astype(images.dtype)


def colour_jitter(rng: np.random.Generator, batch: dict[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
    """A copy of generator `batch` (`ClipSet.generator_batch`: passes (B, T', 4, S, S),
    input and target (B, T, 3, S, S), reference (B, 3, S, S), ...) with each sample's
    colours transformed by its own `colour_matrix`; other keys are passed on."""
    out = dict(batch)
    passes = batch["passes"].copy()
    images = {k: batch[k].copy() for k in IMAGE_KEYS}
    for b in range(len(passes)):
        matrix, shift = colour_matrix(rng)
        passes[b, :, :3] = _apply(passes[b, :, :3], matrix, shift)
        for k in IMAGE_KEYS:
            images[k][b] = _apply(images[k][b], matrix, shift)
    out.update(images, passes=passes)
    return out
