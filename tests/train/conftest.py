"""A tiny factory data set (3 clips of 12 frames: one each of train, val and test, the test
clip dubbed), rendered once per session with the real bpy module in a worker process."""

from __future__ import annotations

import pytest

pytest.importorskip("bpy")

TINY_SEED = 101     # plan_clips(3, 101): train, test (dubbed), val


@pytest.fixture(autouse=True)
def one_thread():
    """The networks are tiny: one torch thread is as fast and keeps the tests light."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    from lipsync.addon.factory.clip import ClipOptions
    from lipsync.addon.factory.dataset import make_dataset

    out = tmp_path_factory.mktemp("tiny_data")
    options = ClipOptions(engine="BLENDER_WORKBENCH", max_frames=12, resolution=128,
                          crop_size=96, full_frame_share=0.0)
    result = make_dataset(out, n_clips=3, seed=TINY_SEED, workers=2, options=options)
    assert result["failed"] == {}
    return out


def recording_stage(stage_cls, outputs: list, calls: list | None = None, **kwargs):
    """A stage factory for `run_stage` that keeps each train_step result in `outputs` (and
    its step number in `calls`)."""
    def make(run, device):
        stage = stage_cls(run, device, **kwargs)
        step_fn = stage.train_step

        def train_step(rng, step):
            out = step_fn(rng, step)
            outputs.append(out)
            if calls is not None:
                calls.append(step)
            return out
        stage.train_step = train_step
        return stage
    return make


@pytest.fixture
def recording():
    """`recording_stage`, for the tests of each training stage."""
    return recording_stage
