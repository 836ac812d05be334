"""The "Render and Lip-Sync" operator end to end with the real bpy module and the shipped
weights: a closed-mouth talking head built in code, rendered, lip-synced to its sound strip,
the result put on the sequencer above the frames."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync_helpers import (neutral, our_strips, read, run_dirs,  # noqa: E402
                             set_sound, snapshot, speech)

from lipsync.addon.jobs.lipsync_job import LipSyncJob  # noqa: E402
from lipsync.addon.ui.operators import lipsync_request_from_settings  # noqa: E402
from lipsync.addon.jobs.runner import JobRunner  # noqa: E402
from lipsync.core.pipeline.options import LipSyncOptions  # noqa: E402

pytestmark = pytest.mark.blender

FAST = dict(resolution=(96, 96), engine="BLENDER_WORKBENCH")


def test_result_strip_sits_above_the_frames_and_changes_only_the_mouth(make_shot):
    shot = neutral(make_shot(n_frames=12, **FAST))
    shot.scene.lipsync.use_matte_strip = True
    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}

    frames, result, matte = our_strips(shot.scene)
    assert [s["lipsync_pass"] for s in (frames, result, matte)] == ["frames", "lipsync", "matte"]
    assert (frames.channel, result.channel, matte.channel) == (2, 3, 4)  # speech is on 1
    assert result.name == "Head · speech" and matte.mute and not result.mute
    assert result["lipsync_key"] == "Head:speech"
    for strip in (frames, result, matte):
        assert (strip.frame_final_start, strip.frame_final_duration) == (1, 12)
    (run,) = run_dirs(shot)
    assert run.name == "Head_001" and result["lipsync_run"] == str(run)
    assert bpy.path.abspath(result.directory).rstrip("/") == str(run / "lipsync")

    changed_frames = 0
    for frame in range(1, 13):
        before = read(run / "frames" / f"{frame:04d}.png")
        after = read(run / "lipsync" / f"{frame:04d}.png")
        mask = read(run / "lipsync" / "matte" / f"{frame:04d}.png")
        assert after.shape == before.shape == (96, 96, 3)
        assert np.array_equal(after[mask == 0], before[mask == 0]), frame
        changed_frames += bool((after != before).any())
    assert changed_frames == 12
    report = json.loads((run / "run.json").read_text())["report"]
    assert report["characters"] == {"Head": 12} and report["passed_through_frames"] == []


def _inner_lip_change(run, frame: int, points: np.ndarray) -> float:
    """Mean |result - input| over the box of the inner-lip keypoints (12..24), 1 px margin."""
    (x0, y0), (x1, y1) = np.floor(points.min(0)).astype(int), np.ceil(points.max(0)).astype(int)
    before = read(run / "frames" / f"{frame:04d}.png").astype(int)
    after = read(run / "lipsync" / f"{frame:04d}.png").astype(int)
    return float(np.abs(after - before)[y0 - 1:y1 + 2, x0 - 1:x1 + 2].mean())


@pytest.mark.slow
def test_the_mouth_moves_with_speech_and_rests_in_silence(make_shot):
    n, half = 24, 12
    shot = neutral(make_shot(n_frames=n, resolution=(128, 128), engine="CYCLES", samples=4))
    talk = speech(half / 25)
    set_sound(shot, np.concatenate([talk, np.zeros(int(n / 25 * 16000) - len(talk))]))
    shot.scene.lipsync.use_matte_strip = True
    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}

    (run,) = run_dirs(shot)
    points = np.load(run / "keypoints.npz")["points"][:, 0, 12:]      # (F, 13, 2) inner lips
    change = np.array([_inner_lip_change(run, f + 1, points[f]) for f in range(n)])
    talking, silent = change[:half - 1].mean(), change[half + 2:].mean()
    ratio = talking / silent
    print(f"inner-lip change: speech {talking:.2f}, silence {silent:.2f}, ratio {ratio:.2f}")
    assert ratio > 1.4, change.round(1)
    assert np.ptp(change[half + 2:]) < 0.5, "in silence the mouth holds one shape"


def test_second_run_writes_a_new_version_and_replaces_only_its_own_strip(make_shot, tmp_path):
    shot = neutral(make_shot(n_frames=10, **FAST))
    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}
    (first_run,) = run_dirs(shot)
    first_files = sorted(p.name for p in (first_run / "lipsync").iterdir())
    editor = shot.scene.sequence_editor
    user = editor.strips.new_image("my overlay", str(first_run / "frames" / "0001.png"), 4, 1)
    user.frame_final_duration = 10
    user_copy = editor.strips.new_image("my copy", str(first_run / "lipsync" / "0001.png"), 5, 1)

    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}
    runs = run_dirs(shot)
    assert [r.name for r in runs] == ["Head_001", "Head_002"]
    assert sorted(p.name for p in (first_run / "lipsync").iterdir()) == first_files
    frames, result = our_strips(shot.scene)
    assert (frames.channel, result.channel) == (2, 3), "the new strips take the old places"
    assert result.name == "Head · speech" and frames.name == "Head · frames"
    assert result["lipsync_run"] == frames["lipsync_run"] == str(runs[1])
    assert (user.channel, user_copy.channel) == (4, 5)
    assert {s.name for s in editor.strips} == {"speech", "Head · frames", "Head · speech",
                                                "my overlay", "my copy"}


def test_frames_from_an_existing_image_strip(make_shot, tmp_path):
    shot = neutral(make_shot(n_frames=10, **FAST))
    scene, folder = shot.scene, tmp_path / "renders"
    folder.mkdir()
    for frame in range(1, 11):  # the user's own renders, named their way
        scene.frame_set(frame)
        scene.render.filepath = str(folder / f"take{frame + 100}.png")
        bpy.ops.render.render(write_still=True)
    user = scene.sequence_editor.strips.new_image("renders", str(folder / "take101.png"), 3, 1)
    for frame in range(2, 11):
        user.elements.append(f"take{frame + 100}.png")
    settings = scene.lipsync
    settings.frames_source, settings.frames_strip = "STRIP", "renders"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}
    (result,) = our_strips(scene)
    assert result["lipsync_pass"] == "lipsync" and result.channel == 4
    assert (result.frame_final_start, result.frame_final_duration) == (1, 10)
    assert [e.filename for e in result.elements][:2] == ["take101.png", "take102.png"]
    (run,) = run_dirs(shot)
    assert not (run / "frames").exists()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_two_characters_each_with_their_own_sound_strip(make_shot):
    from lipsync.addon.factory.talking_head import build_talking_head

    shot = neutral(make_shot(n_frames=10, resolution=(128, 96),
                             engine="BLENDER_WORKBENCH"))
    scene = shot.scene
    other = build_talking_head(scene, seed=3, resolution=(128, 96), engine="BLENDER_WORKBENCH")
    other.head.data.shape_keys.key_blocks["open"].value = 0.0
    for obj in (other.camera, other.light):
        bpy.data.objects.remove(obj)
    scene.camera = bpy.data.objects["HeadCamera"]
    scene.camera.location.y = -7.0
    shot.head.location.x, other.head.location.x = -1.0, 1.0
    set_sound(shot, speech(0.4), name="hero")
    set_sound(shot, speech(0.4, start=1.0), name="villain", channel=2, keep_others=True)
    settings = scene.lipsync
    settings.sound_strip = "hero"
    bpy.ops.lipsync.character_add()
    item = settings.extra_characters[0]
    item.character, item.mouth_group, item.sound_strip = other.head, "mouth", "villain"

    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}
    (run,) = run_dirs(shot)
    assert run.name == "Head_Head_001_001"  # bpy.path.clean_name("Head+Head.001")
    frames, result = our_strips(scene)
    assert result.name == "Head+Head.001 · lip-sync" and result.channel == 4  # sounds: 1, 2
    report = json.loads((run / "run.json").read_text())["report"]
    assert report["characters"] == {"Head": 10, "Head.001": 10}
    assert report["audio"] == {"Head": "hero", "Head.001": "villain"}
    assert np.load(run / "keypoints.npz")["points"].shape == (10, 2, 25, 2)
    bpy.ops.lipsync.character_remove()
    assert len(settings.extra_characters) == 0


@pytest.mark.slow
def test_preview_mp4_has_the_frames_and_the_sound(make_shot):
    import aud
    import cv2

    shot = neutral(make_shot(n_frames=12, **FAST))
    render = shot.scene.render
    render.filepath = "//my_renders/shot_"
    render.image_settings.file_format = "JPEG"
    shot.scene.lipsync.use_preview = True
    before = snapshot(shot)
    assert bpy.ops.lipsync.render_and_sync() == {"FINISHED"}

    (run,) = run_dirs(shot)
    video = cv2.VideoCapture(str(run / "preview.mp4"))
    frames = []
    while True:
        ok, image = video.read()
        if not ok:
            break
        frames.append(image)
    assert len(frames) == 12 and frames[0].shape == (96, 96, 3)
    result = read(run / "lipsync" / "0006.png").astype(float)
    assert np.abs(frames[5].astype(float) - result).mean() < 8, "the mp4 shows the result"
    sound = aud.Sound(str(run / "preview.mp4")).data()
    assert sound.shape[0] > 0.4 * 48000 and np.abs(sound).max() > 0.05
    after = snapshot(shot)
    for key in ("render", "scenes", "sounds", "frame", "range"):
        assert after[key] == before[key], key
    assert not (shot.folder / "my_renders").exists()


def _drive(runner, limit=300):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        state = runner.tick()
        if state != "RUNNING":
            return state
        time.sleep(0.01)
    raise TimeoutError


def test_modal_runner_lip_syncs_off_the_main_thread(make_shot):
    shot = neutral(make_shot(n_frames=10, **FAST))
    defaults = lipsync_request_from_settings(shot.scene).options
    assert defaults == LipSyncOptions(), "the panel's defaults are the options' defaults"
    assert defaults.revoice == "auto", "the default"
    shot.scene.lipsync.revoice = "ON"
    request = lipsync_request_from_settings(shot.scene)
    assert request.options.revoice == "on", "the panel's Re-voice reaches the request"
    runner = JobRunner(LipSyncJob(request))
    runner.start()
    assert runner.share == LipSyncJob.main_share
    assert _drive(runner) == "DONE"
    assert runner.progress == 1.0 and runner.result.strips["lipsync"] == "Head · speech"
    assert len(our_strips(shot.scene)) == 2


def test_undo_option_and_what_background_mode_allows():
    """The operator has UNDO, so Blender pushes one undo step when it finishes (execute, or
    modal's FINISHED right after the strips changed). The bpy module runs without a
    window, where `ed.undo` cannot run (its poll fails), so the strip changes themselves
    are what the other tests check."""
    from lipsync.addon.ui.operators import LIPSYNC_OT_render_and_sync

    assert {"REGISTER", "UNDO"} <= LIPSYNC_OT_render_and_sync.bl_options
    assert not bpy.ops.ed.undo.poll()
