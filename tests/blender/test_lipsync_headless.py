"""The headless `sync` and `render` commands: `blender -b shot.blend -c lipsync ...` (its
command function) and `python -m lipsync blend shot.blend ...` (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync_helpers import (files_under, neutral, our_strips,  # noqa: E402
                             read, run_dirs, speech)

from lipsync.addon import headless  # noqa: E402
from lipsync.core.audio import save_wav  # noqa: E402
from lipsync.core.preprocess.keypoints import KeypointTrack  # noqa: E402

pytestmark = pytest.mark.blender

FAST = dict(resolution=(96, 96), engine="BLENDER_WORKBENCH")


def test_sync_command_puts_the_result_on_the_sequencer(make_shot, tmp_path, capsys):
    shot = neutral(make_shot(n_frames=14, **FAST))
    saved = tmp_path / "synced.blend"
    code = headless.blender_command(["sync", "--character", "Head", "--mouth-group", "mouth",
                                     "--start", "3", "--end", "12", "--device", "cpu",
                                     "--quality", "draft", "--matte", "--revoice",
                                     "--save-as", str(saved)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "10 frames (3-12)" in out.out and "Head (10 frames)" in out.out
    assert "passed through unchanged (mouth not visible): none" in out.out
    assert "output:" in out.out and " s on cpu" in out.out
    frames, result, matte = our_strips(shot.scene)
    assert result.name == "Head · speech" and result["lipsync_pass"] == "lipsync"
    for strip in (frames, result, matte):
        assert (strip.frame_final_start, strip.frame_final_duration) == (3, 10)
    assert frames.channel < result.channel < matte.channel
    (run,) = run_dirs(shot)
    record = json.loads((run / "run.json").read_text())
    options = record["request"]["options"]
    assert options["quality"] == "draft" and options["revoice"] == "on" and options["matte"]
    assert record["report"]["revoice"] == "on" and record["report"]["revoiced"] == ["Head"]
    for frame in (3, 12):
        mask = read(run / "lipsync" / "matte" / f"{frame:04d}.png")
        before = read(run / "frames" / f"{frame:04d}.png")
        after = read(run / "lipsync" / f"{frame:04d}.png")
        assert np.array_equal(after[mask == 0], before[mask == 0])
    assert saved.is_file() and shot.blend.is_file()


def test_sync_command_with_an_audio_file_instead_of_a_strip(make_shot, tmp_path, capsys):
    shot = neutral(make_shot(n_frames=10, **FAST))
    dub = tmp_path / "dub_fr.wav"
    save_wav(dub, speech(0.3), 16000)                         # shorter than the 0.4 s shot
    code = headless.blender_command(["sync", "--audio", str(dub), "--device", "cpu"])
    out = capsys.readouterr()
    assert code == 0, out.err
    (result,) = our_strips(shot.scene, "lipsync")
    assert result.name == "Head · dub_fr" and result["lipsync_key"] == "Head:dub_fr"
    assert "note: character 'Head': the audio ends" in out.out


@pytest.mark.slow
def test_python_m_lipsync_blend_sync(make_shot, tmp_path):
    shot = neutral(make_shot(n_frames=10, **FAST))
    bpy.ops.wm.save_mainfile()
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "lipsync", "blend", str(shot.blend), "sync",
                          "--device", "cpu", "--save-as", str(tmp_path / "done.blend")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Lip Sync: 10 frames" in out.stdout
    (run,) = run_dirs(shot)
    assert len(list((run / "lipsync").glob("*.png"))) == 10
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "done.blend"))
    strips = [s for s in bpy.context.scene.sequence_editor.strips if "lipsync_key" in s]
    assert sorted(s["lipsync_pass"] for s in strips) == ["frames", "lipsync"]


def test_render_command_writes_frames_keypoints_and_render_json(make_shot, tmp_path, capsys):
    shot = make_shot(n_frames=8, **FAST)
    out_dir = tmp_path / "render_out"
    code = headless.blender_command(["render", "--out", str(out_dir), "--start", "2",
                                     "--end", "7"])
    assert code == 0, capsys.readouterr().err
    info = json.loads((out_dir / "render.json").read_text())
    assert info["fps"] == 25.0 and (info["frame_start"], info["frame_end"]) == (2, 7)
    assert info["character"] == "Head"
    assert sorted(p.name for p in (out_dir / "frames").iterdir()) == [
        f"{f:04d}.png" for f in range(2, 8)]
    assert read(out_dir / "frames" / "0002.png").shape == (96, 96, 3)
    track = KeypointTrack.load(out_dir / "keypoints.npz")
    assert track.points.shape == (6, 1, 25, 2) and track.visible.all()
    assert list(track.frames) == list(range(2, 8))
    assert sorted(p.name for p in out_dir.iterdir()) == ["frames", "keypoints.npz",
                                                         "render.json"]
    assert not [s for s in shot.scene.sequence_editor.strips if "lipsync_pass" in s]


def test_render_command_refuses_a_full_folder_and_cleans_up_on_failure(make_shot, tmp_path,
                                                                        capsys):
    shot = make_shot(n_frames=4, **FAST)
    full = tmp_path / "full"
    full.mkdir()
    (full / "mine.txt").write_text("keep")
    assert headless.blender_command(["render", "--out", str(full)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert files_under(full) == ["mine.txt"]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert headless.blender_command(["render", "--out", str(empty),
                                     "--mouth-group", "nope"]) == 2
    assert "no vertex group 'nope'" in capsys.readouterr().err
    assert files_under(empty) == []

    bpy.data.objects.remove(shot.scene.camera)
    assert headless.blender_command(["render", "--out", str(tmp_path / "new")]) == 2
    assert "no active camera" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_sync_command_exit_codes_for_bad_input(make_shot, capsys):
    make_shot(n_frames=4, **FAST)
    assert headless.blender_command(["sync", "--character", "Nobody"]) == 2
    assert "is not a mesh object" in capsys.readouterr().err
    assert headless.blender_command(["sync", "--quality", "best"]) == 2
    assert headless.blender_command(["sync", "--audio", "/no/such/file.wav"]) == 2
    assert "not found" in capsys.readouterr().err
    assert headless.blender_command(["sync", "--batch", "0"]) == 2
    assert "batch = 0" in capsys.readouterr().err
