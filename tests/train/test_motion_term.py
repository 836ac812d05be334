"""The generator's motion term: how far the mouth moves from the input, against the truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lipsync.core.errors import InputError


def test_amplitude_is_the_mouth_regions_mean_change_from_the_input():
    from lipsync.core.train.generator import _amplitude

    source = torch.zeros(1, 2, 3, 8, 8)
    frames = source.clone()
    frames[0, 1, :, 2:4, 2:4] = 0.5                  # frame 1 changes 4 mouth pixels
    frames[0, :, :, 6:, 6:] = 1.0                    # outside the mouth: not counted
    mask = torch.zeros(1, 2, 1, 8, 8)
    mask[..., :4, :4] = 1.0                          # a 16-pixel mouth region
    amp = _amplitude(frames, source, mask)
    assert amp.shape == (1, 2)
    np.testing.assert_allclose(amp.numpy(), [[0.0, 0.5 * 4 / 16]], rtol=1e-4)


@pytest.mark.slow
def test_generator_stage_adds_the_weighted_motion_term(tiny_data, tmp_path):
    from lipsync.core.train.generator import GeneratorStage
    from lipsync.core.train.loop import RunConfig

    run = RunConfig(data=str(tiny_data), out=str(tmp_path), steps=2, batch=4)
    with pytest.raises(InputError, match="motion weight"):
        GeneratorStage(run, torch.device("cpu"), motion_weight=-1)
    losses = {}
    for weight in (0.0, 3.0):
        torch.manual_seed(0)
        stage = GeneratorStage(run, torch.device("cpu"), motion_weight=weight)
        batch = stage._tensors(stage.train_set.generator_batch(np.random.default_rng(0), 1, None))
        with torch.no_grad():
            losses[weight] = stage._losses(batch, stage.generate(batch)[0])
        assert stage.metadata()["motion_weight"] == str(weight)
    assert float(losses[0.0]["motion"]) > 0         # an untrained generator moves otherwise
    assert float(losses[3.0]["total"] - losses[0.0]["total"]) == pytest.approx(
        3 * float(losses[0.0]["motion"]), rel=1e-4)
