"""Bent mouths: a geometric augmentation of generator samples (`train generator --bend`).

A character's lips at rest may curve in any way (a smile, a frown, a tilt, an anime
"cat" mouth's two bumps), and a mouth keeps that curve as it opens. Training renders hold
a few such curves; a held-out character's may be none of them. Each bent sample moves every
image of the sample (input passes, lip heatmap, mask, input, truth and reference crops) by
the same smooth vertical displacement d(x), a random sum of a few cosines across the mouth's
width, so the rest mouth, the truth's open mouth and the reference all take one new curve
and the network learns to open a mouth whatever its curve at rest.

    pixel (x, y) of a bent image = pixel (x, y - d(x) g(y)) of the image,

g(y) 1 over the mouth region's rows and fading to 0 a quarter crop side above and below
it, d(x) fading to 0 beyond the lips' corners and of zero mean across the mouth (the mouth
stays where the crop put it). A sample's crops at twice the side (a scale-2 generator's,
the keys ending in `_large`) move by the same displacement, upsampled.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..models.warp import identity_grid

TERMS = 3                   # cosines in one bend
CYCLES = (0.25, 1.25)       # range of each cosine's frequency, cycles per mouth half-width
AMPLITUDE = 0.08            # std of each cosine's amplitude, in mouth half-widths
FADE = 0.25                 # rows faded to no bend above and below the region, crop sides
IMAGES = ("passes", "input", "target")          # (B, T, C, S, S) images, bicubic
MAPS = ("heatmap", "mask")                      # (B, T, 1, S, S) soft maps, bilinear


def check_share(share: float, option: str = "bend") -> float:
    """The share of samples an augmentation (`option`) changes, checked (0 .. 1)."""
    if not 0.0 <= share <= 1.0:
        raise InputError(f"--{option} {share}: give a share of samples from 0 to 1")
    return share


def _smoothstep(t: torch.Tensor) -> torch.Tensor:
    t = t.clamp(0, 1)
    return t * t * (3 - 2 * t)


def bend_field(rng: np.random.Generator, heatmap: torch.Tensor, mask: torch.Tensor
               ) -> torch.Tensor:
    """One sample's vertical displacement (S, S), crop px, from its first frame's lip
    heatmap (S, S) (where the lips' corners are) and its frames' mask (T, S, S) (which rows
    the mouth region covers)."""
    size = heatmap.shape[-1]
    xs = torch.arange(size, dtype=heatmap.dtype, device=heatmap.device)
    cols = torch.nonzero(heatmap.amax(dim=0) > 0.5 * heatmap.max()).flatten().to(xs)
    rows = torch.nonzero(mask.amax(dim=(0, 2)) > 0.5).flatten().to(xs)
    if len(cols) < 2 or len(rows) < 2:
        return torch.zeros((size, size), dtype=heatmap.dtype, device=heatmap.device)
    centre, half = (cols[0] + cols[-1]) / 2, (cols[-1] - cols[0]) / 2 + 0.5
    u = (xs - centre) / half                                          # -1 .. 1 across the lips
    d = torch.zeros_like(u)
    for _ in range(TERMS):
        cycles, phase = rng.uniform(*CYCLES), rng.uniform(0, 2 * np.pi)
        d = d + rng.normal(0, AMPLITUDE) * torch.cos(2 * np.pi * cycles * u + phase)
    inside = u.abs() <= 1
    d = (d - d[inside].mean()) * half * (1 - _smoothstep(u.abs() - 1))   # crop px
    fade = FADE * size
    g = 1 - _smoothstep(torch.maximum(rows[0] - xs, xs - rows[-1]) / fade)
    return g[:, None] * d[None, :]


def bend(rng: np.random.Generator, batch: dict[str, torch.Tensor], share: float
         ) -> dict[str, torch.Tensor]:
    """`batch` (as `ClipSet.generator_batch`, tensors) with a `share` of its samples bent,
    each its own way (the others unchanged); a new dict."""
    picked = [i for i in range(batch["input"].shape[0]) if rng.random() < share]
    if not picked:
        return batch
    keys = [k for base in (*IMAGES, *MAPS, "reference") for k in (base, base + "_large")
            if k in batch]
    out = dict(batch)
    for key in keys:
        out[key] = batch[key].clone()
    size = batch["input"].shape[-1]
    for i in picked:
        field = bend_field(rng, batch["heatmap"][i, 0, 0], batch["mask"][i, :, 0])
        shift = (field * 2 / size)[None, None]                 # (1, 1, S, S) normalised units
        for key in keys:
            images = batch[key][i].reshape(-1, *batch[key].shape[-3:])   # (N, C, s, s)
            side = images.shape[-1]
            grid = identity_grid(1, side, dtype=images.dtype).clone()
            grid[..., 1] -= (shift if side == size else nn.functional.interpolate(
                shift, size=(side, side), mode="bilinear", align_corners=False))[:, 0]
            moved = nn.functional.grid_sample(
                images, grid.expand(images.shape[0], -1, -1, -1),
                mode="bilinear" if key.startswith(MAPS) else "bicubic",
                padding_mode="border", align_corners=False).clamp(0, 1)
            out[key][i] = moved.reshape(batch[key][i].shape)
    return out
