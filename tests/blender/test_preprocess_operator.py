"""The preprocessing operator end to end with the real bpy module: a scene built in code,
rendered with Cycles, keypoints projected, passes put on the sequencer."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon.jobs.preprocess_job import PASSES  # noqa: E402

SPEECH = Path(__file__).resolve().parents[2] / "demo" / "speech.wav"

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def _our_strips(scene):
    return sorted((s for s in scene.sequence_editor.strips if "lipsync_pass" in s),
                  key=lambda s: s.channel)


def _run_dirs(shot):
    root = shot.folder / "lipsync_cache"
    return sorted(root.glob("*/*")) if root.exists() else []


def test_operator_puts_frames_and_passes_on_the_sequencer(shot):
    assert bpy.ops.lipsync.preprocess() == {"FINISHED"}
    strips = _our_strips(shot.scene)
    assert [s["lipsync_pass"] for s in strips] == ["frames", *PASSES]
    channels = [s.channel for s in strips]
    assert channels == sorted(set(channels)) and channels[0] > 1  # sound strip sits on 1
    for strip in strips:
        assert (strip.frame_final_start, strip.frame_final_duration) == (1, 10)
        assert len(strip.elements) == 10
        folder = Path(bpy.path.abspath(strip.directory))
        files = sorted(folder.glob("*.png"))
        assert len(files) == 10
        image = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
        assert image.shape[:2] == (96, 96)
    (run,) = _run_dirs(shot)
    report = json.loads((run / "report.json").read_text())
    assert report["frames"] == 10 and report["passed_through"] == []
    assert np.load(run / "mfcc_windows.npy").shape[0] == 10


def test_keypoints_land_on_the_rendered_lips(shot):
    bpy.ops.lipsync.preprocess()
    (run,) = _run_dirs(shot)
    track = np.load(run / "keypoints.npz")
    points, visible = track["points"][:, 0], track["visible"][:, 0]  # (F, 25, 2), (F, 25)
    assert visible.all()
    on_lip = []
    for i, frame in enumerate(range(1, 11)):
        rgb = cv2.imread(str(run / "frames" / f"{frame:04d}.png"))[:, :, ::-1].astype(float)
        # Between outer point k and inner point k lies the lip itself (upper: k=2..4, lower 8..10).
        for k in (2, 3, 4, 8, 9, 10):
            x, y = np.round((points[i, k] + points[i, 12 + k]) / 2).astype(int)
            r, g, b = rgb[y, x]
            on_lip.append(r > 1.4 * g and r > 1.2 * b)
    assert np.mean(on_lip) >= 0.9


def test_mouth_keypoints_follow_the_shape_key(shot):
    bpy.ops.lipsync.preprocess()
    (run,) = _run_dirs(shot)
    points = np.load(run / "keypoints.npz")["points"][:, 0]
    opening = points[:, 21, 1] - points[:, 15, 1]  # inner bottom-middle minus inner top-middle
    mouth = 0.5 - 0.5 * np.cos(np.linspace(0, 2 * np.pi, 10))
    assert np.corrcoef(opening, mouth)[0, 1] > 0.9


def test_second_run_adds_a_new_version_and_keeps_the_first(shot):
    bpy.ops.lipsync.preprocess()
    bpy.ops.lipsync.preprocess()
    runs = _run_dirs(shot)
    assert len(runs) == 2
    assert len(_our_strips(shot.scene)) == 8
    assert all(len(list((r / "passes" / "blur").glob("*.png"))) == 10 for r in runs)


def test_character_off_screen_passes_through_unchanged(shot):
    head = shot.head
    head.location = (0, 0, 0)
    head.keyframe_insert("location", frame=7)
    head.location = (30, 0, 0)  # far right of the camera
    head.keyframe_insert("location", frame=8)  # integer frames: 1-7 at 0, 8-10 at 30
    assert bpy.ops.lipsync.preprocess() == {"FINISHED"}
    (run,) = _run_dirs(shot)
    report = json.loads((run / "report.json").read_text())
    assert report["passed_through"] == [8, 9, 10]
    for frame in (8, 9, 10):
        original = cv2.imread(str(run / "frames" / f"{frame:04d}.png"))
        blurred = cv2.imread(str(run / "passes" / "blur" / f"{frame:04d}.png"))
        assert np.array_equal(original, blurred)
    changed = cv2.imread(str(run / "passes" / "blur" / "0003.png"))
    assert not np.array_equal(changed, cv2.imread(str(run / "frames" / "0003.png")))


def _expect_error(shot, match):
    before = {s.name for s in shot.scene.sequence_editor.strips} if shot.scene.sequence_editor else set()
    with pytest.raises(RuntimeError, match=match):
        bpy.ops.lipsync.preprocess()
    after = {s.name for s in shot.scene.sequence_editor.strips} if shot.scene.sequence_editor else set()
    assert after == before
    assert _run_dirs(shot) == []


def test_no_camera_is_a_clear_error_and_changes_nothing(shot):
    bpy.data.objects.remove(shot.scene.camera)
    _expect_error(shot, "no active camera")


def test_no_sound_strip_is_a_clear_error(make_shot):
    shot = make_shot(sound=False)
    _expect_error(shot, "no sound strip")


def test_frame_range_outside_the_audio_is_a_clear_error(shot):
    settings = shot.scene.lipsync
    settings.use_scene_range = False
    settings.frame_start, settings.frame_end = 500, 505
    _expect_error(shot, "outside the audio")


def test_unreadable_audio_file_is_a_clear_error(shot, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(SPEECH.read_bytes())
    strip = shot.scene.sequence_editor.strips["speech"]
    strip.sound.filepath = str(bad)
    bad.write_text("this is not audio")  # the file went bad after it was added
    _expect_error(shot, "broken.wav")


def test_unwritable_output_folder_is_a_clear_error(shot, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    shot.scene.lipsync.output_dir = str(blocker / "cache")
    _expect_error(shot, "not writable")
    assert blocker.read_text() == "x"


def test_user_render_settings_are_untouched(shot):
    render = shot.scene.render
    render.filepath = "//my_renders/shot_"
    render.image_settings.file_format = "JPEG"
    bpy.ops.lipsync.preprocess()
    assert render.filepath == "//my_renders/shot_"
    assert render.image_settings.file_format == "JPEG"
    assert not (shot.folder / "my_renders").exists()


def test_character_turned_away_has_no_visible_mouth(shot):
    shot.head.rotation_euler[2] = np.pi  # the back of the head faces the camera
    assert bpy.ops.lipsync.preprocess() == {"FINISHED"}
    (run,) = _run_dirs(shot)
    assert json.loads((run / "report.json").read_text())["passed_through"] == list(range(1, 11))


def _use_strip(shot, strip):
    settings = shot.scene.lipsync
    settings.frames_source = "STRIP"
    settings.frames_strip = strip.name


def test_frames_from_an_existing_image_strip(shot, tmp_path):
    folder = tmp_path / "renders"
    folder.mkdir()
    scene = shot.scene
    scene.render.image_settings.file_format = "PNG"
    for frame in range(1, 11):  # the user's own renders, named their way
        scene.frame_set(frame)
        scene.render.filepath = str(folder / f"take{frame + 100}.png")
        bpy.ops.render.render(write_still=True)
    strip = scene.sequence_editor.strips.new_image("renders", str(folder / "take101.png"), 3, 1)
    for frame in range(2, 11):
        strip.elements.append(f"take{frame + 100}.png")
    _use_strip(shot, strip)
    assert bpy.ops.lipsync.preprocess() == {"FINISHED"}
    ours = _our_strips(scene)
    assert [s["lipsync_pass"] for s in ours] == list(PASSES)  # no second copy of the frames
    assert all(s.channel > 3 for s in ours)
    (run,) = _run_dirs(shot)
    assert not (run / "frames").exists()
    assert sorted(p.name for p in (run / "passes" / "blur").iterdir())[0] == "0001.png"
    assert sorted(folder.iterdir()) == [folder / f"take{n}.png" for n in range(101, 111)]


def test_frames_from_a_movie_strip(shot, tmp_path):
    movie = tmp_path / "take.mp4"
    writer = cv2.VideoWriter(str(movie), cv2.VideoWriter_fourcc(*"mp4v"), 25, (96, 96))
    for i in range(12):
        image = np.full((96, 96, 3), 40 + 10 * i, np.uint8)
        cv2.circle(image, (48, 60), 12, (40, 40, 200), -1)  # a red "mouth" (BGR)
        writer.write(image)
    writer.release()
    strip = shot.scene.sequence_editor.strips.new_movie("take", str(movie), 3, 1)
    _use_strip(shot, strip)
    assert bpy.ops.lipsync.preprocess() == {"FINISHED"}
    (run,) = _run_dirs(shot)
    frames = sorted((run / "frames").glob("*.png"))
    assert len(frames) == 10
    first = cv2.imread(str(frames[0]))
    assert abs(int(first[5, 5, 0]) - 40) <= 6  # frame 1 is the movie's first frame
    assert len(_our_strips(shot.scene)) == 3


def test_frame_range_outside_the_frames_strip_is_a_clear_error(shot, tmp_path):
    image = tmp_path / "still.png"
    cv2.imwrite(str(image), np.zeros((96, 96, 3), np.uint8))
    strip = shot.scene.sequence_editor.strips.new_image("still", str(image), 3, 1)
    _use_strip(shot, strip)
    _expect_error(shot, "not all inside strip 'still'")
