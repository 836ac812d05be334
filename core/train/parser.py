"""Stage 3: the face parser, trained on labels, then tuned on adjacent unlabelled frames.

Phase 1 (steps 1 .. steps - finetune_steps): cross-entropy on labelled talking crops.
Phase 2 (the last finetune_steps steps): a frozen copy of the phase-1 parser (the teacher)
gives pseudo labels p1, p2 for two adjacent frames of an unlabelled render (neutral, dub);
the parser is tuned with ``L = L1(f1 - f2) + w * (J1 + J2)``, f = its last decoder features,
J = cross-entropy against the pseudo label; a labelled cross-entropy term (weighted like J)
holds the mIoU.
Held-out metrics: mIoU, mouth IoU, flicker of the talking renders and on a still head,
before (the teacher) and after the fine-tune.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..dataset.reader import ClipSet
from ..errors import InputError
from ..models.config import config_from_dict
from ..models.parser import MOUTH_CLASSES, N_CLASSES, FaceParser, ParserConfig
from ..models.weights import load_model_weights
from .loop import RunConfig

EVAL_SEED = 1234
EVAL_BATCH = 32           # frames per forward pass when evaluating / segmenting
FINETUNE_SHARE = 0.25     # default share of the steps spent on the fine-tune
FINETUNE_LR_FACTOR = 0.2  # phase-2 learning rate = run.lr * this
# w of L = L1(f1 - f2) + w (J1 + J2 + J_labelled). The L1 of adjacent features is small
# but its gradient is not (sign / N per element): w = 1 leaves the L1 a small share of the
# update; w = 0.1 keeps the cross-entropies ahead while the L1 still steers.
FINETUNE_WEIGHT = 0.1
LABELLED_SHARE = 0.5      # phase 2: labelled crops per pair (J_labelled, holds the mIoU)
MAX_SHIFT = 2 / 64        # augmentation: largest integer shift, in crop sides
MIRRORED = np.array([0, 1, 3, 2, 5, 4, 6, 7, 8, 9, 10, 11])  # class of each class, mirrored
STILL_COPIES = 8          # still head: noisy copies of one frame
STILL_NOISE = 2 / 255     # still head: gaussian sigma, in [0, 1] units
STILL_SHIFT = 0.5 / 64    # still head: largest sub-pixel shift, in crop sides


class _Teacher(nn.Module):
    """The frozen phase-1 parser that makes the pseudo labels; `ready` is set when phase 2
    begins (a buffer, so a checkpoint carries it and resume stays in phase 2)."""

    def __init__(self, config: ParserConfig):
        super().__init__()
        self.net = FaceParser(config).requires_grad_(False).eval()
        self.register_buffer("ready", torch.zeros((), dtype=torch.bool))


class ParserStage:
    name = "parser"

    def __init__(self, run: RunConfig, device: torch.device,
                 config: ParserConfig = ParserConfig(), eval_split: str = "val",
                 finetune_steps: int | None = None):
        if finetune_steps is None:
            finetune_steps = min(max(1, round(run.steps * FINETUNE_SHARE)), run.steps - 1)
        if not 0 <= finetune_steps < run.steps:
            raise InputError(f"--finetune-steps must be from 0 to steps - 1 = {run.steps - 1} "
                             f"(the fine-tune is the last part of --steps), got {finetune_steps}")
        self.device, self.run, self.config = device, run, config
        self.finetune_steps = finetune_steps
        self.train_set = ClipSet(run.data, "train", config.size, run.max_clips)
        self.eval_set = ClipSet(run.data, eval_split, config.size, run.max_clips)
        self.model = FaceParser(config).to(device)
        self.teacher = _Teacher(config).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=run.lr)
        self.finetune_optimizer = torch.optim.Adam(self.model.parameters(),
                                                   lr=run.lr * FINETUNE_LR_FACTOR)
        self._before: dict[str, float] | None = None

    def state(self) -> dict:
        return {"model": self.model, "optimizer": self.optimizer, "teacher": self.teacher,
                "finetune_optimizer": self.finetune_optimizer}

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def train_step(self, rng: np.random.Generator, step: int) -> dict[str, float]:
        if step > self.run.steps - self.finetune_steps and not self.teacher.ready:
            self._begin_finetune()
        self.model.train()
        if self.teacher.ready:
            return self._finetune_step(rng)
        batch = self.train_set.parser_batch(rng, self.run.batch)
        images, labels = augment(rng, batch["image"], batch["labels"])
        logits, _ = self.model(self._tensor(images))
        loss = F.cross_entropy(logits, self._tensor(labels))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"ce": loss.item()}

    def _begin_finetune(self) -> None:
        """Freeze the phase-1 parser as the teacher and keep its held-out metrics."""
        self.teacher.net.load_state_dict(self.model.state_dict())
        self.teacher.ready.fill_(True)
        self._before = parser_metrics(self.teacher.net, self.eval_set)

    def _finetune_step(self, rng: np.random.Generator) -> dict[str, float]:
        """L1(f1 - f2) + w (J1 + J2 + J_labelled): an unlabelled adjacent pair with the
        teacher's labels, and labelled crops."""
        pairs = self.train_set.unlabelled_pairs(rng, self.run.batch)
        first, second = self._tensor(pairs["first"]), self._tensor(pairs["second"])
        b = first.shape[0]
        with torch.no_grad():
            pseudo = self.teacher.net(torch.cat([first, second]))[0].argmax(1)
        labelled = self.train_set.parser_batch(rng, max(1, round(b * LABELLED_SHARE)))
        images, labels = augment(rng, labelled["image"], labelled["labels"])
        logits, features = self.model(torch.cat([first, second, self._tensor(images)]))
        l1 = (features[:b] - features[b:2 * b]).abs().mean()
        j1 = F.cross_entropy(logits[:b], pseudo[:b])
        j2 = F.cross_entropy(logits[b:2 * b], pseudo[b:])
        ce = F.cross_entropy(logits[2 * b:], self._tensor(labels))
        loss = l1 + FINETUNE_WEIGHT * (j1 + j2 + ce)
        self.finetune_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.finetune_optimizer.step()
        return {"loss": loss.item(), "l1": l1.item(), "pseudo_ce": (j1 + j2).item() / 2,
                "ce": ce.item()}

    @torch.no_grad()
    def evaluate(self, clip_set: ClipSet | None = None) -> dict[str, float]:
        """`parser_metrics` of the parser; in phase 2 also those of the teacher as before_*."""
        clip_set = clip_set or self.eval_set
        metrics = parser_metrics(self.model, clip_set)
        if self.teacher.ready:
            if clip_set is self.eval_set and self._before is None:   # resumed in phase 2
                self._before = parser_metrics(self.teacher.net, clip_set)
            before = (self._before if clip_set is self.eval_set
                      else parser_metrics(self.teacher.net, clip_set))
            metrics.update({f"before_{k}": v for k, v in before.items() if k != "frames"})
        return metrics

    def export(self) -> dict[str, torch.Tensor]:
        return dict(self.model.state_dict())

    def metadata(self) -> dict[str, str]:
        return {"model": "parser", "config": json.dumps(self.config.to_dict()),
                "finetune_steps": str(self.finetune_steps),
                "finetune_weight": str(FINETUNE_WEIGHT)}

    def load(self, path) -> None:
        """Put trained weights (a safetensors file) into the model."""
        tensors, config = load_model_weights(path, "parser")
        if config_from_dict(ParserConfig, config, path) != self.config:
            raise InputError(f"weights file '{path}' is a parser with {config}, this stage "
                             f"uses {self.config.to_dict()}")
        self.model.load_state_dict(tensors)


def augment(rng: np.random.Generator, images: np.ndarray,
            labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: a colour gain per channel x0.7-1.3 (skin and lip colours vary widely),
    contrast x0.8-1.2 and brightness +-0.08 (clipped to [0, 1]), a mirror image half of
    the time (left and right brows and eyes swap labels), and an integer shift of up to
    MAX_SHIFT crop sides (edges repeated); the labels move with the image.

    images (B, 3, S, S) float32 in [0, 1], labels (B, S, S) int64 -> the same shapes.
    """
    b, s = images.shape[0], images.shape[-1]
    m = int(round(MAX_SHIFT * s))
    gain = rng.uniform(0.7, 1.3, (b, 3, 1, 1)).astype(np.float32)
    contrast = rng.uniform(0.8, 1.2, (b, 1, 1, 1)).astype(np.float32)
    brightness = rng.uniform(-0.08, 0.08, (b, 1, 1, 1)).astype(np.float32)
    images = images * gain
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    images = np.clip((images - mean) * contrast + mean + brightness, 0, 1)
    flip = rng.random(b) < 0.5
    images[flip] = images[flip, :, :, ::-1]
    labels = labels.copy()
    labels[flip] = MIRRORED[labels[flip, :, ::-1]]
    images = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)), mode="edge")
    labels = np.pad(labels, ((0, 0), (m, m), (m, m)), mode="edge")
    dy, dx = rng.integers(0, 2 * m + 1, (2, b))
    return (np.stack([images[i, :, dy[i]:dy[i] + s, dx[i]:dx[i] + s] for i in range(b)]),
            np.stack([labels[i, dy[i]:dy[i] + s, dx[i]:dx[i] + s] for i in range(b)]))


@torch.no_grad()
def _predict(model: FaceParser, images: np.ndarray) -> np.ndarray:
    """(N, 3, S, S) float32 in [0, 1] -> (N, S, S) uint8 labels (eval mode, in batches)."""
    model.eval()
    device = next(model.parameters()).device
    out = [model(torch.from_numpy(images[i:i + EVAL_BATCH]).to(device))[0].argmax(1)
           for i in range(0, len(images), EVAL_BATCH)]
    return torch.cat(out).to(torch.uint8).cpu().numpy()


def segment(model: FaceParser, images: np.ndarray) -> np.ndarray:
    """Part labels of face crops: (N, S, S, 3) uint8 RGB -> (N, S, S) uint8 classes.

    S must be the model's `config.size`; the model is put in eval mode.
    """
    size = model.config.size
    if images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise InputError(f"the parser takes (N, {size}, {size}, 3) crops, got {images.shape}")
    return _predict(model, images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)


def still_copies(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """STILL_COPIES copies of one (S, S, 3) uint8 frame, each moved by its own sub-pixel shift
    (<= STILL_SHIFT crop sides, bilinear) and gaussian noise (sigma STILL_NOISE):
    (STILL_COPIES, 3, S, S) float32 in [0, 1]."""
    picture = image.astype(np.float32) / 255.0
    s = image.shape[0]
    copies = []
    for _ in range(STILL_COPIES):
        dx, dy = rng.uniform(-STILL_SHIFT * s, STILL_SHIFT * s, 2)
        moved = cv2.warpAffine(picture, np.float32([[1, 0, dx], [0, 1, dy]]), (s, s),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        copies.append(moved + rng.normal(0, STILL_NOISE, moved.shape).astype(np.float32))
    return np.clip(np.stack(copies), 0, 1).transpose(0, 3, 1, 2)


def parser_metrics(model: FaceParser, clip_set: ClipSet) -> dict[str, float]:
    """Held-out metrics over every frame of the clips' talking renders (deterministic).

    miou: mean IoU over the classes present in the ground truth; mouth_iou: IoU of the
    union of MOUTH_CLASSES; accuracy: pixel accuracy; flicker / flicker_gt: share of pixels
    whose predicted / true label changes between adjacent frames; still_flicker: the same
    between STILL_COPIES noisy copies of each clip's first neutral frame (truth: 0).
    """
    rng = np.random.default_rng(EVAL_SEED)
    confusion = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    changed = changed_gt = pairs = still_changed = still_pairs = frames = 0
    for clip in clip_set.labelled:
        truth = clip.labels.astype(np.int64)
        pred = segment(model, clip.images["talking"]).astype(np.int64)
        confusion += np.bincount((truth * N_CLASSES + pred).ravel(),
                                 minlength=N_CLASSES ** 2).reshape(N_CLASSES, N_CLASSES)
        changed += int((pred[1:] != pred[:-1]).sum())
        changed_gt += int((truth[1:] != truth[:-1]).sum())
        pairs += truth[1:].size
        still = _predict(model, still_copies(clip.images["neutral"][0], rng))
        still_changed += int((still[1:] != still[:-1]).sum())
        still_pairs += still[1:].size
        frames += len(truth)
    inter = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - inter
    present = confusion.sum(1) > 0
    mouth = list(MOUTH_CLASSES)
    mouth_inter = confusion[np.ix_(mouth, mouth)].sum()
    mouth_union = confusion[mouth].sum() + confusion[:, mouth].sum() - mouth_inter
    return {"miou": float(np.mean(inter[present] / union[present])),
            "mouth_iou": float(mouth_inter / max(mouth_union, 1)),
            "accuracy": float(inter.sum() / confusion.sum()),
            "flicker": changed / max(pairs, 1), "flicker_gt": changed_gt / max(pairs, 1),
            "still_flicker": still_changed / max(still_pairs, 1), "frames": frames}
