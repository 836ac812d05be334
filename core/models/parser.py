"""The face parser (second source document): an encoder-decoder that segments a face crop.

Classes (`PART_CLASSES` of the factory): 0 background, 1 skin, 2/3 left/right brow,
4/5 left/right eye, 6 nose, 7 upper lip, 8 teeth, 9 lower lip, 10 hair, 11 mouth interior
and tongue. A small U-Net: (B, 3, S, S) -> logits (B, 12, S, S), and the last decoder
features (B, W, S, S) used by the adjacent-frame fine-tune's L1 term. It reads the RGB crop
only (no audio), so its config holds no audio front end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .blocks import Residual, Up, conv
from .config import check_size, config_from_dict

N_CLASSES = 12
CLASS_NAMES = ("background", "skin", "left brow", "right brow", "left eye", "right eye",
               "nose", "upper lip", "teeth", "lower lip", "hair", "mouth interior")
MOUTH_CLASSES = (7, 8, 9, 11)   # upper lip, teeth, lower lip, interior


@dataclass(frozen=True)
class ParserConfig:
    size: int = 64    # crop side S, px
    width: int = 24   # channels of the first stage

    def __post_init__(self) -> None:
        check_size(self.size, "parser")

    def to_dict(self) -> dict:
        return asdict(self)


class FaceParser(nn.Module):
    def __init__(self, config: ParserConfig = ParserConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.enc1 = conv(3, w)
        self.enc2 = conv(w, 2 * w, 2)
        self.enc3 = conv(2 * w, 4 * w, 2)
        self.enc4 = nn.Sequential(conv(4 * w, 6 * w, 2), Residual(6 * w))
        self.up3 = Up(6 * w, 4 * w, 4 * w)
        self.up2 = Up(4 * w, 2 * w, 2 * w)
        self.up1 = Up(2 * w, w, w)
        self.head = nn.Conv2d(w, N_CLASSES, 1)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) in [0, 1] -> (logits (B, 12, S, S), features (B, W, S, S))."""
        e1 = self.enc1(image * 2 - 1)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        x = self.enc4(e3)
        features = self.up1(self.up2(self.up3(x, e3), e2), e1)
        return self.head(features), features


def load_parser(path, device: torch.device | str = "cpu") -> FaceParser:
    """A trained face parser from its safetensors file, on `device`, in eval mode."""
    from .weights import load_network

    return load_network(path, "parser",
                        lambda c: FaceParser(config_from_dict(ParserConfig, c, path)), device)
