"""Headless use: the `blender -c lipsync` command function, `python -m lipsync blend`, and
the modal operator's runner (worker thread, progress, cancel) driven tick by tick."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon import headless  # noqa: E402
from lipsync.addon.jobs.preprocess_job import PreprocessJob  # noqa: E402
from lipsync.addon.ui.operators import request_from_settings  # noqa: E402
from lipsync.addon.jobs.runner import JobRunner  # noqa: E402
from lipsync.core.errors import Cancelled, InputError  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_blender_command_runs_the_job_and_saves_a_copy(shot, tmp_path, capsys):
    saved = tmp_path / "result.blend"
    code = headless.blender_command(["preprocess", "--character", "Head", "--mouth-group",
                                     "mouth", "--start", "2", "--end", "6",
                                     "--save-as", str(saved)])
    assert code == 0, capsys.readouterr().err
    assert "5 frames preprocessed" in capsys.readouterr().out
    assert saved.is_file() and shot.blend.is_file()
    strips = [s for s in shot.scene.sequence_editor.strips if "lipsync_pass" in s]
    assert len(strips) == 4 and all(s.frame_final_start == 2 for s in strips)


def test_blender_command_reports_bad_input_with_exit_code_2(shot, capsys):
    assert headless.blender_command(["preprocess", "--character", "Nobody"]) == 2
    assert "is not a mesh object" in capsys.readouterr().err
    assert headless.blender_command(["preprocess", "--fusion-weight", "1.5"]) == 2


@pytest.mark.parametrize("name", ["preprocess", "sync", "render"])
def test_every_blender_command_takes_verbose(shot, tmp_path, capsys, name):
    command = [name] + (["--out", str(tmp_path / "out")] if name == "render" else [])
    logger = logging.getLogger("lipsync")
    level = logger.level
    try:
        assert headless.blender_command(command + ["--character", "Nobody", "--verbose"]) == 2
        assert logger.isEnabledFor(logging.DEBUG)
        assert headless.blender_command(command + ["--character", "Nobody"]) == 2
        assert not logger.isEnabledFor(logging.DEBUG), "INFO without --verbose"
    finally:
        logger.setLevel(level)
    assert "Nobody" in capsys.readouterr().err


def test_python_m_lipsync_blend(shot, tmp_path):
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    out = subprocess.run([sys.executable, "-m", "lipsync", "blend", str(shot.blend), "preprocess",
                          "--character", "Head", "--start", "1", "--end", "3",
                          "--save-as", str(tmp_path / "done.blend")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "done.blend").is_file()
    runs = list((shot.folder / "lipsync_cache").glob("*/Head_*"))
    assert len(runs) == 1 and len(list((runs[0] / "passes" / "blur").glob("*.png"))) == 3


def _drive(runner, cancel_after=None, limit=600):
    start, ticks = time.monotonic(), 0
    while time.monotonic() - start < limit:
        state = runner.tick()
        ticks += 1
        if cancel_after is not None and ticks == cancel_after:
            runner.cancel()
        if state != "RUNNING":
            return state
        time.sleep(0.01)
    raise TimeoutError


def test_runner_completes_off_the_main_thread(shot):
    runner = JobRunner(PreprocessJob(request_from_settings(shot.scene)))
    runner.start()
    assert _drive(runner) == "DONE"
    assert runner.progress == 1.0 and len(runner.result.strips) == 4


@pytest.mark.parametrize("cancel_after", [3, 12])  # while rendering; while computing
def test_runner_cancel_leaves_nothing(shot, cancel_after):
    runner = JobRunner(PreprocessJob(request_from_settings(shot.scene)))
    runner.start()
    assert _drive(runner, cancel_after=cancel_after) == "FAILED"
    assert isinstance(runner.error, Cancelled)
    assert not [s for s in shot.scene.sequence_editor.strips if "lipsync_pass" in s]
    assert list((shot.folder / "lipsync_cache").glob("*/*")) == []


def test_runner_start_with_bad_input_writes_nothing(shot):
    shot.scene.lipsync.use_scene_range = False
    shot.scene.lipsync.frame_start, shot.scene.lipsync.frame_end = 400, 410
    runner = JobRunner(PreprocessJob(request_from_settings(shot.scene)))
    with pytest.raises(InputError, match="outside the audio"):
        runner.start()
    assert not (shot.folder / "lipsync_cache").exists()
