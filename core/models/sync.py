"""The feature extraction subnetwork (sync expert), SyncNet-style.

Visual branch: the mouth window (`SyncConfig.window`, the lower middle of the face crop) of
a group of G consecutive frames' step-S20 passes (mouth blur picture RGB +
gradient map), stacked frame-major as (B, 4G, S, S). Audio branch: the MFCC window of the
same moment, (B, 1, M, W) (`SyncConfig.audio`: G = group_frames, M = n_mfcc,
W = window_columns). Both end in L2-normalised embeddings (B, D); in-sync pairs
have a high cosine similarity, off-sync pairs a low one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..audio.frontend import FRONT_END, AudioFrontEnd
from .blocks import Residual, conv
from .config import check_front_end, check_size, config_from_dict, front_end_field

# The S20 mouth blur at its default strength (kernel 10 % of the face size) hides the mouth
# shape of a small crop: the networks read S20 passes made with a milder `blur_fraction`.


@dataclass(frozen=True)
class SyncConfig:
    size: int = 64          # visual input side S, px
    width: int = 32         # channels of the first stage
    embedding: int = 64     # embedding size D
    blur_fraction: float = 0.03  # S20 mouth blur kernel, fraction of the face size (see above)
    window: tuple[float, float, float, float] = (0.25, 1.0, 0.125, 0.875)  # rows top, bottom,
    # columns left, right read (the mouth), in crop sides: (16, 64, 8, 56) px at 64 px
    audio: AudioFrontEnd = FRONT_END  # the audio it reads (group_frames, n_mfcc, window_columns)

    def __post_init__(self) -> None:
        check_size(self.size, "sync expert")
        object.__setattr__(self, "window", tuple(float(v) for v in self.window))  # from JSON
        object.__setattr__(self, "audio", front_end_field(self.audio))

    def window_px(self) -> tuple[int, int, int, int]:
        """`window` in pixels of the `size` px crop: (top, bottom, left, right)."""
        return tuple(int(round(f * self.size)) for f in self.window)

    def to_dict(self) -> dict:
        return asdict(self)


class SyncExpert(nn.Module):
    """Per-frame mouth-shape features, then a temporal convolution over the group's frames;
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
            nn.Flatten(), nn.Linear(2 * w * config.audio.group_frames, d))
        self.audio = nn.Sequential(                               # (B, M, W) over time
            nn.Conv1d(config.audio.n_mfcc, 2 * w, 3, 1, 1), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.Conv1d(2 * w, 2 * w, 3, 2, 1), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.Conv1d(2 * w, 2 * w, 3, 2, 1), nn.BatchNorm1d(2 * w), nn.ReLU(inplace=True),
            nn.Flatten(), nn.Linear(2 * w * ((config.audio.window_columns + 3) // 4), d))
        self.logit_scale = nn.Parameter(torch.tensor(5.0))
        self.logit_bias = nn.Parameter(torch.tensor(-2.0))

    def embed_visual(self, visual: torch.Tensor) -> torch.Tensor:
        """(B, 4G, S, S) -> (B, D) unit vectors (from `config.window` of the crop)."""
        top, bottom, left, right = self.config.window_px()
        b, frames = visual.shape[0], self.config.audio.group_frames
        x = visual[..., top:bottom, left:right].unflatten(1, (frames, 4)).flatten(0, 1)
        per_frame = self.frame(x).unflatten(0, (b, frames)).transpose(1, 2)   # (B, 2w, F)
        return nn.functional.normalize(self.temporal(per_frame), dim=1)

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 1, M, W) -> (B, D) unit vectors."""
        return nn.functional.normalize(self.audio(audio[:, 0]), dim=1)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Logit (B,) that the pair is in sync."""
        cosine = (self.embed_visual(visual) * self.embed_audio(audio)).sum(dim=1)
        return self.logit_scale * cosine + self.logit_bias


def load_sync_expert(path, device: torch.device | str = "cpu") -> SyncExpert:
    """A trained sync expert from its safetensors file, on `device`, in eval mode;
    InputError when it reads other audio than `FRONT_END`."""
    from .weights import load_network

    def build(config: dict) -> SyncExpert:
        config = config_from_dict(SyncConfig, config, path)
        check_front_end(config.audio, path)
        return SyncExpert(config)

    return load_network(path, "sync", build, device)
