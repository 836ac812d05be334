"""The training SSIM: the evaluation's measure, differentiable, and wired into the
generator's loss."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from lipsync.core.errors import InputError
from lipsync.core.evaluate.metrics import ssim
from lipsync.core.models.ssim import masked_ssim


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]


def _pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured image, a blurred and shifted copy of it, and a mask of their middle."""
    rng = np.random.default_rng(0)
    a = cv2.GaussianBlur(rng.integers(0, 256, (48, 48, 3)).astype(np.uint8), (3, 3), 0.8)
    b = np.roll(cv2.GaussianBlur(a, (5, 5), 1.2), 1, axis=1)
    mask = np.zeros((48, 48), np.uint8)
    mask[12:36, 8:40] = 1
    return a, b, mask


def test_matches_the_evaluation_ssim():
    a, b, mask = _pair()
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    assert float(masked_ssim(_tensor(a), _tensor(b), m)) == pytest.approx(ssim(a, b, mask),
                                                                           abs=2e-3)
    assert float(masked_ssim(_tensor(a), _tensor(a), m)) == pytest.approx(1.0, abs=1e-5)


def test_gradient_ascent_raises_it():
    a, b, mask = _pair()
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    target, image = _tensor(a), _tensor(b).requires_grad_(True)
    before = masked_ssim(image, target, m).item()
    optimizer = torch.optim.Adam([image], lr=0.01)
    for _ in range(20):
        optimizer.zero_grad()
        (1 - masked_ssim(image, target, m)).backward()
        optimizer.step()
    assert masked_ssim(image, target, m).item() > before + 0.1


@pytest.mark.slow
def test_generator_stage_adds_the_weighted_term(tiny_data, tmp_path):
    from lipsync.core.train.generator import GeneratorStage
    from lipsync.core.train.loop import RunConfig

    run = RunConfig(data=str(tiny_data), out=str(tmp_path), steps=2, batch=4)
    with pytest.raises(InputError, match="SSIM weight"):
        GeneratorStage(run, torch.device("cpu"), ssim_weight=-1)
    totals = {}
    for weight in (0.0, 2.0):
        torch.manual_seed(0)
        stage = GeneratorStage(run, torch.device("cpu"), ssim_weight=weight)
        batch = stage.tensors(stage.train_set.generator_batch(np.random.default_rng(0), 1, None))
        with torch.no_grad():
            losses = stage._losses(batch, stage.generate(batch)[0])
        totals[weight] = losses
        assert stage.metadata()["ssim_weight"] == str(weight)
    assert 0 < float(totals[0.0]["ssim"]) < 1
    assert float(totals[2.0]["total"] - totals[0.0]["total"]) == pytest.approx(
        2 * float(totals[0.0]["ssim"]), rel=1e-4)
