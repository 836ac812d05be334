"""The detail network's training (`models/detail.py`): a data set's full talking frames at
a high resolution (`dataset make --resolution 512 --full-frame-share 1`), each cut to the
networks' crop as the pipeline cuts it, scaled back, and asked to be the frame again.

Data: every `FRAME_STEP`-th frame of each clip, the square around its crop box (the
pipeline's boxes, `crop_boxes` of the neutral keypoints) grown by `MARGIN` box sides each
way, kept at the frame's pixels. Clips are held out by name: every `HELD_OUT_EVERY`-th
clip of the split (sorted), never trained on.

A sample: the patch shrunk by a random factor (so the box is 0.5-1 times its rendered side:
crops scaled 1x to 5x), cut to the S px crop, degraded as a generator's drawing is (a
Gaussian blur of up to `BLUR_MAX` crop px; half of the time the pipeline's unsharp mask),
scaled back (`uncrop`, bicubic), and a `WINDOW` px square of it about the mouth, inside the
crop box where the box is that wide. Loss: the squared error against the patch itself,
inside the box (it learns the edges sooner than L1, whose flat pixels' noise drowns them),
at a learning rate falling as a cosine to 5 % of --lr (`sync.cosine_lr`). Held-out measures
over the same windows (no degradation but the cut): L1, and the mouth's sharpness
(`evaluate.metrics.sharpness`) over the frame's, of the scaled crop and of the network's
output.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from ..dataset.reader import read_manifest
from ..errors import InputError
from ..evaluate.metrics import sharpness
from ..models.detail import MODEL, DetailConfig, DetailNet, load_detail
from ..pipeline.crop import CROP_UP_SHIFT, crop, crop_boxes, uncrop
from ..pipeline.finish import SHARPEN_AMOUNT, SHARPEN_SIGMA
from ..preprocess.keypoints import KeypointTrack
from .loop import RunConfig
from .sync import cosine_lr

SIZE = 64             # the networks' crop side (px) the detail is restored from
FRAME_STEP = 2        # every this-many-th frame of a clip is used
MARGIN = 0.1          # the patch: the crop box grown by this many box sides each way
HELD_OUT_EVERY = 8    # every this-many-th clip (sorted by name) is held out
WINDOW = 64           # trained on squares of this many frame px about the mouth
SHRINK = (0.5, 1.0)   # the patch is shrunk by a factor in this range
BLUR_MAX = 1.0        # Gaussian blur sigma of the cut crop, up to this many crop px
EVAL_SAMPLES = 64     # held-out windows measured


def _patches(folder: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(patch (L, L, 3) uint8, crop box in patch px (4,)) of every FRAME_STEP-th talking
    frame of clip `folder` whose mouth is visible."""
    frames = np.load(folder / "frames.npz")["talking"]
    track = KeypointTrack.load(folder / "keypoints_neutral.npz")
    visible = track.visible[:, 0].all(axis=1)
    boxes = crop_boxes(track.points[:, 0], visible)
    h, w = frames.shape[1:3]
    out = []
    for i in np.flatnonzero(visible)[::FRAME_STEP]:
        box = boxes[i]
        grow = MARGIN * float(box[2] - box[0])
        x0, y0 = int(np.floor(box[0] - grow)), int(np.floor(box[1] - grow))
        side = int(np.ceil(box[2] - box[0] + 2 * grow))
        pad = max(0, -x0, -y0, x0 + side - w, y0 + side - h)
        image = cv2.copyMakeBorder(frames[i], pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        patch = image[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side]
        out.append((np.ascontiguousarray(patch), box - np.array([x0, y0, x0, y0], np.float32)))
    return out


def degrade(patch: np.ndarray, box: np.ndarray, rng: np.random.Generator | None
            ) -> np.ndarray:
    """The patch (L, L, 3) uint8 cut to the SIZE px crop of `box` and scaled back, float32
    in [0, 1]; with `rng`, blurred (and half of the time sharpened) first as a generator's
    drawing is."""
    low = crop(patch, box, SIZE).astype(np.float32) / 255
    if rng is not None:
        sigma = rng.uniform(0, BLUR_MAX)
        if sigma > 0.2:
            low = cv2.GaussianBlur(low, (0, 0), sigma)
        if rng.random() < 0.5:         # the pipeline's unsharp mask (`finish.sharpen`)
            blurred = cv2.GaussianBlur(low, (0, 0), SHARPEN_SIGMA * SIZE)
            low = np.clip(low + SHARPEN_AMOUNT * (low - blurred), 0, 1)
    side = patch.shape[0]
    return np.clip(uncrop(low, box, (0, 0, side, side)), 0, 1)


def sample(patch: np.ndarray, box: np.ndarray, rng: np.random.Generator,
           shrink: float, train: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(input (3, W, W), target (3, W, W), inside (W, W), scale) of one window about the
    mouth; `inside`: 1 within the crop box (the pixels the pipeline draws), 0 outside."""
    side, box_side = patch.shape[0], float(box[2] - box[0])
    shrink = min(1.0, max(shrink, (WINDOW + 2) / box_side))
    new = max(WINDOW, int(round(side * shrink)))
    if new != side:
        patch = cv2.resize(patch, (new, new), interpolation=cv2.INTER_AREA)
        box = box * (new / side)
        box_side = float(box[2] - box[0])
    made = degrade(patch, box, rng if train else None)
    cx = (box[0] + box[2]) / 2 + rng.uniform(-0.2, 0.2) * box_side
    cy = (box[1] + box[3]) / 2 + (CROP_UP_SHIFT + rng.uniform(-0.2, 0.2)) * box_side

    def place(centre, low, high):             # inside the box when it is wide enough
        lo, hi = int(np.ceil(low)), int(np.floor(high)) - WINDOW
        lo, hi = (lo, hi) if hi >= lo else (0, new - WINDOW)
        return int(np.clip(round(centre - WINDOW / 2), max(lo, 0), min(hi, new - WINDOW)))

    x0, y0 = place(cx, box[0], box[2]), place(cy, box[1], box[3])
    window = np.s_[y0:y0 + WINDOW, x0:x0 + WINDOW]
    ys, xs = np.mgrid[y0:y0 + WINDOW, x0:x0 + WINDOW]
    inside = ((xs >= box[0]) & (xs < box[2]) & (ys >= box[1]) & (ys < box[3]))
    target = patch[window].astype(np.float32) / 255
    return (made[window].transpose(2, 0, 1), target.transpose(2, 0, 1),
            inside.astype(np.float32), box_side / SIZE)


def _inside_mean(error: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """Mean of `error` (N, 3, W, W) over the pixels `inside` (N, 1, W, W) marks."""
    return (error * inside).sum() / (3 * inside.sum()).clamp_min(1)


class DetailStage:
    name = MODEL

    def __init__(self, run: RunConfig, device: torch.device,
                 config: DetailConfig = DetailConfig()):
        self.device, self.run, self.config = device, run, config
        data = Path(run.data)
        records = sorted((r for r in read_manifest(data) if r["split"] == "train"
                          and (data / r["clip_id"] / "frames.npz").exists()),
                         key=lambda r: r["clip_id"])
        if run.max_clips:
            records = records[:run.max_clips]
        held = {r["clip_id"] for r in records[::HELD_OUT_EVERY]}
        if len(records) < 2:
            raise InputError(f"'{data}' has {len(records)} training clips with full frames; "
                             "the detail network needs at least 2 (dataset make "
                             "--resolution 512 --full-frame-share 1)")
        self.train_patches = [p for r in records if r["clip_id"] not in held
                              for p in _patches(data / r["clip_id"])]
        self.held_patches = [p for r in records if r["clip_id"] in held
                             for p in _patches(data / r["clip_id"])]
        self.held_out = sorted(held)
        self.model = DetailNet(config).to(device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=run.lr,
                                           weight_decay=1e-4)

    @property
    def data_text(self) -> str:
        return (f"the talking frames of `{self.run.data}`: {len(self.train_patches)} mouth "
                f"patches; held out: clips {', '.join(self.held_out)} "
                f"({len(self.held_patches)} patches)")

    def state(self) -> dict:
        return {"model": self.model, "optimizer": self.optimizer}

    def _batch(self, patches, rng, count: int, train: bool):
        rows = [sample(*patches[int(rng.integers(len(patches)))], rng,
                       rng.uniform(*SHRINK), train) for _ in range(count)]
        made, target, inside, scale = zip(*rows)
        return (torch.from_numpy(np.stack(made)).to(self.device),
                torch.from_numpy(np.stack(target)).to(self.device),
                torch.from_numpy(np.stack(inside))[:, None].to(self.device),
                torch.tensor(scale, dtype=torch.float32, device=self.device))

    def train_step(self, rng: np.random.Generator, step: int) -> dict[str, float]:
        self.model.train()
        made, target, inside, scale = self._batch(self.train_patches, rng, self.run.batch,
                                                  True)
        for group in self.optimizer.param_groups:
            group["lr"] = cosine_lr(self.run.lr, step, self.run.steps)
        out = self.model(made, scale)
        loss = _inside_mean((out - target) ** 2, inside)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"mse": loss.item(), "l1": _inside_mean((out - target).abs(), inside).item()}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        rng = np.random.default_rng(1234)
        made, target, inside, scale = self._batch(self.held_patches, rng, EVAL_SAMPLES,
                                                  False)
        out = self.model(made, scale)

        def u8(x):
            return (x.permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)

        where = inside[:, 0].cpu().numpy() > 0
        truth_sharp = sharpness(u8(target), where)
        return {"l1_scaled": _inside_mean((made - target).abs(), inside).item(),
                "l1": _inside_mean((out - target).abs(), inside).item(),
                "sharpness_scaled": sharpness(u8(made), where) / truth_sharp,
                "sharpness": sharpness(u8(out), where) / truth_sharp}

    def export(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu() for k, v in self.model.state_dict().items()}

    def metadata(self) -> dict[str, str]:
        return {"model": self.name, "config": json.dumps(self.config.to_dict())}

    def load(self, path) -> None:
        self.model.load_state_dict(load_detail(path).state_dict())
