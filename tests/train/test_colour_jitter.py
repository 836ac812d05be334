"""The generator's colour jitter (`core.train.colour`): one transform per sample, the same
on every image of it, nothing else touched; and a stage that uses it trains and says so."""

from __future__ import annotations

import numpy as np
import torch

from lipsync.core.dataset.reader import ClipSet
from lipsync.core.train.colour import IMAGE_KEYS, colour_jitter, colour_matrix
from lipsync.core.train.generator import GeneratorStage
from lipsync.core.train.loop import RunConfig


def test_each_sample_gets_one_transform_on_all_its_images(tiny_data):
    batch = ClipSet(tiny_data, "train").generator_batch(np.random.default_rng(0), 3)
    # every image of a sample the same picture, so the jitter must keep them equal;
    # samples 0 and 1 alike, so their jitters must part them
    for b, source in ((0, 0), (1, 0), (2, 2)):
        frame = batch["input"][source, 0].copy()
        batch["target"][b] = frame
        batch["input"][b] = frame
        batch["reference"][b] = frame
        batch["passes"][b, :, :3] = frame
    before = {k: v.copy() for k, v in batch.items()}
    out = colour_jitter(np.random.default_rng(1), batch)

    for k in before:                               # the batch given is not changed
        assert np.array_equal(batch[k], before[k])
        assert out[k].shape == before[k].shape and out[k].dtype == before[k].dtype
    for k in ("audio", "group_audio", "heatmap", "mask", "visemes"):
        assert np.array_equal(out[k], before[k])
    assert np.array_equal(out["passes"][:, :, 3], before["passes"][:, :, 3])   # the edges
    for b in range(3):
        for k in ("target", "reference"):
            assert np.allclose(out[k][b].reshape(-1, 3, 64, 64), out["input"][b, 0], atol=1e-6)
        assert np.allclose(out["passes"][b, :, :3], out["input"][b, 0], atol=1e-6)
    assert not np.allclose(out["input"][0], out["input"][1], atol=1e-3)
    change = [np.abs(out[k] - before[k]).mean() for k in IMAGE_KEYS]
    assert all(0.005 < c < 0.2 for c in change), change
    assert all(0 <= out[k].min() and out[k].max() <= 1 for k in IMAGE_KEYS)


def test_the_transform_turns_hue_about_the_grey_axis():
    """Without the gains, grey stays grey; the gains stay within their range."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        matrix, shift = colour_matrix(rng)
        gains = matrix.sum(axis=1)                 # the turn maps (1,1,1) onto itself
        assert np.all(np.abs(gains - 1) <= 0.15 + 1e-5)
        turn = matrix / gains[:, None]
        assert np.allclose(turn @ turn.T, np.eye(3), atol=1e-5)
        assert np.all(shift == shift[0]) and abs(shift[0]) <= 0.06


def test_a_stage_with_colour_jitter_trains_and_records_it(tiny_data, tmp_path):
    run = RunConfig(data=str(tiny_data), out=str(tmp_path), steps=2, batch=4, lr=1e-3,
                    eval_every=100)
    torch.manual_seed(0)
    stage = GeneratorStage(run, torch.device("cpu"), augment=True)
    losses = stage.train_step(np.random.default_rng(0), 1)
    assert all(np.isfinite(v) for v in losses.values())
    assert stage.metadata()["colour_jitter"] == "True"
    assert GeneratorStage(run, torch.device("cpu")).metadata()["colour_jitter"] == "False"
