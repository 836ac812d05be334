"""The pipeline's networks (core/pipeline/models.py): each reads its crop side from its
own weights, mismatched sets are refused, and the product never imports the lab."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lipsync.core.audio import FRONT_END
from lipsync.core.errors import InputError
from lipsync.core.models.generator import Generator, GeneratorConfig
from lipsync.core.models.parser import FaceParser, ParserConfig
from lipsync.core.models.sync import SyncConfig, SyncExpert
from lipsync.core.models.weights import save_weights
from lipsync.core.pipeline.character import CharacterTrack
from lipsync.core.pipeline.models import LipSyncModels
from lipsync.core.pipeline.options import LipSyncOptions
from lipsync.core.pipeline.run import PipelineOptions, lipsync_frames
from lipsync.core.preprocess.keypoints import KeypointTrack
from synthetic_faces import FaceSpec, synthetic_frame

N_FRAMES = 6


def _save_set(folder: Path, sync: int, generator: int, parser: int) -> None:
    """Freshly initialised networks at the given crop sides, as a models folder."""
    torch.manual_seed(0)
    for name, network in (("sync", SyncExpert(SyncConfig(size=sync))),
                          ("generator", Generator(GeneratorConfig(size=generator))),
                          ("parser", FaceParser(ParserConfig(size=parser)))):
        save_weights(folder / f"{name}.safetensors", dict(network.state_dict()),
                     {"model": name, "config": json.dumps(network.config.to_dict())})


def _shot(folder: Path) -> tuple[list[Path], CharacterTrack]:
    """N_FRAMES small frames of a synthetic face whose mouth opens and closes, their
    keypoints and a second of noise as the audio."""
    folder.mkdir()
    paths, points, boxes = [], [], []
    for i in range(N_FRAMES):
        spec = FaceSpec(centre=(80, 64), size=112, mouth_open=0.2 + 0.1 * (i % 3))
        frame, (face,) = synthetic_frame(128, 160, [spec])
        paths.append(folder / f"{i + 1:04d}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        points.append(face.keypoints)
        boxes.append(face.box)
    points = np.stack(points)[:, None]                                   # (F, 1, 25, 2)
    track = KeypointTrack(points=points, visible=np.ones(points.shape[:3], bool),
                          boxes=np.float32(boxes)[:, None], frames=np.arange(N_FRAMES))
    audio = np.random.default_rng(0).normal(0, 0.1, FRONT_END.sample_rate).astype(np.float32)
    return paths, CharacterTrack("hero", track, audio)


@pytest.mark.parametrize("sizes", [(96, 96, 96), (96, 96, 128)])
def test_the_pipeline_reads_each_size_from_the_weights(tmp_path, sizes):
    """Sync expert and generator at 96 px, the parser at 96 or at its own 128 px: the
    pipeline crops at the generator's side and runs the shot."""
    _save_set(tmp_path / "models", *sizes)
    models = LipSyncModels.load("cpu", tmp_path / "models")
    assert (models.size, models.parser.config.size) == (96, sizes[2])
    assert models.parse(torch.rand(2, 3, 96, 96)).shape == (2, 12, 96, 96)
    paths, hero = _shot(tmp_path / "in")
    report = lipsync_frames(paths, [hero], 25, tmp_path / "out",
                            PipelineOptions(LipSyncOptions(device="cpu", batch=2), chunk=3),
                            models=models)
    assert report.characters == {"hero": N_FRAMES}
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [p.name for p in paths]


def _still_noise_change(tmp_path, scale: int = 1, outer_flow: float = 0.0) -> int:
    """The largest change (0-255) a warping generator whose U-Net's flow rests and whose
    blend is open (of `scale`, its outer level's flow logit `outer_flow`) makes to a still
    shot of fine noise."""
    _save_set(tmp_path / "models", 96, 96, 96)
    torch.manual_seed(0)
    warping = Generator(GeneratorConfig(size=96, output="warp", scale=scale))
    state = dict(warping.state_dict())
    state["head.weight"] = torch.zeros_like(state["head.weight"])
    state["head.bias"] = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 40.0])   # flow 0, blend 1
    if scale == 2:
        state["outer_head.bias"] = torch.tensor([0.0, 0.0, 0.0, outer_flow, 0.0, 0.0])
    save_weights(tmp_path / "models" / "generator.safetensors", state,
                 {"model": "generator", "config": json.dumps(warping.config.to_dict())})
    paths, hero = _shot(tmp_path / "in")
    noise = np.random.default_rng(0).integers(0, 256, (128, 160, 3), dtype=np.uint8)
    for path in paths:
        cv2.imwrite(str(path), noise)
    hero.keypoints.points[:] = hero.keypoints.points[:1]                 # a still
    models = LipSyncModels.load("cpu", tmp_path / "models")
    assert models.generator.config.out_size == 96 * scale
    report = lipsync_frames(paths, [hero], 25, tmp_path / "out",
                            PipelineOptions(LipSyncOptions(device="cpu", batch=2), chunk=3),
                            models=models)
    assert report.characters == {"hero": N_FRAMES}
    return max(int(np.abs(cv2.imread(str(tmp_path / "out" / p.name)).astype(int)
                          - noise).max()) for p in paths)


def test_a_warping_generator_keeps_the_frames_own_pixels_at_their_resolution(tmp_path):
    """A warping generator whose flow rests and whose blend is open takes every pixel of the
    mouth from the reference frame at the frame's resolution: on a still shot of fine noise
    the output is the input (an RGB generator's 96 px crop could not hold that noise)."""
    assert _still_noise_change(tmp_path) <= 1


@pytest.mark.parametrize("outer_flow", [0.0, 0.3])
def test_a_scale_2_generator_draws_its_parts_at_twice_the_side(tmp_path, outer_flow):
    """A warping generator of scale 2: with its outer level at rest the still shot of fine
    noise comes out as it went in (the reference at 2S is the frame's own), and the outer
    level's own flow moves the mouth's pixels (its parts are what reaches the frame)."""
    change = _still_noise_change(tmp_path, 2, outer_flow)
    assert change <= 1 if outer_flow == 0 else change > 10


def test_a_generator_that_reads_viseme_weights_gets_the_readers_and_needs_one(tmp_path):
    """A generator that reads viseme weights runs on the weights the shipped viseme reader
    reads from the shot's sound (frame by frame, as `CharacterState.heard`); a models folder
    without the reader is refused, saying what to copy."""
    import shutil

    from lipsync.core.models import shipped
    from lipsync.core.models.generator import VISEME_COUNT

    _save_set(tmp_path / "models", 96, 96, 96)
    torch.manual_seed(0)
    reading = Generator(GeneratorConfig(size=96, visemes=VISEME_COUNT))
    save_weights(tmp_path / "models" / "generator.safetensors", dict(reading.state_dict()),
                 {"model": "generator", "config": json.dumps(reading.config.to_dict())})
    with pytest.raises(InputError, match="reads the sound's viseme weights.*visemes.safetensors"):
        LipSyncModels.load("cpu", tmp_path / "models")
    shutil.copy(shipped("visemes"), tmp_path / "models" / "visemes.safetensors")
    models = LipSyncModels.load("cpu", tmp_path / "models")
    seen = []
    forward = models.generator.forward

    def spy(*args):
        seen.append(args[5].clone())
        return forward(*args)
    models.generator.forward = spy
    paths, hero = _shot(tmp_path / "in")
    report = lipsync_frames(paths, [hero], 25, tmp_path / "out",
                            PipelineOptions(LipSyncOptions(device="cpu", batch=2), chunk=3),
                            models=models)
    assert report.characters == {"hero": N_FRAMES}
    weights = torch.cat(seen)
    assert weights.shape == (N_FRAMES, VISEME_COUNT)
    assert torch.allclose(weights.sum(dim=1), torch.ones(N_FRAMES), atol=1e-4)


def test_a_sync_expert_and_generator_of_different_sizes_are_refused(tmp_path):
    _save_set(tmp_path, 64, 96, 96)
    with pytest.raises(InputError, match="sync expert reads 64 px.*generator 96 px"):
        LipSyncModels.load("cpu", tmp_path)


def test_the_product_never_imports_the_lab():
    """Running the pipeline with the shipped models loads no training, data set,
    or evaluation code."""
    code = ("import sys\n"
            "import lipsync.core.pipeline.run\n"
            "from lipsync.core.pipeline.models import LipSyncModels\n"
            "LipSyncModels.load('cpu')\n"
            "lab = ('lipsync.core.train', 'lipsync.core.dataset', 'lipsync.core.evaluate')\n"
            "found = sorted(m for m in sys.modules if m.startswith(lab))\n"
            "assert not found, found\n")
    subprocess.run([sys.executable, "-c", code], check=True)
