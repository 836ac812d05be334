"""The detail network's training (core/train/detail.py) on real renders at 256 px: its
samples line up with their targets inside the crop box, the loss falls, the run resumes,
and the exported file is what the pipeline loads from a models folder."""

from __future__ import annotations

import numpy as np
import pytest

from lipsync.core.models import MODELS_DIR
from lipsync.core.models.detail import DetailNet, load_detail
from lipsync.core.pipeline.models import LipSyncModels
from lipsync.core.train.detail import WINDOW, DetailStage, _patches, sample
from lipsync.core.train.loop import RunConfig, run_stage


@pytest.fixture(scope="module")
def sharp_data(tmp_path_factory):
    """Two training clips of 6 frames rendered at 256 px, full frames kept."""
    pytest.importorskip("bpy")
    from lipsync.addon.factory.clip import ClipOptions
    from lipsync.addon.factory.dataset import make_dataset

    out = tmp_path_factory.mktemp("sharp_data")
    options = ClipOptions(engine="BLENDER_WORKBENCH", max_frames=6, resolution=256,
                          crop_size=96, full_frame_share=1.0)
    result = make_dataset(out, n_clips=8, seed=101, workers=2, options=options,
                          splits=("train",), families=("cartoon", "anime"))
    assert result["failed"] == {}
    return out


def test_a_sample_is_its_own_target_cut_to_64_px_inside_the_crop_box(sharp_data):
    folder = sorted(sharp_data.glob("clip_*"))[0]
    patch, box = _patches(folder)[0]
    made, target, inside, scale = sample(patch, box, np.random.default_rng(0), 1.0, False)
    assert made.shape == target.shape == (3, WINDOW, WINDOW) and inside.shape == (WINDOW,) * 2
    assert scale == pytest.approx(float(box[2] - box[0]) / 64)
    assert inside.mean() > 0.99            # the box is wider than the window at 256 px
    error = np.abs(made - target).mean()
    shifted = np.abs(made[:, :, 2:] - target[:, :, :-2]).mean()
    assert 0 < error < 0.05 and error < shifted    # the same picture, softer, in place


def test_the_network_learns_resumes_and_the_pipeline_loads_it(sharp_data, tmp_path, recording):
    outputs: list = []
    run = RunConfig(data=str(sharp_data), out=str(tmp_path), steps=60, batch=8, eval_every=30,
                    lr=1e-3)
    run_stage(recording(DetailStage, outputs), run, log=lambda line: None)
    first = np.mean([o["mse"] for o in outputs[:10]])
    last = np.mean([o["mse"] for o in outputs[-10:]])
    assert last < 0.7 * first
    again: list = []
    record = run_stage(recording(DetailStage, again),
                       RunConfig(data=str(sharp_data), out=str(tmp_path), steps=70, batch=8,
                                 eval_every=30, lr=1e-3, resume=True), log=lambda line: None)
    assert len(again) == 10 and record["steps"] == 70
    assert {"l1", "l1_scaled", "sharpness", "sharpness_scaled"} <= set(record["heldout"])
    assert isinstance(load_detail(tmp_path / "detail.safetensors"), DetailNet)
    models = tmp_path / "models"
    models.mkdir()
    for name in ("sync", "generator", "parser", "visemes"):
        (models / f"{name}.safetensors").symlink_to(MODELS_DIR / f"{name}.safetensors")
    assert LipSyncModels.load("cpu", folder=models).detail is None
    (models / "detail.safetensors").symlink_to(tmp_path / "detail.safetensors")
    assert isinstance(LipSyncModels.load("cpu", folder=models).detail, DetailNet)


def test_too_few_clips_with_full_frames_is_a_clear_error(tiny_data, tmp_path):
    from lipsync.core.errors import InputError

    with pytest.raises(InputError, match="full frames"):
        DetailStage(RunConfig(data=str(tiny_data), out=str(tmp_path)), "cpu")
