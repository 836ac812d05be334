"""The recolouring augmentation of generator samples (`core.train.recolour`), on a
synthetic sample: a red mouth on yellow skin, every image of the sample alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lipsync.core.errors import InputError
from lipsync.core.train.recolour import hue_turn, recolour

S, T = 16, 5
LUMA = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)


def _sample(batch: int = 3) -> dict[str, torch.Tensor]:
    image = torch.empty(3, S, S)
    image[:] = torch.tensor([0.7, 0.6, 0.2]).view(3, 1, 1)        # yellow skin
    image[:, 6:10, 4:12] = torch.tensor([0.6, 0.15, 0.15]).view(3, 1, 1)  # a red mouth
    passes = torch.cat([image, torch.rand(1, S, S)])               # blurred RGB + gradient

    def frames(x, n=T):
        return x.expand(batch, n, *x.shape).clone()
    large = torch.nn.functional.interpolate(image[None], scale_factor=2.0)[0]
    return {"passes": frames(passes, T + 4), "input": frames(image), "target": frames(image),
            "reference": image.expand(batch, 3, S, S).clone(),
            "input_large": frames(large), "reference_large": large.expand(batch, 3, 2 * S,
                                                                          2 * S).clone(),
            "mask": torch.ones(batch, T, 1, S, S)}


def test_a_turn_keeps_luma_and_grey_and_a_full_turn_is_none():
    rgb = torch.rand(3, 8, 8, dtype=torch.float64)
    turned = torch.einsum("ij,jhw->ihw", hue_turn(2.0), rgb)
    assert torch.allclose((LUMA.double() * turned).sum(0), (LUMA.double() * rgb).sum(0))
    grey = torch.full((3, 1, 1), 0.4, dtype=torch.float64)
    assert torch.allclose(torch.einsum("ij,jhw->ihw", hue_turn(1.0), grey), grey)
    assert torch.allclose(hue_turn(2 * np.pi), torch.eye(3, dtype=torch.float64))
    assert not torch.allclose(hue_turn(np.pi / 2), torch.eye(3, dtype=torch.float64))


def test_a_recoloured_sample_turns_every_image_alike_and_keeps_the_gradient_pass():
    batch = _sample()
    out = recolour(np.random.default_rng(0), batch, 1.0)
    for i in range(3):
        first = out["input"][i, 0]
        assert not torch.allclose(first, batch["input"][i, 0], atol=0.02)   # turned
        for key in ("input", "target"):
            assert torch.allclose(out[key][i], first.expand(T, -1, -1, -1))
        assert torch.allclose(out["reference"][i], first)
        assert torch.allclose(out["passes"][i, :, :3], first.expand(T + 4, -1, -1, -1))
        assert torch.equal(out["passes"][i, :, 3], batch["passes"][i, :, 3])
        small = torch.nn.functional.avg_pool2d(out["reference_large"][i][None], 2)[0]
        assert torch.allclose(small, first, atol=1e-6)           # the large crops alike
        # the skin's luma stays where the turn does not clip it
        assert torch.allclose((LUMA * out["input"][i, 0]).sum(0)[0, 0],
                              (LUMA * batch["input"][i, 0]).sum(0)[0, 0], atol=0.03)
    # each sample its own angle
    assert not torch.allclose(out["input"][0, 0], out["input"][1, 0], atol=0.02)
    assert torch.equal(out["mask"], batch["mask"])
    assert torch.equal(batch["input"], _sample()["input"])            # the batch untouched


def test_share_zero_leaves_the_batch_and_a_bad_share_is_refused():
    batch = _sample()
    assert recolour(np.random.default_rng(0), batch, 0.0) is batch
    with pytest.raises(InputError, match="--recolour"):
        recolour(np.random.default_rng(0), batch, 1.5)
