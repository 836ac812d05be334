"""The detail network: a generated mouth's colour, scaled up from the model-size crop to
the frame's pixels, given back the sharp edges of a render.

A generator draws an S x S px crop (64); the pipeline scales what it draws to the mouth's
size in the frame (`pipeline.crop.uncrop`, bicubic: 2 to 5 times on 512 px to 1080p frames),
which leaves every edge as wide as that factor: even the talking truth itself, cut to 64 px
and scaled back, keeps a fifth to a third of its mouth's sharpness. This network reads the
scaled colour at the frame's resolution, with the scale (frame px per crop px, over
`SCALE_UNIT`) as a fourth channel, and adds a residual: dilated 3x3 convolutions over 2 x 2
pixel blocks, `DetailNet.reach` px of context each side of a pixel, as wide as a 5x edge.
It is trained on renders at 512 px (`core/train/detail.py`), the frame cut to S px and
scaled back being its input and the frame its target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .config import config_from_dict
from .weights import load_network

MODEL = "detail"    # the model name its weights files carry
SCALE_UNIT = 4.0    # the scale channel is (frame px per crop px) / this


@dataclass(frozen=True)
class DetailConfig:
    width: int = 32                                    # channels of every layer
    dilations: tuple[int, ...] = (1, 2, 4, 2, 1)       # one 3x3 convolution each

    def __post_init__(self) -> None:
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))

    def to_dict(self) -> dict:
        return asdict(self)


class DetailNet(nn.Module):
    """(N, 3, H, W) scaled-up colour in [0, 1] and scale (N,) frame px per crop px ->
    (N, 3, H, W) in [0, 1], the same colour with a render's edges. The layers work on
    2 x 2 blocks of pixels (`PixelUnshuffle`): a quarter of the cost, twice the reach."""

    def __init__(self, config: DetailConfig = DetailConfig()):
        super().__init__()
        self.config = config
        w = config.width
        layers: list[nn.Module] = [nn.PixelUnshuffle(2), nn.Conv2d(16, w, 3, padding=1),
                                   nn.ReLU()]
        for d in config.dilations:
            layers += [nn.Conv2d(w, w, 3, padding=d, dilation=d), nn.ReLU()]
        layers += [nn.Conv2d(w, 12, 3, padding=1), nn.PixelShuffle(2)]
        self.body = nn.Sequential(*layers)

    @property
    def reach(self) -> int:
        """How far (frame px) a pixel's output sees each side: 2 px per block pixel."""
        return 2 * (2 + sum(self.config.dilations))

    def forward(self, colour: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        h, w = colour.shape[-2:]
        padded = nn.functional.pad(colour, (0, w % 2, 0, h % 2), mode="replicate")
        level = (scale.to(colour.dtype) / SCALE_UNIT).view(-1, 1, 1, 1)
        x = torch.cat([padded * 2 - 1, level.expand(-1, 1, *padded.shape[-2:])], dim=1)
        return (colour + self.body(x)[..., :h, :w]).clamp(0, 1)


@torch.no_grad()
def add_detail(net: DetailNet, colour: np.ndarray, scale: float) -> np.ndarray:
    """(h, w, 3) float32 scaled-up colour in [0, 1], at `scale` frame px per crop px ->
    the same with the network's detail, (h, w, 3) float32 in [0, 1]."""
    device = next(net.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(colour.transpose(2, 0, 1)))[None].to(device)
    out = net(x.float(), torch.tensor([scale], device=device))
    return out[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)


def load_detail(path, device: torch.device | str = "cpu") -> DetailNet:
    """The detail network of weights file `path`, on `device`, in eval mode."""
    return load_network(path, MODEL, lambda c: DetailNet(config_from_dict(DetailConfig, c, path)),
                        device)


__all__ = ["MODEL", "SCALE_UNIT", "DetailConfig", "DetailNet", "add_detail", "load_detail"]
