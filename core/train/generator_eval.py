"""The generator stage's held-out measures of one clip (`GeneratorStage.evaluate`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..dataset.reader import Clip

if TYPE_CHECKING:
    from .generator import GeneratorStage

EVAL_SEED = 4321    # the reference frame of each held-out clip


def clip_measures(stage: GeneratorStage, clip: Clip, version: str) -> dict[str, float]:
    """One held-out clip's measures in one input version (`GeneratorStage.evaluate`):
    the output of whole groups of frames against the talking truth, at the size the
    generator draws."""
    rng = np.random.default_rng(EVAL_SEED)
    reference = int(rng.integers(0, clip.n_frames))
    out, truth, neutral, masks, sync_p, sync_truth, sync_input = [], [], [], [], [], [], []
    half = stage.group // 2
    for first in range(half, clip.n_frames - stage.group - 1, stage.group):
        sample = stage.train_set.generator_sample(clip, version, first, reference)
        batch = stage.tensors({k: v[None] for k, v in sample.items()})
        frames, _ = stage.generate(batch)
        for name, images, store in (("out", frames, sync_p),
                                    ("truth", batch[stage.at_out("target")], sync_truth),
                                    ("input", batch[stage.at_out("input")], sync_input)):
            logit = stage.sync_logit(images, batch["mask"], batch["group_audio"])
            store.append(float(torch.sigmoid(logit)[0]))
        out.append(frames[0].cpu().numpy())
        truth.append(sample[stage.at_out("target")])
        neutral.append(np.stack([clip.image("neutral", t, stage.config.scale == 2)
                                 for t in range(first, first + stage.group)]))
        masks.append(sample[stage.at_out("mask")])
    out, truth, neutral, masks = (np.concatenate(x) for x in (out, truth, neutral, masks))
    weight = masks.sum(axis=(1, 2, 3)) * 3 + 1e-6                     # (N,)
    err = (np.abs(out - truth) * masks).sum(axis=(1, 2, 3)) / weight
    mse = (((out - truth) ** 2) * masks).sum(axis=(1, 2, 3)) / weight
    away_out = (np.abs(out - neutral) * masks).sum(axis=(1, 2, 3)) / weight
    away_truth = (np.abs(truth - neutral) * masks).sum(axis=(1, 2, 3)) / weight
    both = masks[1:] * masks[:-1]
    flicker = (np.abs(np.diff(out, axis=0)) * both).sum() / (3 * both.sum() + 1e-6)
    flicker_truth = (np.abs(np.diff(truth, axis=0)) * both).sum() / (3 * both.sum() + 1e-6)
    corr = (float(np.corrcoef(away_out, away_truth)[0, 1])
            if away_out.std() > 1e-6 and away_truth.std() > 1e-6 else float("nan"))
    return {"mouth_l1": float(err.mean()),
            "mouth_psnr": float(np.mean(10 * np.log10(1.0 / np.maximum(mse, 1e-10)))),
            "sync_p": float(np.mean(sync_p)), "sync_p_truth": float(np.mean(sync_truth)),
            "sync_p_input": float(np.mean(sync_input)), "motion_corr": corr,
            "motion": float(away_out.mean() / max(float(away_truth.mean()), 1e-6)),
            "flicker": float(flicker), "flicker_truth": float(flicker_truth)}
