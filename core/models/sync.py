"""The feature extraction subnetwork (sync expert), SyncNet-style.

Visual branch: a group of 5 consecutive frames' step-S20 passes (mouth blur picture RGB +
gradient map), stacked frame-major as (B, 20, S, S). Audio branch: the MFCC window of the
same moment, (B, 1, 13, 20). Both end in L2-normalised embeddings (B, D); in-sync pairs
have a high cosine similarity, off-sync pairs a low one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .blocks import Residual, conv


@dataclass(frozen=True)
class SyncConfig:
    size: int = 64          # visual input side, px
    frames: int = 5         # frames per group
    width: int = 32         # channels of the first stage
    embedding: int = 64     # embedding size D

    def to_dict(self) -> dict:
        return asdict(self)


class SyncExpert(nn.Module):
    def __init__(self, config: SyncConfig = SyncConfig()):
        super().__init__()
        self.config = config
        w, d = config.width, config.embedding
        self.visual = nn.Sequential(
            conv(4 * config.frames, w), conv(w, w, 2),            # S/2
            Residual(w), conv(w, 2 * w, 2),                       # S/4
            Residual(2 * w), conv(2 * w, 4 * w, 2),               # S/8
            Residual(4 * w), conv(4 * w, 4 * w, 2),               # S/16
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, d))
        self.audio = nn.Sequential(
            conv(1, w), conv(w, 2 * w, (1, 2)),                   # 13 x 10
            Residual(2 * w), conv(2 * w, 4 * w, 2),               # 7 x 5
            Residual(4 * w), conv(4 * w, 4 * w, 2),               # 4 x 3
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, d))
        self.logit_scale = nn.Parameter(torch.tensor(5.0))
        self.logit_bias = nn.Parameter(torch.tensor(-2.0))

    def embed_visual(self, visual: torch.Tensor) -> torch.Tensor:
        """(B, 4*frames, S, S) -> (B, D) unit vectors."""
        return nn.functional.normalize(self.visual(visual), dim=1)

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, T) -> (B, D) unit vectors."""
        return nn.functional.normalize(self.audio(audio), dim=1)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Logit (B,) that the pair is in sync."""
        cosine = (self.embed_visual(visual) * self.embed_audio(audio)).sum(dim=1)
        return self.logit_scale * cosine + self.logit_bias
