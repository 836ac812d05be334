"""Stage 1: train the sync expert alone.

Loss per batch of B groups: binary cross-entropy on each group with its own audio (in sync)
and with K windows of the same clip's audio shifted by >= 3 frames (off sync), plus the
cross-entropy of picking the in-sync window among those K + 1 (an offset search, as the
LSE metrics do). Negatives come from the same clip, so voice and character cannot give
the answer away; only the timing can.

Options (off by default, the shipped expert's recipe): `cosine`, a learning rate falling
as a cosine from `run.lr` to 5 % of it over the run; `augment`, from the first quarter of
the run on, one random shift of up to `SHIFT` crop sides for a group's frames (crops from
keypoints wander) and a gain and offset on its blur pictures (lighting).
"""

from __future__ import annotations

import json
import math

import numpy as np
import torch
from torch import nn

from ..dataset.reader import ClipSet
from ..models.sync import SyncConfig, SyncExpert
from ..models.weights import load_model_weights
from ..preprocess.config import PreprocessConfig
from .loop import RunConfig

EVAL_SEED = 1234
SHIFT = 3 / 64          # largest shift of a training group, in crop sides
GAIN = (0.8, 1.2)       # blur picture gain range
OFFSET = 0.05           # blur picture offset range, +-
LR_FLOOR = 0.05         # the cosine schedule ends at this share of run.lr
AUGMENT_AFTER = 0.25    # augment from this share of the run on: it first learns on aligned
                        # crops, then learns to ignore where the crop sits


def cosine_lr(base: float, step: int, steps: int) -> float:
    """Learning rate at `step` (1-based) of `steps`: cosine from `base` to LR_FLOOR * base."""
    progress = (step - 1) / max(steps - 1, 1)
    return base * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress)))


def augment_groups(visual: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random shift (same for a group's frames, up to SHIFT crop sides, edges repeated) and
    blur-picture gain and offset per group. visual: (B, 4G, S, S) frame-major passes, RGB
    then gradient."""
    b, channels, size, _ = visual.shape
    reach = int(round(SHIFT * size))
    padded = nn.functional.pad(visual, [reach] * 4, mode="replicate")
    shifts = torch.randint(0, 2 * reach + 1, (b, 2), generator=generator)
    shifted = torch.stack([padded[i, :, y:y + size, x:x + size]
                           for i, (y, x) in enumerate(shifts.tolist())])
    gain = torch.empty(b, 1, 1, 1, 1).uniform_(*GAIN, generator=generator)
    offset = torch.empty(b, 1, 1, 1, 1).uniform_(-OFFSET, OFFSET, generator=generator)
    frames = shifted.unflatten(1, (channels // 4, 4))
    rgb = (frames[:, :, :3] * gain.to(visual.device) + offset.to(visual.device)).clamp(0, 1)
    return torch.cat([rgb, frames[:, :, 3:]], dim=2).flatten(1, 2)


class SyncStage:
    name = "sync"

    def __init__(self, run: RunConfig, device: torch.device, config: SyncConfig = SyncConfig(),
                 eval_split: str = "val", augment: bool = False, cosine: bool = False):
        self.device, self.run, self.config = device, run, config
        self.augment, self.cosine = augment, cosine
        passes = PreprocessConfig(blur_fraction=config.blur_fraction)
        self.train_set = ClipSet(run.data, "train", config.size, run.max_clips, config=passes,
                                 front_end=config.audio)
        self.eval_set = ClipSet(run.data, eval_split, config.size, run.max_clips, config=passes,
                                front_end=config.audio)
        self.model = SyncExpert(config).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=run.lr)
        self.loss = nn.BCEWithLogitsLoss()

    def state(self) -> dict:
        return {"model": self.model, "optimizer": self.optimizer}

    def _tensors(self, batch: dict) -> tuple[torch.Tensor, ...]:
        return tuple(torch.from_numpy(batch[k]).to(self.device)
                     for k in ("visual", "audio", "shifted"))

    def _pairs(self, batch: dict, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of the in-sync pairs (B,) and of the shifted pairs (B, K); the groups are
        augmented when a random `generator` is given."""
        visual, audio, shifted = self._tensors(batch)
        if generator is not None:
            visual = augment_groups(visual, generator)
        b, k = shifted.shape[:2]
        v = self.model.embed_visual(visual)
        a = self.model.embed_audio(torch.cat([audio, shifted.flatten(0, 1)]))
        a_sync, a_shift = a[:b], a[b:].unflatten(0, (b, k))
        scale, bias = self.model.logit_scale, self.model.logit_bias
        pos = scale * (v * a_sync).sum(dim=1) + bias
        neg = scale * (v[:, None] * a_shift).sum(dim=2) + bias
        return pos, neg

    def _loss(self, pos, neg) -> tuple[torch.Tensor, torch.Tensor]:
        """Binary cross-entropy (in-sync pairs and shifted pairs weighted equally) and the
        cross-entropy of picking the in-sync window among the K + 1 offsets."""
        bce = self.loss(pos, torch.ones_like(pos)) + self.loss(neg, torch.zeros_like(neg))
        offsets = torch.cat([pos[:, None], neg], dim=1)
        pick = nn.functional.cross_entropy(offsets, torch.zeros(len(pos), dtype=torch.long,
                                                                 device=pos.device))
        return bce, pick

    def train_step(self, rng: np.random.Generator, step: int) -> dict[str, float]:
        self.model.train()
        if self.cosine:
            for group in self.optimizer.param_groups:
                group["lr"] = cosine_lr(self.run.lr, step, self.run.steps)
        augment = None
        if self.augment and step > AUGMENT_AFTER * self.run.steps:
            augment = torch.Generator().manual_seed(int(rng.integers(2**31)))
        pos, neg = self._pairs(self.train_set.sync_batch(rng, self.run.batch), augment)
        bce, pick = self._loss(pos, neg)
        loss = bce + pick
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        accuracy = ((pos > 0).float().mean() + (neg <= 0).float().mean()) / 2
        return {"bce": bce.item(), "pick": pick.item(), "accuracy": accuracy.item()}

    @torch.no_grad()
    def evaluate(self, clip_set: ClipSet | None = None) -> dict[str, float]:
        """Held-out accuracy on in-sync vs shifted (>= 3 frames) pairs (each kind weighted
        half), fixed draws; the mean in-sync probability of each kind."""
        clip_set = clip_set or self.eval_set
        self.model.eval()
        rng = np.random.default_rng(EVAL_SEED)
        losses, pos_all, neg_all = [], [], []
        for _ in range(self.run.eval_batches):
            pos, neg = self._pairs(clip_set.sync_batch(rng, self.run.batch))
            losses.append(float(self._loss(pos, neg)[0]))
            pos_all.append(pos.cpu().numpy())
            neg_all.append(neg.cpu().numpy())
        pos, neg = np.concatenate(pos_all), np.concatenate(neg_all).ravel()
        sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
        return {"bce": float(np.mean(losses)),
                "accuracy": float(((pos > 0).mean() + (neg <= 0).mean()) / 2),
                "mean_p_in_sync": float(sigmoid(pos).mean()),
                "mean_p_off_sync": float(sigmoid(neg).mean()),
                "pairs": int(len(pos) + len(neg))}

    def export(self) -> dict[str, torch.Tensor]:
        return dict(self.model.state_dict())

    def metadata(self) -> dict[str, str]:
        return {"model": "sync", "config": json.dumps(self.config.to_dict())}

    def load(self, path) -> None:
        """Put trained weights (a safetensors file) into the model."""
        tensors, _ = load_model_weights(path, "sync")
        self.model.load_state_dict(tensors)
