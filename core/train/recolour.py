"""Recoloured samples: a colour augmentation of generator samples (`train generator --recolour`).

Held-out characters wear colours training never shows (a yellow or purple creature's
skin), and a generator that learnt how far a red mouth opens may open a yellow one less.
Each recoloured sample turns the colour of every image of the sample (the input passes'
blurred RGB, the input, truth and reference crops, at either side) by one random angle
about the grey axis, in the (I, Q) chroma plane of YIQ, keeping each pixel's luma
(BT.601, the luma the gradient pass is made from, so that pass stays true and is left as
it is). Pixels turned out of the RGB cube are clipped, which moves their luma a little.
"""

from __future__ import annotations

import numpy as np
import torch

from .bend import check_share

IMAGES = ("passes", "input", "target", "reference")   # their first 3 channels are RGB
# RGB -> YIQ (NTSC 1953); Y is the BT.601 luma of `models.passes`
_YIQ = np.array([[0.299, 0.587, 0.114],
                 [0.595716, -0.274453, -0.321263],
                 [0.211456, -0.522591, 0.311135]])


def hue_turn(angle: float) -> torch.Tensor:
    """(3, 3) float64 matrix M: RGB column vector -> the same luma, chroma turned by `angle`
    radians in the (I, Q) plane."""
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    return torch.from_numpy(np.linalg.inv(_YIQ) @ turn @ _YIQ)


def recolour(rng: np.random.Generator, batch: dict[str, torch.Tensor], share: float
             ) -> dict[str, torch.Tensor]:
    """`batch` (as `ClipSet.generator_batch`, tensors) with a `share` of its samples
    recoloured, each by its own angle (the others unchanged); a new dict."""
    share = check_share(share, "recolour")
    picked = [i for i in range(batch["input"].shape[0]) if rng.random() < share]
    if not picked:
        return batch
    keys = [k for base in IMAGES for k in (base, base + "_large") if k in batch]
    out = dict(batch)
    for key in keys:
        out[key] = batch[key].clone()
    for i in picked:
        turn = hue_turn(rng.uniform(-np.pi, np.pi))
        for key in keys:
            rgb = batch[key][i, ..., :3, :, :]                  # (..., 3, s, s)
            turned = torch.einsum("ij,...jhw->...ihw", turn.to(rgb), rgb)
            out[key][i, ..., :3, :, :] = turned.clamp(0, 1)
    return out
