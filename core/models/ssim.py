"""Differentiable SSIM inside a mask, for training and for learning a character.

The same measure as the evaluation's `evaluate.metrics.ssim` (Wang et al. 2004: Gaussian
window 11 px, sigma 1.5, K1 0.01, K2 0.03, on the luma), written in torch so a loss can
ask for it: the evaluation's SSIM target is what the generator is judged on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

WINDOW, SIGMA = 11, 1.5
C1, C2 = 0.01 ** 2, 0.03 ** 2                    # for images in [0, 1]
LUMA = (0.299, 0.587, 0.114)                       # ITU-R BT.601, as cv2's RGB2GRAY


def _gaussian(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1, 1, WINDOW) normalised Gaussian taps."""
    x = torch.arange(WINDOW, device=device, dtype=dtype) - WINDOW // 2
    g = torch.exp(-x * x / (2 * SIGMA ** 2))
    return (g / g.sum()).view(1, 1, WINDOW)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> (N, 1, H, W) its BT.601 luma (`LUMA`)."""
    weights = torch.tensor(LUMA, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    return (rgb * weights).sum(1, keepdim=True)


def ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM (N, 1, H, W) of RGB images a, b (N, 3, H, W) in [0, 1], on the luma
    with reflected borders (as cv2.GaussianBlur)."""
    x, y = luma(a), luma(b)
    g = _gaussian(a.device, a.dtype)
    pad = WINDOW // 2

    def blur(z):
        z = F.conv2d(F.pad(z, (pad, pad, 0, 0), mode="reflect"), g.view(1, 1, 1, WINDOW))
        return F.conv2d(F.pad(z, (0, 0, pad, pad), mode="reflect"), g.view(1, 1, WINDOW, 1))

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    return ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2))


def masked_ssim(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of a, b (N, 3, H, W) in [0, 1] weighted by mask (N, 1, H, W) in [0, 1];
    a scalar (1 where the images agree)."""
    return (ssim_map(a, b) * mask).sum() / (mask.sum() + 1e-6)
