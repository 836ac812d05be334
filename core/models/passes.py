"""Step-S20 passes of generated frames, differentiable (torch), for the sync loss.

The sync expert reads mouth blur pictures and gradient maps. Generated frames get a
stand-in for the mouth blur (a Gaussian blur inside the mouth-region mask; the S20 blur
of the factory's crops is a mild blur of the lips) and the exact S20 gradient map
(|I * A1 * A2| of the luma, same kernels and fixed gain as `core.preprocess.gradient`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..preprocess.config import PreprocessConfig
from ..preprocess.gradient import combined_kernel, step_response_peak

BLUR_SIGMA = 1 / 64  # Gaussian sigma of the mouth blur stand-in, in crop sides
_LUMA = (0.299, 0.587, 0.114)


class SoftPasses(nn.Module):
    """(N, 3, S, S) RGB in [0, 1] and mouth mask (N, 1, S, S) -> (N, 4, S, S) passes,
    for crops of side S = `size` px."""

    def __init__(self, size: int, config: PreprocessConfig = PreprocessConfig()):
        super().__init__()
        sigma = BLUR_SIGMA * size
        radius = max(1, int(round(3 * sigma)))
        x = np.arange(-radius, radius + 1, dtype=np.float32)
        g = np.exp(-0.5 * (x / sigma) ** 2)
        g /= g.sum()
        self.register_buffer("gauss", torch.from_numpy(np.outer(g, g))[None, None].repeat(3, 1, 1, 1))
        size = config.gradient_kernel_size
        kernel = combined_kernel(size).astype(np.float32)[::-1, ::-1].copy()
        self.register_buffer("laplace", torch.from_numpy(kernel)[None, None])
        self.register_buffer("luma", torch.tensor(_LUMA).view(1, 3, 1, 1))
        self.gain = config.gradient_gain / step_response_peak(size)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pad = self.gauss.shape[-1] // 2
        blurred = nn.functional.conv2d(nn.functional.pad(image, (pad,) * 4, mode="reflect"),
                                       self.gauss, groups=3)
        picture = mask * blurred + (1 - mask) * image
        grey = (picture * self.luma).sum(dim=1, keepdim=True)
        pad = self.laplace.shape[-1] // 2
        grad = nn.functional.conv2d(nn.functional.pad(grey, (pad,) * 4, mode="reflect"),
                                    self.laplace)
        return torch.cat([picture, (grad.abs() * self.gain).clamp(0, 1)], dim=1)
