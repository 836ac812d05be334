"""The bent-mouth augmentation of generator samples (`core.train.bend`), on a synthetic
sample: a straight lip line in a mouth region."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lipsync.core.errors import InputError
from lipsync.core.train.bend import bend, bend_field, check_share

S, T, ROW, LEFT, RIGHT = 64, 5, 40, 24, 40     # crop side, frames, the lips' row and corners


def _sample(batch: int = 2) -> dict[str, torch.Tensor]:
    """A batch whose every image is a dark horizontal lip line on grey, in a mouth region."""
    line = torch.full((S, S), 0.6)
    line[ROW - 1:ROW + 2, LEFT:RIGHT + 1] = 0.1
    heat = torch.zeros((S, S))
    heat[ROW - 1:ROW + 2, LEFT:RIGHT + 1] = 1.0
    mask = torch.zeros((S, S))
    mask[ROW - 12:ROW + 13, LEFT - 6:RIGHT + 7] = 1.0

    def frames(image, channels, n=T):
        return image.expand(batch, n, channels, S, S).clone()
    return {"passes": frames(line, 4, T + 4), "input": frames(line, 3), "target": frames(line, 3),
            "heatmap": frames(heat, 1), "mask": frames(mask, 1),
            "reference": line.expand(batch, 3, S, S).clone(),
            "visemes": torch.rand(batch, T, 7)}


def _line_rows(image: torch.Tensor) -> torch.Tensor:
    """The darkest row of each column (S,) of an (S, S) image."""
    return image.argmin(dim=0)


def test_a_bent_sample_curves_its_lips_the_same_in_every_image():
    batch = _sample()
    out = bend(np.random.default_rng(1), batch, 1.0)
    rows = _line_rows(out["input"][0, 0, 0])[LEFT:RIGHT + 1]
    assert rows.max() - rows.min() >= 2                      # the straight line now curves
    for key in ("target", "reference", "passes"):            # one bend for the whole sample
        image = out[key][0, 0, 0] if key != "reference" else out[key][0, 0]
        assert torch.allclose(image, out["input"][0, 0, 0], atol=1e-5), key
    assert torch.equal(out["visemes"], batch["visemes"])
    assert not torch.equal(out["input"][0], out["input"][1])   # each sample its own bend
    assert torch.equal(batch["input"], _sample()["input"])     # the batch given is untouched


def test_the_bend_keeps_the_mouth_in_place_and_the_rest_of_the_crop_still():
    batch = _sample(1)
    for seed in range(20):
        field = bend_field(np.random.default_rng(seed), batch["heatmap"][0, 0, 0],
                           batch["mask"][0, :, 0])
        assert abs(float(field[ROW, LEFT:RIGHT + 1].mean())) < 0.05     # zero mean across
        assert float(field[:ROW - 12 - 16].abs().max()) == 0            # far above: still
        assert float(field[:, :LEFT - 9].abs().max()) == 0             # a half-width past the corner
        assert float(field.abs().max()) < 0.5 * (RIGHT - LEFT)


def test_no_share_bends_nothing_and_a_share_outside_0_1_is_refused():
    batch = _sample()
    assert bend(np.random.default_rng(0), batch, 0.0) is batch
    for share in (-0.1, 1.5):
        with pytest.raises(InputError, match="share of samples from 0 to 1"):
            check_share(share)
    assert check_share(0.5) == 0.5


def test_the_crops_at_twice_the_side_take_the_same_bend():
    """A scale-2 generator's crops (`_large` keys, 2S) move by the same bend, upsampled: the
    bent large line, shrunk to S, lies where the bent model-size line lies."""
    batch = _sample(1)
    large = torch.nn.functional.interpolate(batch["input"][0], scale_factor=2, mode="nearest")
    batch["input_large"] = large[None]
    batch["mask_large"] = torch.nn.functional.interpolate(
        batch["mask"][0], scale_factor=2, mode="nearest")[None]
    out = bend(np.random.default_rng(3), batch, 1.0)
    assert out["input_large"].shape == (1, T, 3, 2 * S, 2 * S)
    shrunk = torch.nn.functional.avg_pool2d(out["input_large"][0, :1], 2)[0, 0]
    small = out["input"][0, 0, 0]
    rows_small = _line_rows(small)[LEFT:RIGHT + 1].float()
    rows_large = _line_rows(shrunk)[LEFT:RIGHT + 1].float()
    assert (rows_small.max() - rows_small.min()) >= 2
    assert float((rows_small - rows_large).abs().max()) <= 1
    assert not torch.equal(out["mask_large"], batch["mask_large"])
