"""The feature extraction subnetwork (sync expert), SyncNet-style.

Visual branch: the mouth window (`SyncConfig.window`, the lower middle of the face crop) of
a group of 5 consecutive frames' step-S20 passes (mouth blur picture RGB +
gradient map), stacked frame-major as (B, 20, S, S). Audio branch: the MFCC window of the
same moment, (B, 1, 13, 20). Both end in L2-normalised embeddings (B, D); in-sync pairs
have a high cosine similarity, off-sync pairs a low one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .blocks import Residual, conv

# The S20 mouth blur at its default strength (kernel 10 % of the face size) hides the mouth
# shape of a 64 px crop completely: trained on such passes the expert stays at chance (offset
# pick loss ln 5 after 750 steps), on passes blurred with a 3 % kernel it learns at once.
# The networks therefore read S20 passes made with `blur_fraction` 0.03.


@dataclass(frozen=True)
class SyncConfig:
    size: int = 64          # visual input side, px
    frames: int = 5         # frames per group
    width: int = 32         # channels of the first stage
    embedding: int = 64     # embedding size D
    audio_window: int = 20  # MFCC columns (10 ms each) per window
    blur_fraction: float = 0.03  # S20 mouth blur kernel, fraction of the face size (see below)
    window: tuple[int, int, int, int] = (16, 64, 8, 56)  # rows, columns read: the mouth

    def __post_init__(self) -> None:
        object.__setattr__(self, "window", tuple(int(v) for v in self.window))  # from JSON

    def to_dict(self) -> dict:
        return asdict(self)


class SyncExpert(nn.Module):
    """Per-frame mouth-shape features, then a temporal convolution over the 5 frames;
    the audio branch convolves the MFCC columns over time. Both end in unit vectors."""

    def __init__(self, config: SyncConfig = SyncConfig()):
        super().__init__()
        self.config = config
        w, d = config.width, config.embedding
        self.frame = nn.Sequential(                               # one frame's 4 passes
            conv(4, w // 2, 2), conv(w // 2, w, 2), Residual(w),
            conv(w, 2 * w, 2), Residual(2 * w), conv(2 * w, 2 * w, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())                 # (B*frames, 2w)
        self.temporal = nn.Sequential(
            nn.Conv1d(2 * w, 2 * w, 3, 1, 1), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.Conv1d(2 * w, 2 * w, 3, 1, 1), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.Flatten(), nn.Linear(2 * w * config.frames, d))
        self.audio = nn.Sequential(                               # (B, 13, T) over time
            nn.Conv1d(13, 2 * w, 3, 1, 1), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.Conv1d(2 * w, 2 * w, 3, 2, 1), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.Conv1d(2 * w, 2 * w, 3, 2, 1), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.Flatten(), nn.Linear(2 * w * ((config.audio_window + 3) // 4), d))
        self.logit_scale = nn.Parameter(torch.tensor(5.0))
        self.logit_bias = nn.Parameter(torch.tensor(-2.0))

    def embed_visual(self, visual: torch.Tensor) -> torch.Tensor:
        """(B, 4*frames, S, S) -> (B, D) unit vectors (from `config.window` of the crop)."""
        top, bottom, left, right = self.config.window
        b, frames = visual.shape[0], self.config.frames
        x = visual[..., top:bottom, left:right].unflatten(1, (frames, 4)).flatten(0, 1)
        per_frame = self.frame(x).unflatten(0, (b, frames)).transpose(1, 2)   # (B, 2w, F)
        return nn.functional.normalize(self.temporal(per_frame), dim=1)

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, T) -> (B, D) unit vectors."""
        return nn.functional.normalize(self.audio(audio[:, 0]), dim=1)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Logit (B,) that the pair is in sync."""
        cosine = (self.embed_visual(visual) * self.embed_audio(audio)).sum(dim=1)
        return self.logit_scale * cosine + self.logit_bias
