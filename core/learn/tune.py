"""Fine-tune the generator on one speaker's or character's own samples (`Footage`).

The shipped generator is the start; its batch-norm statistics stay frozen (a few hundred
crops of one face would skew them) and every weight learns, for at most `steps` steps or
`minutes` minutes, minimising

    L1 (whole crop) + MOUTH_WEIGHT * L1 (mouth region) + SSIM_WEIGHT * (1 - SSIM) (mouth)

of the composited output against the frame itself (a generator of scale 2 composes its
crop at twice the side from the reference cut there, then shrunk to the side). The last
`HOLDOUT` of the visible frames (a run of them at the end of the shot) is never learnt
from: the mouth region's SSIM and L1 there, before and after, say what learning gained
(`LearnResult`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..models.generator import Generator, composite, select_inputs
from ..models.ssim import masked_ssim
from ..pipeline.models import LipSyncModels
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from .footage import Footage

MOUTH_WEIGHT = 4.0       # as the generator's training
SSIM_WEIGHT = 2.0        # as the shipped generator's last rounds
HOLDOUT = 0.15           # share of the visible frames kept for the before/after measure
LEARNING_RATE = 5e-5
BATCH = 8                # frames a step


@dataclass
class LearnResult:
    """What a learning run did and measured (held-out frames: mouth region vs the frame)."""

    steps: int
    seconds: float
    train_frames: int
    heldout_frames: int
    before: dict[str, float] = field(default_factory=dict)   # ssim, l1 of the general model
    after: dict[str, float] = field(default_factory=dict)    # of the learnt one
    baseline: dict[str, float] = field(default_factory=dict)  # of the input as it is (renders
                                                              # only: the rest render)

    def to_dict(self) -> dict:
        out = {"steps": self.steps, "seconds": round(self.seconds, 1),
               "train_frames": self.train_frames, "heldout_frames": self.heldout_frames,
               "heldout_before": self.before, "heldout_after": self.after}
        if self.baseline:
            out["heldout_input"] = self.baseline
        return out


def split_rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows) of n samples: the last HOLDOUT share (>= 1) held out."""
    held = max(1, int(round(n * HOLDOUT)))
    return np.arange(n - held), np.arange(n - held, n)


class Tuner:
    """A copy of `models.generator` learning `footage` (the models themselves unchanged)."""

    def __init__(self, models: LipSyncModels, footage: Footage, seed: int = 0):
        self.models, self.footage = models, footage
        self.device = models.device
        self.generator: Generator = copy.deepcopy(models.generator).to(self.device).eval()
        for p in self.generator.parameters():
            p.requires_grad_(True)
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=LEARNING_RATE)
        self.train_rows, self.heldout_rows = split_rows(len(footage))
        self.rng = np.random.default_rng(seed)
        self.steps = 0

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def output(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(output composited over the input, target, mask) of samples `rows`:
        (N,3,S,S) x2, (N,1,S,S)."""
        f = self.footage
        crops, mask = self._tensor(f.inputs[rows]), self._tensor(f.masks[rows])
        with torch.no_grad():
            visual = self.models.sync.embed_visual(self._tensor(f.groups(rows)))
            audio = self.models.sync.embed_audio(self._tensor(f.audio[rows]))
        source, heat = select_inputs(self.generator.config.inputs,
                                     self._tensor(f.passes[f.frames[rows]]),
                                     self._tensor(f.heatmaps[rows]), crops)
        reference = self._tensor(f.reference)[None].expand(len(rows), -1, -1, -1)
        visemes = self._tensor(f.visemes[rows]) if self.generator.config.visemes else None
        large = (None if f.reference_large is None else
                 self._tensor(f.reference_large)[None].expand(len(rows), -1, -1, -1))
        made = self.generator(source, heat, reference, visual, audio, visemes,
                              reference_large=large)
        if large is not None:           # a scale-2 generator's crop, learnt at the crops' side
            made = nn.functional.adaptive_avg_pool2d(made, crops.shape[-2:])
        return composite(made, crops, mask), self._tensor(f.crops[rows]), mask

    def step(self) -> float:
        """One step on BATCH training frames; the loss."""
        rows = self.rng.choice(self.train_rows, size=min(BATCH, len(self.train_rows)),
                               replace=False)
        out, target, mask = self.output(rows)
        l1 = (out - target).abs()
        loss = (l1.mean() + MOUTH_WEIGHT * (l1 * mask).sum() / (3 * mask.sum() + 1e-6)
                + SSIM_WEIGHT * (1 - masked_ssim(out, target, mask)))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.steps += 1
        return loss.item()

    @torch.no_grad()
    def measure(self, as_input: bool = False) -> dict[str, float]:
        """Mouth-region SSIM, L1 (0-1 units) and motion (mean |output - input| over mean
        |target - input|: 1 moves as much as the target) of the output (`as_input`: of
        the input crops as they are, the do-nothing baseline) on the held-out frames."""
        ssims, l1s, moved, wanted = [], [], 0.0, 0.0
        f = self.footage
        for start in range(0, len(self.heldout_rows), BATCH):
            rows = self.heldout_rows[start:start + BATCH]
            source = self._tensor(f.inputs[rows])
            if as_input:
                out, target, mask = source, self._tensor(f.crops[rows]), self._tensor(f.masks[rows])
            else:
                out, target, mask = self.output(rows)
            ssims.append(float(masked_ssim(out, target, mask)) * len(rows))
            l1s.append(float(((out - target).abs() * mask).sum() / (3 * mask.sum() + 1e-6))
                       * len(rows))
            moved += float(((out - source).abs() * mask).sum())
            wanted += float(((target - source).abs() * mask).sum())
        n = len(self.heldout_rows)
        return {"ssim": round(sum(ssims) / n, 4), "l1": round(sum(l1s) / n, 5),
                "motion": round(moved / wanted, 3) if wanted > 0 else float("nan")}


def learn(models: LipSyncModels, footage: Footage, steps: int, minutes: float | None = None,
          progress: ProgressFn = no_progress, should_cancel: CancelFn = never_cancel,
          seed: int = 0) -> tuple[Generator, LearnResult]:
    """The generator learnt on `footage` for `steps` steps (fewer when `minutes` run out)
    and what it measured; raises Cancelled when `should_cancel` says so."""
    tuner = Tuner(models, footage, seed)
    before = tuner.measure()
    begun = time.perf_counter()
    for k in range(steps):
        check_cancel(should_cancel)
        loss = tuner.step()
        progress(k + 1, steps, f"learning: step {k + 1}/{steps}, loss {loss:.3f}")
        if minutes is not None and time.perf_counter() - begun > 60 * minutes:
            break
    baseline = {} if footage.inputs is footage.crops else tuner.measure(as_input=True)
    result = LearnResult(tuner.steps, time.perf_counter() - begun, len(tuner.train_rows),
                         len(tuner.heldout_rows), before, tuner.measure(), baseline)
    return tuner.generator.eval(), result
