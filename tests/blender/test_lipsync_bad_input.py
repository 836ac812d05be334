"""Bad input and interruptions of the lip-sync job: each gives a clear message and changes
nothing (strips, files, scene settings); odd but valid input works with a note."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import pathlib
import time
import wave

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync_helpers import (neutral, our_strips, run_dirs,  # noqa: E402
                             set_sound, snapshot, speech)

from lipsync.addon import headless  # noqa: E402
from lipsync.addon.jobs.lipsync_job import LipSyncJob  # noqa: E402
from lipsync.addon.ui.operators import lipsync_request_from_settings  # noqa: E402
from lipsync.addon.jobs.runner import JobRunner  # noqa: E402
from lipsync.core.audio import AudioTiming  # noqa: E402
from lipsync.core.errors import Cancelled, FrameError, InputError  # noqa: E402

pytestmark = pytest.mark.blender

FAST = dict(resolution=(96, 96), engine="BLENDER_WORKBENCH")


@pytest.fixture
def shot(make_shot):
    shot = neutral(make_shot(n_frames=10, **FAST))
    shot.scene.frame_set(3)      # a current frame the job must give back
    return shot


def _expect_refusal(shot, *words):
    before = snapshot(shot)
    with pytest.raises(RuntimeError) as error:
        bpy.ops.lipsync.render_and_sync()
    for word in words:
        assert word in str(error.value)
    assert snapshot(shot) == before
    return str(error.value)


def _report(shot) -> dict:
    (run,) = run_dirs(shot)
    return json.loads((run / "run.json").read_text())["report"]


def test_no_camera(shot):
    bpy.data.objects.remove(shot.scene.camera)
    _expect_refusal(shot, "no active camera", "Set Active Object as Camera")


def test_no_sound_strip(shot):
    editor = shot.scene.sequence_editor
    editor.strips.remove(editor.strips["speech"])
    _expect_refusal(shot, "has no sound strip", "Add > Sound")


def test_two_sound_strips_and_no_choice(shot):
    set_sound(shot, speech(0.4), name="take2", channel=2, keep_others=True)
    shot.scene.lipsync.sound_strip = ""
    _expect_refusal(shot, "2 sound strips", "speech", "take2", "pick one")


def test_silent_audio_is_refused(shot):
    set_sound(shot, np.zeros(16000, np.float32), name="room_tone")
    _expect_refusal(shot, "'room_tone'", "is silent", "nothing to lip-sync")


def test_audio_shorter_than_the_range_works_with_a_note(shot):
    set_sound(shot, speech(0.2))                               # 5 of the 10 frames
    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}
    notes = _report(shot)["notes"]
    assert any("covers 5 of 10 frames" in n and "rests" in n for n in notes), notes
    (result,) = our_strips(shot.scene, "lipsync")
    assert result.frame_final_duration == 10
    assert shot.scene.frame_current == 3


def test_audio_longer_than_the_range_works_with_a_note(shot):
    settings = shot.scene.lipsync
    settings.use_scene_range = False
    settings.frame_start, settings.frame_end = 11, 20         # speech: frames 1-94
    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}
    notes = _report(shot)["notes"]
    assert any("goes on after frame 20" in n for n in notes), notes
    assert any("starts before frame 11" in n for n in notes), notes
    (result,) = our_strips(shot.scene, "lipsync")
    assert (result.frame_final_start, result.frame_final_duration) == (11, 10)


@pytest.mark.parametrize("fps", [24, 30])                     # 23.976 and 29.97
def test_ntsc_frame_rates(shot, fps):
    shot.scene.render.fps, shot.scene.render.fps_base = fps, 1.001
    set_sound(shot, speech(0.6))
    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}
    (result,) = our_strips(shot.scene, "lipsync")
    assert (result.frame_final_start, result.frame_final_duration) == (1, 10)
    report = _report(shot)
    assert report["fps"] == pytest.approx(fps / 1.001, abs=1e-6)
    (run,) = run_dirs(shot)
    with wave.open(str(run / "audio.wav")) as wav:
        n = wav.getnframes()
    assert n == AudioTiming(fps=fps * 1000 / 1001).n_samples_for(10)
    assert n != AudioTiming(fps=fps).n_samples_for(10)


def test_character_off_screen_for_part_of_the_range_passes_through(shot):
    head = shot.head
    head.location = (0, 0, 0)
    head.keyframe_insert("location", frame=7)
    head.location = (30, 0, 0)                      # far right of the camera
    head.keyframe_insert("location", frame=8)       # integer frames: 1-7 at 0, 8-10 at 30
    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}
    assert _report(shot)["passed_through_frames"] == [8, 9, 10]
    (run,) = run_dirs(shot)
    for frame in range(1, 11):
        same = ((run / "lipsync" / f"{frame:04d}.png").read_bytes()
                == (run / "frames" / f"{frame:04d}.png").read_bytes())
        assert same == (frame >= 8), frame


def _job(shot, **changes) -> LipSyncJob:
    request = lipsync_request_from_settings(shot.scene)
    return LipSyncJob(dataclasses.replace(request, **changes))


def _expect_job_error(shot, error, words, **changes):
    before = snapshot(shot)
    with pytest.raises(error) as caught:
        _job(shot, **changes).run()
    for word in words:
        assert word in str(caught.value)
    assert snapshot(shot) == before


def test_missing_or_corrupt_weights_say_how_to_get_them(shot, tmp_path, capsys):
    empty = tmp_path / "no_weights"
    empty.mkdir()
    weights = dataclasses.replace(lipsync_request_from_settings(shot.scene).options, models=empty)
    _expect_job_error(shot, InputError, ["models/", "make train"], options=weights)
    for name in ("sync", "generator", "parser"):
        (empty / f"{name}.safetensors").write_bytes(b"not weights at all")
    _expect_job_error(shot, InputError, ["sync.safetensors"], options=weights)
    assert headless.blender_command(["sync", "--models", str(empty)]) == 2
    assert "sync.safetensors" in capsys.readouterr().err


def test_output_folder_that_is_not_writable(shot, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    shot.scene.lipsync.output_dir = str(blocker / "cache")
    _expect_refusal(shot, "not writable", "choose another folder")
    assert blocker.read_text() == "x"


def test_output_folder_without_write_permission(shot, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: a 0o500 folder stays writable")
        shot.scene.lipsync.output_dir = str(locked / "cache")
        _expect_refusal(shot, "not writable")
    finally:
        locked.chmod(0o700)


def _drive(runner, cancel_when, limit=300):
    start = time.monotonic()
    ticks = 0
    while time.monotonic() - start < limit:
        state = runner.tick()
        ticks += 1
        if cancel_when(runner, ticks):
            runner.cancel()
        if state != "RUNNING":
            return state
        time.sleep(0.005)
    raise TimeoutError


@pytest.mark.parametrize("phase", ["rendering", "computing"])
def test_cancel_mid_run_leaves_nothing(shot, phase):
    before = snapshot(shot)
    runner = JobRunner(LipSyncJob(lipsync_request_from_settings(shot.scene)))
    runner.start()
    (run,) = run_dirs(shot)                          # made by start(), removed on cancel
    if phase == "rendering":
        def when(r, ticks):
            return ticks == 3
    else:
        def when(r, ticks):
            return r._thread is not None
    assert _drive(runner, when) == "FAILED"
    assert isinstance(runner.error, Cancelled)
    assert len(runner.job.frame_paths) == (3 if phase == "rendering" else 10)
    assert not run.exists()
    assert snapshot(shot) == before


def test_cancel_through_should_cancel_during_the_networks(shot):
    calls = []

    def should_cancel():
        calls.append(1)
        return len(calls) > 14           # 10 checks while rendering, then mid-pipeline

    before = snapshot(shot)
    job = _job(shot)
    with pytest.raises(Cancelled):
        job.run(should_cancel=should_cancel)
    assert len(job.frame_paths) == 10 and not os.path.exists(job.run_dir)
    assert snapshot(shot) == before


def test_disk_full_mid_run_leaves_nothing(shot, monkeypatch):
    real_write = pathlib.Path.write_bytes

    def write_bytes(self, data):
        if self.name == "0005.png" and ".partial-" in self.parent.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)
    before = snapshot(shot)
    _expect_job_error(shot, FrameError, ["disk is full", "free some space"])
    with pytest.raises(RuntimeError, match="disk is full"):
        bpy.ops.lipsync.render_and_sync()
    assert snapshot(shot) == before


def test_a_mouth_never_visible_is_refused_not_a_run_that_does_nothing(shot):
    shot.head.rotation_euler[2] = np.pi                # the back of the head on every frame
    _expect_refusal(shot, "'Head' is not visible on any frame", "camera", "frame range")
    assert run_dirs(shot) == []
