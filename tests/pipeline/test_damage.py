"""The check after compositing (`core.pipeline.damage`): changes inside the face boxes pass,
any change outside stops the run, also when a deliberately broken compositor writes there
during a real run (nothing is left in the output folder)."""

from __future__ import annotations

import numpy as np
import pytest

from lipsync.core.errors import DamageError, LipSyncError
from lipsync.core.pipeline import run as pipeline_run
from lipsync.core.pipeline.damage import box_pixels, changed_outside, check_inside_faces


def frames(shape=(40, 60, 3), dtype=np.uint8):
    before = np.zeros(shape, dtype)
    return before, before.copy()


def test_box_pixels_rounds_outwards_and_clips():
    assert box_pixels((2.5, 3.2, 10.1, 12.0), (40, 60)) == (2, 3, 11, 12)
    assert box_pixels((-5, -5, 100, 100), (40, 60)) == (0, 0, 60, 40)


@pytest.mark.parametrize("shape, dtype", [((40, 60, 3), np.uint8), ((40, 60), np.uint16),
                                          ((40, 60, 4), np.float32)])
def test_changes_inside_a_box_pass(shape, dtype):
    before, after = frames(shape, dtype)
    after[10:20, 30:40] = 1
    assert changed_outside(before, after, [(30, 10, 40, 20)]) == 0
    check_inside_faces(before, after, [(30, 10, 40, 20)], "0001.png")


def test_changes_across_two_boxes_pass():
    before, after = frames()
    after[5:8, 5:8] = 7
    after[30:35, 50:55] = 7
    assert changed_outside(before, after, [(5, 5, 8, 8), (50, 30, 55, 35)]) == 0


def test_a_change_outside_raises_naming_the_frame():
    before, after = frames()
    after[10:20, 30:40] = 1
    after[0, 0, 2] = 1                              # one channel of one pixel outside
    assert changed_outside(before, after, [(30, 10, 40, 20)]) == 1
    with pytest.raises(DamageError, match="'0007.png' changed 1 pixels outside") as info:
        check_inside_faces(before, after, [(30, 10, 40, 20)], "0007.png")
    assert isinstance(info.value, LipSyncError)
    with pytest.raises(DamageError):
        check_inside_faces(before, after, [], "0007.png")     # no face: nothing may change


def test_a_broken_compositor_stops_the_run(monkeypatch, tmp_path):
    """The real pipeline on a real photo, its compositor made to scribble on the frame's
    corner as well: the run raises and leaves no output folder."""
    from lipsync.core.locator.faces import locate_faces
    from lipsync.core.locator.landmarks import LandmarkModel, landmark_model_available

    if not landmark_model_available():
        pytest.skip("the face landmark model is not installed")
    data = pytest.importorskip("skimage.data")
    import real_photos
    from lipsync.core.pipeline.character import CharacterTrack
    from lipsync.core.pipeline.models import LipSyncModels
    from lipsync.core.pipeline.options import LipSyncOptions

    composite = pipeline_run.composite_mouth

    def broken(raw, made, matte):
        done = composite(raw, made, matte)
        raw[0, 0] = 255 - raw[0, 0]                 # outside any face
        return done

    monkeypatch.setattr(pipeline_run, "composite_mouth", broken)
    face = real_photos.zoomed(data.astronaut())
    paths = real_photos.write(tmp_path / "in", [face] * 3)
    shot = locate_faces(paths, LandmarkModel.load())
    options = pipeline_run.PipelineOptions(LipSyncOptions(device="cpu", batch=4), chunk=4)
    with pytest.raises(DamageError, match="outside the face box"):
        pipeline_run.lipsync_frames(paths, [CharacterTrack("hero", shot.track,
                                                           real_photos.speech_like(0.2))],
                                    25.0, tmp_path / "out", options,
                                    models=LipSyncModels.load("cpu"))
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob("out.partial-*"))
