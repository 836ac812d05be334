"""The streaming pipeline on real rendered frames (the tiny data set's held-out clip),
with the shipped weights: exact pixels outside the mouth, formats, several characters,
pass-through, cancel, a full disk and bad input."""

from __future__ import annotations

import errno
import json
import pathlib

import cv2
import numpy as np
import pytest

from frames_on_disk import read_outputs, run, write_frames
from lipsync.core.errors import Cancelled, FrameError, InputError
from lipsync.core.pipeline.character import CharacterTrack
from lipsync.core.pipeline.models import LipSyncModels
from lipsync.core.pipeline.pixels import srgb_to_linear
from lipsync.core.preprocess.frames import read_frame_raw
from lipsync.core.preprocess.keypoints import KeypointTrack


def test_outside_the_mouth_every_pixel_is_the_input(clip, models, tmp_path):
    paths = write_frames(tmp_path / "in", clip["neutral"])
    character = CharacterTrack("hero", clip["track"], clip["audio"])
    report = run(paths, [character], clip["fps"], tmp_path / "out", models)

    out, matte = read_outputs(tmp_path / "out", paths)
    inputs = clip["neutral"]
    assert out.shape == inputs.shape and out.dtype == np.uint8
    assert np.array_equal(out[matte == 0], inputs[matte == 0])
    changed = np.abs(out.astype(int) - inputs).sum(axis=3) > 0
    assert changed.any(axis=(1, 2)).all(), "every frame's mouth is generated"
    assert not (changed & (matte == 0)).any()
    assert report.characters == {"hero": len(paths)} and report.passed_through == []
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["frames"] == len(paths) and saved["device"] == "cpu"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"], "no partial folder left"


def _formats(neutral):
    """name -> (frames as stored, suffix)."""
    alpha = np.full(neutral.shape[:3] + (1,), 200, np.uint8)
    alpha[:, :10] = 0
    wide = np.concatenate([neutral, neutral[:, :, :40]], axis=2)          # 128 x 168
    return {
        "rgba8": (np.concatenate([neutral, alpha], axis=3), ".png"),
        "rgb16": (neutral.astype(np.uint16) * 257 + 3, ".png"),
        "grey": (cv2.cvtColor(neutral.reshape(-1, neutral.shape[2], 3), cv2.COLOR_RGB2GRAY)
                 .reshape(neutral.shape[:3]), ".png"),
        "exr": (srgb_to_linear(neutral.astype(np.float32) / 255).astype(np.float32), ".exr"),
        "jpeg": (neutral, ".jpg"),
        "non_square": (wide, ".png"),
    }


@pytest.mark.parametrize("name", ["rgba8", "rgb16", "grey", "exr", "jpeg", "non_square"])
def test_formats_survive(clip, models, tmp_path, name):
    stored, suffix = _formats(clip["neutral"])[name]
    paths = write_frames(tmp_path / "in", stored, suffix)
    inputs = np.stack([read_frame_raw(p) for p in paths])
    character = CharacterTrack("hero", clip["track"], clip["audio"])
    run(paths, [character], clip["fps"], tmp_path / "out", models)

    out, matte = read_outputs(tmp_path / "out", paths)
    assert out.dtype == inputs.dtype and out.shape == inputs.shape
    assert np.array_equal(out[matte == 0], inputs[matte == 0])
    if name == "rgba8":
        assert np.array_equal(out[..., 3], inputs[..., 3]), "alpha is kept"
    assert (out != inputs).any(), "the mouth was generated"


def test_frames_without_a_visible_mouth_are_copied_byte_for_byte(clip, models, tmp_path):
    paths = write_frames(tmp_path / "in", clip["neutral"])
    track = clip["track"]
    visible = track.visible.copy()
    visible[3:6] = False
    hidden = KeypointTrack(points=track.points, visible=visible, boxes=track.boxes,
                           frames=track.frames)
    never = KeypointTrack(points=track.points, visible=np.zeros_like(visible),
                          boxes=track.boxes, frames=track.frames)
    report = run(paths, [CharacterTrack("hero", hidden, clip["audio"]),
                         CharacterTrack("extra", never, clip["dub_audio"])],
                 clip["fps"], tmp_path / "out", models)

    assert report.passed_through == [3, 4, 5]
    assert report.characters == {"hero": len(paths) - 3, "extra": 0}
    assert any("extra" in note and "not visible" in note for note in report.notes)
    assert report.never_visible == ["extra"]
    for i in range(len(paths)):
        same = (tmp_path / "out" / paths[i].name).read_bytes() == paths[i].read_bytes()
        assert same == (i in (3, 4, 5))


def test_no_visible_mouth_on_any_frame_of_any_character_is_an_error(clip, models, tmp_path):
    """One character hidden on every frame is a note (above); every character hidden on
    every frame is an input error, not a run that does nothing."""
    paths = write_frames(tmp_path / "in", clip["neutral"])
    track = clip["track"]
    never = KeypointTrack(points=track.points, visible=np.zeros_like(track.visible),
                          boxes=track.boxes, frames=track.frames)
    with pytest.raises(InputError, match="'hero' and 'extra' is not visible on any frame.*camera"):
        run(paths, [CharacterTrack("hero", never, clip["audio"]),
                    CharacterTrack("extra", never, clip["dub_audio"])],
            clip["fps"], tmp_path / "out", models)
    assert not (tmp_path / "out").exists()


def test_two_characters_each_speak_their_own_audio(clip, models, tmp_path):
    neutral = clip["neutral"]
    width = neutral.shape[2]
    pair = np.concatenate([neutral, neutral], axis=2)                   # side by side
    paths = write_frames(tmp_path / "in", pair)
    track = clip["track"]
    right = KeypointTrack(points=track.points + np.array([width, 0], np.float32),
                          visible=track.visible,
                          boxes=track.boxes + np.array([width, 0, width, 0], np.float32),
                          frames=track.frames)
    run(paths, [CharacterTrack("left", track, clip["audio"]),
                CharacterTrack("right", right, clip["dub_audio"])],
        clip["fps"], tmp_path / "out", models)

    out, matte = read_outputs(tmp_path / "out", paths)
    assert (matte[:, :, :width] > 0).any() and (matte[:, :, width:] > 0).any()
    left_half, right_half = out[:, :, :width].astype(int), out[:, :, width:].astype(int)
    assert (left_half != neutral).any() and (right_half != neutral).any()
    assert np.abs(left_half - right_half).mean() > 0.05, "different audio, different mouths"


def test_cancel_leaves_nothing(clip, models, tmp_path):
    paths = write_frames(tmp_path / "in", clip["neutral"])
    checks = []
    with pytest.raises(Cancelled):
        run(paths, [CharacterTrack("hero", clip["track"], clip["audio"])], clip["fps"],
            tmp_path / "out", models,
            should_cancel=lambda: checks.append(1) or len(checks) > 8)   # after 8 frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_a_full_disk_stops_cleanly(clip, models, tmp_path, monkeypatch):
    paths = write_frames(tmp_path / "in", clip["neutral"])
    real_write = pathlib.Path.write_bytes

    def write_bytes(self, data):
        if self.name == "0007.png":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)
    with pytest.raises(FrameError, match="disk is full"):
        run(paths, [CharacterTrack("hero", clip["track"], clip["audio"])], clip["fps"],
            tmp_path / "out", models)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_bad_input_is_refused_before_anything_is_written(clip, models, tmp_path):
    paths = write_frames(tmp_path / "in", clip["neutral"])
    hero = CharacterTrack("hero", clip["track"], clip["audio"])
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        run(paths, [hero], clip["fps"], taken, models)
    assert (taken / "keep.txt").read_text() == "mine"
    silent = CharacterTrack("hero", clip["track"], np.zeros(16000, np.float32))
    with pytest.raises(InputError, match="silent"):
        run(paths, [silent], clip["fps"], tmp_path / "out", models)
    with pytest.raises(InputError, match="12 frames"):
        run(paths[:-2], [hero], clip["fps"], tmp_path / "out", models)
    assert not (tmp_path / "out").exists()


def test_audio_shorter_or_longer_than_the_shot_is_noted(clip, models, tmp_path):
    paths = write_frames(tmp_path / "in", clip["neutral"])
    fps = clip["fps"]
    short = clip["audio"][: int(16000 * 4 / fps)]
    long = np.concatenate([clip["audio"], clip["audio"]])
    report = run(paths, [CharacterTrack("hero", clip["track"], short)], fps,
                 tmp_path / "a", models)
    assert any("ends" in n for n in report.notes)
    report = run(paths, [CharacterTrack("hero", clip["track"], long)], fps,
                 tmp_path / "b", models)
    assert any("past the last frame" in n for n in report.notes)


def test_frames_of_different_sizes_are_refused(clip, models, tmp_path):
    paths = write_frames(tmp_path / "in", clip["neutral"])
    cv2.imwrite(str(paths[4]), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(FrameError, match="one size"):
        run(paths, [CharacterTrack("hero", clip["track"], clip["audio"])], clip["fps"],
            tmp_path / "out", models)
    assert not (tmp_path / "out").exists()


def test_missing_or_corrupt_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(InputError, match="models/"):
        LipSyncModels.load("cpu", tmp_path)
    for name in ("sync", "generator", "parser"):
        (tmp_path / f"{name}.safetensors").write_bytes(b"not weights at all")
    with pytest.raises(InputError, match="sync.safetensors"):
        LipSyncModels.load("cpu", tmp_path)
