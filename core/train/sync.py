"""Stage 1: train the sync expert alone (in-sync vs shifted pairs, binary cross-entropy)."""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from ..dataset.reader import ClipSet
from ..models.sync import SyncConfig, SyncExpert
from .loop import RunConfig

EVAL_SEED = 1234


class SyncStage:
    name = "sync"

    def __init__(self, run: RunConfig, device: torch.device, config: SyncConfig = SyncConfig(),
                 eval_split: str = "val"):
        self.device, self.run, self.config = device, run, config
        self.train_set = ClipSet(run.data, "train", config.size, run.max_clips)
        self.eval_set = ClipSet(run.data, eval_split, config.size, run.max_clips)
        self.model = SyncExpert(config).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=run.lr)
        self.loss = nn.BCEWithLogitsLoss()

    def state(self) -> dict:
        return {"model": self.model, "optimizer": self.optimizer}

    def _tensors(self, batch: dict) -> tuple[torch.Tensor, ...]:
        return tuple(torch.from_numpy(batch[k]).to(self.device)
                     for k in ("visual", "audio", "label"))

    def train_step(self, rng: np.random.Generator, step: int) -> dict[str, float]:
        self.model.train()
        visual, audio, label = self._tensors(self.train_set.sync_batch(rng, self.run.batch))
        logits = self.model(visual, audio)
        loss = self.loss(logits, label)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        accuracy = ((logits > 0).float() == label).float().mean()
        return {"loss": loss.item(), "accuracy": accuracy.item()}

    @torch.no_grad()
    def evaluate(self, clip_set: ClipSet | None = None) -> dict[str, float]:
        """Held-out accuracy on in-sync vs shifted (>= 3 frames) pairs, fixed draws."""
        clip_set = clip_set or self.eval_set
        self.model.eval()
        rng = np.random.default_rng(EVAL_SEED)
        losses, hits, in_sync, off_sync = [], [], [], []
        for _ in range(self.run.eval_batches):
            visual, audio, label = self._tensors(clip_set.sync_batch(rng, self.run.batch))
            logits = self.model(visual, audio)
            losses.append(float(self.loss(logits, label)))
            hits.append(((logits > 0).float() == label).float().cpu().numpy())
            prob = torch.sigmoid(logits).cpu().numpy()
            in_sync.extend(prob[label.cpu().numpy() == 1])
            off_sync.extend(prob[label.cpu().numpy() == 0])
        return {"loss": float(np.mean(losses)), "accuracy": float(np.concatenate(hits).mean()),
                "mean_p_in_sync": float(np.mean(in_sync)),
                "mean_p_off_sync": float(np.mean(off_sync)),
                "pairs": int(len(in_sync) + len(off_sync))}

    def export(self) -> dict[str, torch.Tensor]:
        return dict(self.model.state_dict())

    def metadata(self) -> dict[str, str]:
        return {"model": "sync", "config": json.dumps(self.config.to_dict())}

    def load(self, path) -> None:
        """Put trained weights (a safetensors file) into the model."""
        from ..models.weights import load_model_weights

        tensors, _ = load_model_weights(path, "sync")
        self.model.load_state_dict(tensors)


def load_sync_expert(path, device: torch.device = torch.device("cpu")) -> SyncExpert:
    """A shipped/trained sync expert from its safetensors file, in eval mode."""
    from ..models.weights import load_model_weights

    tensors, config = load_model_weights(path, "sync")
    model = SyncExpert(SyncConfig(**config))
    model.load_state_dict(tensors)
    return model.to(device).eval()
