"""Small building blocks shared by the networks (channels-first tensors)."""

from __future__ import annotations

import torch
from torch import nn


def conv(c_in: int, c_out: int, stride: int = 1, norm: bool = True) -> nn.Sequential:
    """3x3 convolution, batch norm (optional), ReLU."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """Two 3x3 convolutions with an identity skip: x + f(x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class Up(nn.Module):
    """x2 upsampling (nearest), concatenation with a skip, then a 3x3 conv block."""

    def __init__(self, c_in: int, c_skip: int, c_out: int):
        super().__init__()
        self.block = conv(c_in + c_skip, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, size=skip.shape[-2:], mode="nearest")
        return self.block(torch.cat([x, skip], dim=1))
