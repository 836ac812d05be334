"""The sync expert and generator stages on the tiny data set: networks, batches, a few
training steps whose loss falls, export, loading, resume; and the weights file format."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from lipsync.core.audio import FRONT_END
from lipsync.core.dataset.reader import ClipSet
from lipsync.core.errors import InputError
from lipsync.core.models.generator import Discriminator, Generator, GeneratorConfig
from lipsync.core.models.passes import SoftPasses
from lipsync.core.models.generator import load_generator
from lipsync.core.models.sync import SyncConfig, SyncExpert, load_sync_expert
from lipsync.core.models.weights import load_weights, save_weights
from lipsync.core.train.generator import GeneratorStage
from lipsync.core.train.loop import RunConfig, run_stage
from lipsync.core.train.sync import SyncStage

pytestmark = [pytest.mark.slow]
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


def _all_grads(model: torch.nn.Module, loss: torch.Tensor) -> None:
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_sync_expert_shapes_and_gradients():
    torch.manual_seed(0)
    model = SyncExpert(SyncConfig())
    visual, audio = torch.rand(3, 20, 64, 64), torch.randn(3, 1, 13, FRONT_END.window_columns)
    assert model.embed_visual(visual).shape == (3, 64)
    assert torch.allclose(model.embed_audio(audio).norm(dim=1), torch.ones(3))
    logits = model(visual, audio)
    assert logits.shape == (3,)
    _all_grads(model, torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.tensor([1.0, 0.0, 1.0])))


def test_generator_and_discriminator_shapes_and_gradients():
    torch.manual_seed(0)
    gen, disc = Generator(GeneratorConfig()), Discriminator()
    out = gen(torch.rand(2, 4, 64, 64), torch.rand(2, 1, 64, 64), torch.rand(2, 3, 64, 64),
              torch.randn(2, 64), torch.randn(2, 64))
    assert out.shape == (2, 3, 64, 64) and 0 <= out.min().item() and out.max().item() <= 1
    _all_grads(gen, (out * torch.randn_like(out)).mean())
    logits = disc(torch.rand(2, 3, 64, 64))
    assert logits.shape == (2, 1, 8, 8)
    _all_grads(disc, logits.mean())


def test_soft_passes_gradient_matches_the_s20_gradient_map():
    """The differentiable passes use the S20 kernels: a flat image has no gradient, an edge
    does, and outside the mask the picture is the image itself."""
    from lipsync.core.preprocess.config import PreprocessConfig
    from lipsync.core.preprocess.gradient import gradient_map

    image = np.zeros((64, 64, 3), np.float32)
    image[:, 32:] = 0.8
    passes = SoftPasses(64)(torch.from_numpy(image).permute(2, 0, 1)[None],
                          torch.zeros(1, 1, 64, 64))[0].numpy()
    np.testing.assert_allclose(passes[:3].transpose(1, 2, 0), image)
    expected = gradient_map(image, PreprocessConfig())
    np.testing.assert_allclose(passes[3], expected, atol=1e-4)


def test_weights_round_trip_and_bad_files(tmp_path):
    tensors = {"a": torch.randn(3, 4), "b": torch.arange(5)}
    save_weights(tmp_path / "w.safetensors", tensors, {"model": "x", "config": "{}"})
    back, meta = load_weights(tmp_path / "w.safetensors")
    assert meta == {"model": "x", "config": "{}"}
    for key in tensors:
        assert torch.equal(back[key], tensors[key])
    with pytest.raises(InputError, match="missing"):
        load_weights(tmp_path / "nothing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(InputError, match="corrupt"):
        load_weights(tmp_path / "bad.safetensors")


def test_batches_have_the_documented_shapes(tiny_data):
    clips = ClipSet(tiny_data, "train")
    rng = np.random.default_rng(0)
    sync = clips.sync_batch(rng, 4)
    assert sync["visual"].shape == (4, 20, 64, 64) and sync["audio"].shape == (4, 1, 13, 20)
    assert sync["shifted"].shape == (4, 4, 1, 13, 20)
    gen = clips.generator_batch(rng, 2)
    assert gen["passes"].shape == (2, 9, 4, 64, 64)
    assert gen["audio"].shape == (2, 5, 1, 13, 20) and gen["group_audio"].shape == (2, 1, 13, 20)
    for key in ("heatmap", "mask"):
        assert gen[key].shape == (2, 5, 1, 64, 64)
    for key in ("input", "target"):
        assert gen[key].shape == (2, 5, 3, 64, 64)
    assert gen["reference"].shape == (2, 3, 64, 64)
    assert all(v.dtype == np.float32 for v in gen.values())
    with pytest.raises(InputError, match="no clips in split"):
        ClipSet(tiny_data, "nonexistent")


def test_sync_then_generator_train_export_and_resume(tiny_data, tmp_path, recording):
    losses: list = []
    run = RunConfig(data=str(tiny_data), out=str(tmp_path), steps=40, batch=8, lr=2e-3,
                    eval_every=1000, eval_batches=2)
    record = run_stage(recording(SyncStage, losses), run, log=lambda _: None)
    first = np.mean([x["bce"] + x["pick"] for x in losses[:8]])
    last = np.mean([x["bce"] + x["pick"] for x in losses[-8:]])
    assert last < first, (first, last)
    assert 0 <= record["heldout"]["accuracy"] <= 1
    expert = load_sync_expert(tmp_path / "sync.safetensors")
    assert isinstance(expert, SyncExpert) and not expert.training
    meta = load_weights(tmp_path / "sync.safetensors")[1]
    assert meta["card"] == "sync.md" and "accuracy" in meta["metrics"]
    assert "judge of LSE-D" in meta["intended_use"] and "64 px" in meta["limitations"]
    assert "License: GPL-3.0-or-later" in (tmp_path / "sync.md").read_text()

    losses.clear()
    gen_run = RunConfig(data=str(tiny_data), out=str(tmp_path), steps=12, batch=8, lr=2e-3,
                        eval_every=1000)
    record = run_stage(recording(GeneratorStage, losses,
                                      sync_weights=tmp_path / "sync.safetensors",
                                      finetune_steps=2), gen_run, log=lambda _: None)
    assert np.mean([x["recon"] for x in losses[-3:]]) < np.mean([x["recon"] for x in losses[:3]])
    assert "temporal" in losses[-1] and "temporal" not in losses[0]
    metrics = record["heldout"]
    for key in ("neutral_mouth_l1", "neutral_sync_p", "neutral_motion_corr", "before_neutral_flicker"):
        assert key in metrics
    generator = load_generator(tmp_path / "generator.safetensors")
    assert isinstance(generator, Generator)
    before = load_generator(tmp_path / "generator" / "before_finetune.safetensors")
    assert any(not torch.equal(a, b) for a, b in zip(before.state_dict().values(),
                                                      generator.state_dict().values()))

    with pytest.raises(InputError, match="--resume"):
        run_stage(recording(GeneratorStage, [], sync_weights=tmp_path / "sync.safetensors",
                                 finetune_steps=2), gen_run, log=lambda _: None)
    losses.clear()
    more = RunConfig(**{**gen_run.to_dict(), "steps": 14, "resume": True})
    run_stage(recording(GeneratorStage, losses, sync_weights=tmp_path / "sync.safetensors",
                             finetune_steps=2), more, log=lambda _: None)
    assert len(losses) == 2


def test_train_command_line_sync(tiny_data, tmp_path):
    out = subprocess.run([sys.executable, "-m", "lipsync", "train", "sync", "--data",
                          str(tiny_data), "--out", str(tmp_path), "--steps", "3", "--batch", "4",
                          "--device", "cpu"], capture_output=True, text=True, env=ONE_THREAD,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout[:out.stdout.rindex("}") + 1])["steps"] == 3
    assert (tmp_path / "sync.safetensors").exists() and (tmp_path / "sync.json").exists()
    bad = subprocess.run([sys.executable, "-m", "lipsync", "train", "sync", "--data",
                          str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, env=ONE_THREAD, timeout=300)
    assert bad.returncode == 2 and "manifest" in bad.stderr


@pytest.mark.parametrize("command", [["train", "--help"], ["dataset", "make", "--help"],
                                     ["dataset", "show", "--help"], ["preprocess", "--help"]])
def test_command_help_prints(command):
    out = subprocess.run([sys.executable, "-m", "lipsync", *command], capture_output=True,
                         text=True, env=ONE_THREAD, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


def test_every_ablation_variant_trains_and_is_reported(tiny_data, tmp_path):
    import torch

    from lipsync.core.models.generator import INPUT_VARIANTS, select_inputs
    from lipsync.core.train.ablation import format_table, run_ablation
    from lipsync.core.train.loop import RunConfig

    frame = torch.rand(1, 3, 64, 64)
    source, heat = select_inputs("masked", torch.rand(1, 4, 64, 64), torch.rand(1, 1, 64, 64),
                                 frame)
    assert source[:, :, 32:].abs().sum() == 0 and torch.equal(source[:, :3, :32], frame[:, :, :32])
    assert heat.abs().sum() == 0
    run = RunConfig(data=str(tiny_data), out=str(tmp_path), steps=2, batch=4, lr=2e-4,
                    device="cpu", eval_every=1)
    summary = run_ablation(run, log=lambda m: None)
    assert set(summary["variants"]) == set(INPUT_VARIANTS)
    assert all(isinstance(r["neutral_mouth_psnr"], float) for r in summary["variants"].values())
    assert (tmp_path / "ablation.json").exists() and format_table(summary).count("\n") == 5


def test_sync_learning_rate_schedule_and_augmentation():
    from lipsync.core.train.sync import LR_FLOOR, SHIFT, augment_groups, cosine_lr

    assert cosine_lr(1e-3, 1, 100) == pytest.approx(1e-3)
    assert cosine_lr(1e-3, 100, 100) == pytest.approx(LR_FLOOR * 1e-3)
    assert cosine_lr(1e-3, 30, 100) > cosine_lr(1e-3, 70, 100)
    visual = torch.rand(6, 20, 64, 64)
    reach = round(SHIFT * 64)
    assert reach == 3
    out = augment_groups(visual, torch.Generator().manual_seed(0))
    assert out.shape == visual.shape and 0 <= out.min() and out.max() <= 1
    for i in range(6):
        # the gradient maps are shifted, not scaled, and all 5 frames of a group alike
        found = {min(((out[i, c, 4:-4, 4:-4] - visual[i, c, 4 + dy:60 + dy, 4 + dx:60 + dx])
                      .abs().mean().item(), dy, dx)
                     for dy in range(-reach, reach + 1)
                     for dx in range(-reach, reach + 1)) for c in (3, 7, 19)}
        assert len({(dy, dx) for _, dy, dx in found}) == 1 and max(e for e, _, _ in found) == 0
    assert not torch.equal(out[:, :3], visual[:, :3]), "the blur pictures get a gain"


def test_generator_can_start_from_trained_weights(tiny_data, tmp_path):
    from lipsync.core.models import shipped

    run = RunConfig(data=str(tiny_data), out=str(tmp_path), steps=2, batch=4)
    warping = GeneratorConfig(output="warp", visemes=7, scale=2)   # the shipped generator's
    stage = GeneratorStage(run, torch.device("cpu"), warping, init=shipped("generator"))
    shipped_weights = load_weights(shipped("generator"))[0]
    for name, value in stage.generator.state_dict().items():
        assert torch.equal(value, shipped_weights[name]), name
    with pytest.raises(InputError, match="not 'generator'"):
        GeneratorStage(run, torch.device("cpu"), warping, init=shipped("parser"))
    with pytest.raises(InputError, match="is a warping generator: go on from it with --output"):
        GeneratorStage(run, torch.device("cpu"), init=shipped("generator"))
    with pytest.raises(InputError, match="reads viseme weights: go on from it with --visemes"):
        GeneratorStage(run, torch.device("cpu"), GeneratorConfig(output="warp"),
                       init=shipped("generator"))


def _rgb_generator(path) -> None:
    """A freshly initialised RGB generator's weights file at `path`."""
    torch.manual_seed(0)
    network = Generator(GeneratorConfig())
    save_weights(path, dict(network.state_dict()),
                 {"model": "generator", "config": json.dumps(network.config.to_dict())})


def test_a_warping_generator_grows_from_an_rgb_one_and_trains_its_flow_and_blend(
        tiny_data, tmp_path, recording):
    """--output warp --init RGB: the colour channels keep the RGB head, the flow starts at
    rest; training reports the flow's roughness and the drawn share, and the blend prior
    lowers the drawn share against a run without it."""
    from lipsync.core.models.warp import BLEND_BIAS

    rgb = tmp_path / "rgb.safetensors"
    _rgb_generator(rgb)
    config = GeneratorConfig(output="warp")
    run = RunConfig(data=str(tiny_data), out=str(tmp_path / "a"), steps=6, batch=4, lr=1e-3,
                    eval_every=100)
    stage = GeneratorStage(run, torch.device("cpu"), config, init=rgb)
    head = load_weights(rgb)[0]
    state = stage.generator.state_dict()
    assert torch.equal(state["head.weight"][:3], head["head.weight"])
    assert float(state["head.weight"][3:5].abs().max()) == 0
    assert float(state["head.bias"][5]) == BLEND_BIAS
    drawn = {w: _warp_run(tiny_data, tmp_path / f"w{w}", recording, rgb, blend_weight=w)
             for w in (0.0, 50.0)}
    assert {"flow", "drawn"} <= set(drawn[0.0][0])
    assert drawn[50.0][-1]["drawn"] < drawn[0.0][-1]["drawn"]
    assert load_generator(tmp_path / "w50.0" / "generator.safetensors").warps


def _warp_run(tiny_data, out, recording, rgb, **weights) -> list[dict]:
    """The losses each step of a 6-step warping run grown from `rgb` reports."""
    outputs: list = []
    run_stage(recording(GeneratorStage, outputs, config=GeneratorConfig(output="warp"),
                        init=rgb, **weights),
              RunConfig(data=str(tiny_data), out=str(out), steps=6, batch=4, lr=1e-3,
                        eval_every=100))
    return outputs


def test_the_colour_weight_brings_the_drawn_colour_to_the_truth_where_it_shows(
        tiny_data, tmp_path, recording):
    """--colour-weight: training reports the drawn colour's own error where it shows, and
    the weight lowers it against a run without; a negative weight is refused."""
    rgb = tmp_path / "rgb.safetensors"
    _rgb_generator(rgb)
    wrong = {w: _warp_run(tiny_data, tmp_path / f"c{w}", recording, rgb, colour_weight=w)
             for w in (0.0, 50.0)}
    assert wrong[50.0][-1]["colour"] < wrong[0.0][-1]["colour"]
    with pytest.raises(InputError, match="colour weights must be >= 0"):
        GeneratorStage(RunConfig(data=str(tiny_data), out=str(tmp_path / "bad"), steps=1),
                       torch.device("cpu"), GeneratorConfig(output="warp"), colour_weight=-1.0)


def test_generator_input_mix_picks_the_input_render_and_refuses_bad_mixes(tiny_data, tmp_path):
    """With {"neutral": 1} every input is the neutral render, with {"talking": 1} the target
    itself; a training step draws its batch with the stage's mix."""
    from lipsync.core.train.cli import _input_mix
    from lipsync.core.train.generator import check_input_mix

    clips = ClipSet(tiny_data, "train")
    for version, same_as_target in (("neutral", False), ("talking", True)):
        batch = clips.generator_batch(np.random.default_rng(0), 3, {version: 1.0})
        assert np.array_equal(batch["input"], batch["target"]) == same_as_target
    assert _input_mix("neutral=0.75, dub=0.25") == {"neutral": 0.75, "dub": 0.25}
    for bad in ({"neutral": 0.0}, {"mouth": 1.0}, {"dub": -1.0}, {}):
        with pytest.raises(InputError, match="input mix"):
            check_input_mix(bad)
    run = RunConfig(data=str(tiny_data), out=str(tmp_path), steps=2, batch=4)
    stage = GeneratorStage(run, torch.device("cpu"), input_mix={"talking": 1.0})
    drawn = []
    original = stage.train_set.generator_batch
    stage.train_set.generator_batch = lambda rng, n, mix: drawn.append(mix) or original(rng, n, mix)
    stage.train_step(np.random.default_rng(0), 1)
    assert drawn == [{"talking": 1.0}]
    assert json.loads(stage.metadata()["input_mix"]) == {"talking": 1.0}, "the weights say"


def test_generator_fine_tune_steady_term_asks_only_still_pairs_and_ignores_scale():
    """"steady": a pair whose truth mouth changes does not count, and shrinking every
    feature does not lower the term; "features" (the shipped reading) counts every pair."""
    from types import SimpleNamespace

    torch.manual_seed(0)
    features = torch.randn(1, 3, 8, 4, 4)
    mask = torch.ones(1, 3, 1, 16, 16)
    target = torch.zeros(1, 3, 3, 16, 16)
    target[:, 2] = 0.5                                   # the truth moves from frame 1 to 2
    steady = SimpleNamespace(temporal="steady")
    term = GeneratorStage.temporal_term(steady, features, target, mask)
    first_pair_only = (features[:, 1] - features[:, 0]).abs().mean() / features.abs().mean() / 2
    assert term.item() == pytest.approx(first_pair_only.item(), rel=1e-4)
    assert GeneratorStage.temporal_term(steady, features * 0.1, target, mask).item() == \
        pytest.approx(term.item(), rel=1e-4)
    plain = GeneratorStage.temporal_term(SimpleNamespace(temporal="features"), features,
                                         target, mask)
    assert plain.item() == pytest.approx((features[:, 1:] - features[:, :-1]).abs().mean().item())
    assert GeneratorStage.temporal_term(SimpleNamespace(temporal="features"), features * 0.1,
                                        target, mask).item() < plain.item()


def test_a_generator_grows_to_read_viseme_weights_and_learns_from_them(tiny_data, tmp_path,
                                                                       recording):
    """--visemes --init a generator that reads none: the condition's new columns start at
    0 (the same output as that generator), the batches carry the clips' driven weights, a
    few steps make the output depend on them, and the file says it reads them."""
    from lipsync.core.models.generator import VISEME_COUNT

    deaf = tmp_path / "deaf.safetensors"                 # a warping generator reading none
    torch.manual_seed(0)
    network = Generator(GeneratorConfig(output="warp"))
    save_weights(deaf, dict(network.state_dict()),
                 {"model": "generator", "config": json.dumps(network.config.to_dict())})
    config = GeneratorConfig(output="warp", visemes=VISEME_COUNT)
    run = RunConfig(data=str(tiny_data), out=str(tmp_path / "v"), steps=8, batch=4, lr=1e-3,
                    eval_every=100)
    stage = GeneratorStage(run, torch.device("cpu"), config, init=deaf)
    batch = stage.tensors(stage.train_set.generator_batch(np.random.default_rng(0), 2))
    assert batch["visemes"].shape == (2, 5, VISEME_COUNT)
    clip = stage.train_set.clips[0]
    assert clip.visemes is not None and clip.visemes.shape == (clip.n_frames, VISEME_COUNT)
    assert float(batch["visemes"].sum()) > 0, "the talking frames' weights, not zeros"
    plain = load_generator(deaf)
    stage.generator.eval()
    inputs = [torch.rand(2, 4, 64, 64), torch.rand(2, 1, 64, 64), torch.rand(2, 3, 64, 64),
              torch.rand(2, 64), torch.rand(2, 64)]
    with torch.no_grad():
        out = stage.generator(*inputs, batch["visemes"][0, :2])
        before = plain(*inputs)
    assert torch.allclose(out, before, atol=1e-6)

    outputs: list = []
    run_stage(recording(GeneratorStage, outputs, config=config, init=deaf), run)
    trained = load_generator(tmp_path / "v" / "generator.safetensors")
    assert trained.config.visemes == VISEME_COUNT
    args = [torch.rand(2, 4, 64, 64), torch.rand(2, 1, 64, 64), torch.rand(2, 3, 64, 64),
            torch.rand(2, 64), torch.rand(2, 64)]
    with torch.no_grad():
        closed = trained(*args, torch.zeros(2, VISEME_COUNT))
        opened = trained(*args, torch.eye(VISEME_COUNT)[[2, 2]])      # "open" alone
    assert (closed - opened).abs().max() > 1e-4
    with pytest.raises(ValueError, match="reads the frames' viseme weights"):
        trained(*args)
    with pytest.raises(InputError, match="go on from it with --visemes"):
        GeneratorStage(run, torch.device("cpu"), GeneratorConfig(output="warp"),
                       init=tmp_path / "v" / "generator.safetensors")


def test_a_bent_run_bends_its_training_batches_and_says_so(tiny_data, tmp_path, recording):
    """--bend 1: the first batch the generator sees differs from the same seed's batch
    without the bend, the weights file records the share, and a bad share is refused."""
    rgb = tmp_path / "rgb.safetensors"
    _rgb_generator(rgb)
    first = {}
    for share in (0.0, 1.0):
        seen: list = []

        class Watching(GeneratorStage):
            def generate(self, batch):
                if self.generator.training:          # a training batch, not the evaluation's
                    seen.append(batch["input"].clone())
                return super().generate(batch)

        run = RunConfig(data=str(tiny_data), out=str(tmp_path / f"b{share}"), steps=1,
                        batch=4, lr=1e-3, eval_every=100)
        run_stage(recording(Watching, [], config=GeneratorConfig(output="warp"), init=rgb,
                            bend=share), run)
        first[share] = seen[0]
    assert first[0.0].shape == first[1.0].shape
    assert (first[0.0] - first[1.0]).abs().max() > 0.05
    assert load_weights(tmp_path / "b1.0" / "generator.safetensors")[1]["bend"] == "1.0"
    with pytest.raises(InputError, match="share of samples from 0 to 1"):
        GeneratorStage(run, torch.device("cpu"), GeneratorConfig(output="warp"), bend=2.0)
