"""A warping generator of scale 2 (its parts at twice the crop side, `GeneratorConfig.scale`):
the outer level starts as the inner head upsampled, a run grown from a generator of scale 1
trains that level alone on crops cut from the full frames, and the data and the bend serve
the larger crops."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from lipsync.core.errors import InputError
from lipsync.core.models.generator import Generator, GeneratorConfig, load_generator
from lipsync.core.models.weights import load_weights, save_weights
from lipsync.core.train.generator import GeneratorStage
from lipsync.core.train.loop import RunConfig, run_stage


def _inputs(n: int = 2, size: int = 64, generator: Generator | None = None):
    torch.manual_seed(1)
    return (torch.rand(n, 4, size, size), torch.rand(n, 1, size, size),
            torch.rand(n, 3, size, size), torch.randn(n, 64), torch.randn(n, 64))


def test_a_scale_2_generator_starts_as_its_inner_head_upsampled():
    """With the inner weights of a scale-1 generator and a fresh outer level, the raw parts
    at 2S are the scale-1 head's bilinearly upsampled; the outer level needs the reference
    at 2S, and only a warping head may have one."""
    torch.manual_seed(0)
    small = Generator(GeneratorConfig(output="warp")).eval()
    large = Generator(GeneratorConfig(output="warp", scale=2)).eval()
    missing = large.load_state_dict(small.state_dict(), strict=False).missing_keys
    assert missing and all(k.split(".")[0] in Generator.OUTER for k in missing)
    assert len(large.outer_parameters()) > 0 and small.outer_parameters() == []
    inputs = _inputs()
    reference_large = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        raw_small = small.raw(*inputs)[0]
        raw_large = large.raw(*inputs, None, reference_large)[0]
        parts = large.parts(*inputs, None, reference_large)
    expected = nn.functional.interpolate(raw_small, size=(128, 128), mode="bilinear",
                                         align_corners=False)
    assert raw_large.shape == (2, 6, 128, 128)
    assert torch.allclose(raw_large, expected, atol=1e-6)
    assert parts.flow.shape == (2, 2, 128, 128) and parts.blend.shape == (2, 1, 128, 128)
    with pytest.raises(ValueError, match="pass reference_large"):
        large.raw(*inputs)
    with pytest.raises(ValueError, match="scale must be 1, or 2 for a warping head"):
        GeneratorConfig(scale=2)


def _warp_file(path, scale: int = 1) -> None:
    torch.manual_seed(0)
    network = Generator(GeneratorConfig(output="warp", scale=scale))
    save_weights(path, dict(network.state_dict()),
                 {"model": "generator", "config": json.dumps(network.config.to_dict())})


@pytest.mark.slow
def test_a_generator_grown_to_scale_2_trains_its_outer_level_alone(tiny_data, tmp_path,
                                                                    recording):
    """--scale 2 --init (scale 1): batches carry the crops at 2S cut from the full frames,
    every inner weight and statistic stays as it was, the outer level learns, and the file
    says scale 2 and that only the outer level learnt; a scale-2 file will not go on at
    scale 1."""
    small = tmp_path / "small.safetensors"
    _warp_file(small)
    config = GeneratorConfig(output="warp", scale=2)
    seen: list = []

    class Watching(GeneratorStage):
        def generate(self, batch):
            if self.generator.training:
                seen.append({k: v.shape for k, v in batch.items()})
            return super().generate(batch)

    outputs: list = []
    run = RunConfig(data=str(tiny_data), out=str(tmp_path / "g"), steps=3, batch=4, lr=1e-2,
                    eval_every=100)
    run_stage(recording(Watching, outputs, config=config, init=small, bend=1.0), run)
    shapes = seen[0]
    assert shapes["target_large"][-2:] == (128, 128) and shapes["target"][-2:] == (64, 64)
    assert shapes["reference_large"][1:] == (3, 128, 128)
    assert shapes["mask_large"][-3:] == (1, 128, 128)
    assert all(torch.isfinite(torch.tensor(o["recon"])) for o in outputs)
    before, _ = load_weights(small)
    after, meta = load_weights(tmp_path / "g" / "generator.safetensors")
    inner = [k for k in after if k.split(".")[0] not in Generator.OUTER]
    assert inner and all(torch.equal(before[k], after[k]) for k in inner)
    assert any(after[k].abs().max() > 0 for k in after if k.startswith("outer_head."))
    assert json.loads(meta["config"])["scale"] == 2 and meta["outer_level_only"] == "True"
    assert load_generator(tmp_path / "g" / "generator.safetensors").config.out_size == 128
    with pytest.raises(InputError, match="go on from it with --scale 2"):
        GeneratorStage(run, torch.device("cpu"), GeneratorConfig(output="warp"),
                       init=tmp_path / "g" / "generator.safetensors")
