"""The warping generator's output: the reference mouth moved by a dense flow, blended with
synthesised colour where the reference does not show what the frame needs.

A warping generator's head has `WARP_CHANNELS` channels per pixel of its S x S crop:
colour (3, sigmoid: the mouth interior, teeth, tongue the reference lacks), flow (2,
tanh * MAX_FLOW: where each output pixel is found in the reference crop, an offset in
normalised crop coordinates, -1 .. 1 across the crop as `grid_sample` with
align_corners=False) and blend (1, sigmoid: 1 = the warped reference, 0 = the colour).

The same parts apply at any resolution: the pipeline upsamples flow, blend and colour to
the frame's pixels and warps the reference frame itself (`core.pipeline.native`), so lips
and skin keep the render's own texture; at model size `compose` gives the crop training
and the parser see.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

WARP_CHANNELS = 6      # colour 3, flow 2, blend 1
MAX_FLOW = 0.5         # largest offset, in normalised crop units (a quarter of the crop side)
BLEND_BIAS = -1.0      # initial blend logit of a head grown from an RGB generator's


@dataclass
class WarpParts:
    """A warping generator's output at model size S (tensors (N, C, S, S)):
    colour (N, 3) in [0, 1], flow (N, 2) normalised offsets (x, y), blend (N, 1) in [0, 1]."""

    colour: torch.Tensor
    flow: torch.Tensor
    blend: torch.Tensor


def split_head(raw: torch.Tensor) -> WarpParts:
    """The head's raw output (N, 6, S, S) -> its parts."""
    return WarpParts(torch.sigmoid(raw[:, 0:3]), MAX_FLOW * torch.tanh(raw[:, 3:5]),
                     torch.sigmoid(raw[:, 5:6]))


def identity_grid(n: int, size: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(n, size, size, 2) sampling grid (x, y) of every pixel centre, in -1 .. 1."""
    line = (torch.arange(size, device=device, dtype=dtype) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(line, line, indexing="ij")
    return torch.stack([x, y], dim=-1)[None].expand(n, -1, -1, -1)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """`image` (N, C, S, S) sampled at each pixel + `flow` (N, 2, S, S) (bilinear, edges
    replicated) -> (N, C, S, S)."""
    grid = identity_grid(image.shape[0], image.shape[-1], image.device, image.dtype)
    grid = grid + flow.permute(0, 2, 3, 1)
    return nn.functional.grid_sample(image, grid, mode="bilinear", padding_mode="border",
                                     align_corners=False)


def compose(parts: WarpParts, reference: torch.Tensor) -> torch.Tensor:
    """blend * warp(reference, flow) + (1 - blend) * colour; reference (N, 3, S, S) in
    [0, 1] -> (N, 3, S, S) in [0, 1]."""
    return parts.blend * warp(reference, parts.flow) + (1 - parts.blend) * parts.colour


def flow_roughness(flow: torch.Tensor) -> torch.Tensor:
    """Mean |difference| of neighbouring flow vectors, in crop pixels per pixel (a flow
    that upsamples smoothly to the frame's resolution has little)."""
    scale = flow.shape[-1] / 2                    # normalised units -> crop px
    dx = (flow[..., :, 1:] - flow[..., :, :-1]).abs().mean()
    dy = (flow[..., 1:, :] - flow[..., :-1, :]).abs().mean()
    return (dx + dy) * scale


def grow_head(rgb_head: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An RGB generator's head (weight (3, W, 3, 3), bias (3,)) grown into a warping head:
    the colour channels keep it, the flow starts at zero and the blend at sigmoid(BLEND_BIAS),
    so training starts from the RGB generator's output mixed a little with the reference."""
    weight, bias = rgb_head["weight"], rgb_head["bias"]
    grown_w = torch.zeros((WARP_CHANNELS, *weight.shape[1:]), dtype=weight.dtype)
    grown_b = torch.zeros(WARP_CHANNELS, dtype=bias.dtype)
    grown_w[:3], grown_b[:3] = weight, bias
    grown_b[5] = BLEND_BIAS
    return {"weight": grown_w, "bias": grown_b}
