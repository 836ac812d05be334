"""Footage on the sequencer (`jobs.footage_job`, the headless `footage` command): a movie
strip of a speaker with no character mesh, lip-synced to new speech or its speaker learnt
from its own. The footage is a factory render (the tiny set's test clip, its talking
frames three times over, with its own speech) written as an MPEG-4 movie."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync_helpers import SPEECH, read  # noqa: E402

from lipsync.addon import headless  # noqa: E402
from lipsync.addon.jobs.footage_job import FootageRequest, LearnFootageJob  # noqa: E402
from lipsync.core.audio import AudioTiming, load_audio, save_wav  # noqa: E402
from lipsync.core.errors import Cancelled  # noqa: E402
from lipsync.core.learn.character import LearnSettings  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]

REPEATS = 3


@pytest.fixture(scope="module")
def footage(tiny_data, tmp_path_factory):
    """(folder, fps, frames): take.mp4, own.wav (its speech), new.wav (other speech)."""
    folder = tmp_path_factory.mktemp("footage")
    record = next(json.loads(line) for line in (tiny_data / "manifest.jsonl").read_text()
                  .splitlines() if line.strip() and json.loads(line)["split"] == "test")
    clip = tiny_data / record["clip_id"]
    fps = float(json.loads((clip / "clip.json").read_text())["fps"])
    with np.load(clip / "frames.npz") as data:
        talking = data["talking"]
    frames = np.concatenate([talking] * REPEATS)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(folder / "take.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                             (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    timing = AudioTiming(fps=fps)
    own = load_audio(clip / "audio.wav", 16000)[:timing.n_samples_for(len(talking))]
    save_wav(folder / "own.wav", np.tile(own, REPEATS), 16000)
    new = load_audio(SPEECH, 16000)[:timing.n_samples_for(len(frames))]
    save_wav(folder / "new.wav", new, 16000)
    return folder, fps, len(frames)


def _scene(footage, tmp_path: Path):
    """A fresh saved file: the movie on channel 1 from frame 1, the sound strips above."""
    folder, fps, n = footage
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = int(fps), 1.0
    scene.frame_start, scene.frame_end = 1, n
    editor = scene.sequence_editor_create()
    editor.strips.new_movie("take", str(folder / "take.mp4"), 1, 1)
    editor.strips.new_sound("own", str(folder / "own.wav"), 2, 1)
    editor.strips.new_sound("new", str(folder / "new.wav"), 3, 1)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return scene


def _footage(*args: str) -> int:
    return headless.blender_command(["footage", "--strip", "take", "--device", "cpu",
                                     "--locator", "parser", *args])


def test_footage_is_lip_synced_to_new_speech_above_its_strip(footage, tmp_path, capsys):
    scene = _scene(footage, tmp_path)
    code = _footage("--sound-strip", "new", "--quality", "draft", "--matte",
                    "--learnt", str(tmp_path / "learnt"))
    out = capsys.readouterr()
    assert code == 0, out.err
    n = footage[2]
    assert f"{n} frames (1-{n})" in out.out and f"take ({n} frames)" in out.out
    made = sorted((s for s in scene.sequence_editor.strips if "lipsync_pass" in s),
                  key=lambda s: s.channel)
    result, matte = made
    assert result.name == "take · new" and result.channel > 3 and matte.channel > result.channel
    assert (result.frame_final_start, result.frame_final_duration) == (1, n)
    (run,) = (tmp_path / "lipsync_cache").glob("*/take_*")
    changed = 0
    for frame in range(1, n + 1):
        before, after = (read(run / sub / f"{frame:04d}.png") for sub in ("frames", "lipsync"))
        mask = read(run / "lipsync" / "matte" / f"{frame:04d}.png")
        assert np.array_equal(after[mask == 0], before[mask == 0]), "outside the mouth: exact"
        changed += int(np.abs(after.astype(int) - before).max() > 8)
    assert changed > n // 2, "the mouth is made anew on most frames"
    assert [s.name for s in scene.sequence_editor.strips if s.type == "MOVIE"] == ["take"]


def test_learn_speaker_writes_its_file_which_later_runs_use_and_never_overwrite(
        footage, tmp_path, capsys):
    _scene(footage, tmp_path)
    learnt = tmp_path / "learnt"
    assert _footage("--learn", "--sound-strip", "own", "--steps", "3",
                    "--learnt", str(learnt)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "Learnt the speaker of 'take'" in out and "held-out mouth SSIM" in out
    assert sorted(p.name for p in learnt.iterdir()) == ["take.lipsync.md",
                                                        "take.lipsync.safetensors"]
    card = (learnt / "take.lipsync.md").read_text()
    assert "take" in card and "SSIM" in card
    weights = (learnt / "take.lipsync.safetensors").read_bytes()
    assert _footage("--sound-strip", "new", "--quality", "draft",
                    "--learnt", str(learnt)) == 0
    assert "its learnt generator take.lipsync.safetensors was used" in capsys.readouterr().out
    assert _footage("--learn", "--sound-strip", "own", "--steps", "3",
                    "--learnt", str(learnt)) == 2
    assert "already exists" in capsys.readouterr().err
    assert (learnt / "take.lipsync.safetensors").read_bytes() == weights


def test_a_cancelled_learning_leaves_nothing(footage, tmp_path):
    scene = _scene(footage, tmp_path)
    learnt = tmp_path / "learnt"
    request = FootageRequest(scene=scene.name, strip="take", sound_strip="own",
                             learnt_dir=str(learnt), locator="parser",
                             settings=LearnSettings(steps=50))
    asked = iter(range(10 ** 6))
    with pytest.raises(Cancelled):
        LearnFootageJob(request).run(should_cancel=lambda: next(asked) > 40)
    assert list(learnt.iterdir()) == []


def test_bad_input_names_what_is_wrong(footage, tmp_path, capsys):
    scene = _scene(footage, tmp_path)
    assert headless.blender_command(["footage", "--strip", "nowhere"]) == 2
    assert "no strip named 'nowhere'" in capsys.readouterr().err
    save_wav(tmp_path / "quiet.wav", np.zeros(16000 * 3, np.float32), 16000)
    scene.sequence_editor.strips.new_sound("quiet", str(tmp_path / "quiet.wav"), 4, 1)
    assert _footage("--sound-strip", "quiet") == 2
    assert "silent" in capsys.readouterr().err
    assert not (tmp_path / "lipsync_cache").exists() or not any(
        (tmp_path / "lipsync_cache").rglob("*.png")), "nothing written on bad input"


def test_the_panels_operator_lip_syncs_the_chosen_strip(footage, tmp_path, registered):
    scene = _scene(footage, tmp_path)
    settings = scene.lipsync
    settings.device, settings.quality = "CPU", "DRAFT"
    assert not bpy.ops.lipsync.sync_footage.poll(), "no footage strip picked"
    settings.footage_strip, settings.footage_speech = "take", "new"
    settings.learnt_dir = str(tmp_path / "learnt")
    assert bpy.ops.lipsync.sync_footage() == {"FINISHED"}
    names = [s.name for s in scene.sequence_editor.strips if "lipsync_pass" in s]
    assert names == ["take · new"]
