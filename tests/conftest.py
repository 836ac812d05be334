"""Shared test set-up: Blender's user files out of the home directory, and a tiny factory
data set (3 clips of 12 frames: one each of train, val and test, the test clip dubbed),
rendered once per session with the real bpy module in worker processes."""

import os
import tempfile

import pytest

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="lipsync-blender-user-"))

@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: the networks are tiny, and tests stay light on a shared machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY_SEED = 101     # plan_clips(3, 101): train, test (dubbed), val


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    pytest.importorskip("bpy")
    from lipsync.addon.factory.clip import ClipOptions
    from lipsync.addon.factory.dataset import make_dataset

    out = tmp_path_factory.mktemp("tiny_data")
    options = ClipOptions(engine="BLENDER_WORKBENCH", max_frames=12, resolution=128,
                          crop_size=96, full_frame_share=1.0)
    result = make_dataset(out, n_clips=3, seed=TINY_SEED, workers=2, options=options)
    assert result["failed"] == {}
    return out
