"""Blender's own render lines stay off the console (fds 1 and 2) unless the `lipsync` logger
is at DEBUG; Python's output, from any thread, stays visible; everything is restored."""

from __future__ import annotations

import logging
import os
import sys
import threading

import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon.blender.quiet import quiet_blender  # noqa: E402
from lipsync.addon.blender.render import render_frame, render_range  # noqa: E402
from lipsync.core.progress import ConsoleProgress  # noqa: E402

pytestmark = pytest.mark.blender


@pytest.fixture
def tiny_scene():
    """An empty scene with a camera, Workbench at 16 x 16 px."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = 16
    return scene


@pytest.fixture
def verbose():
    logger = logging.getLogger("lipsync")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield
    logger.setLevel(level)


def test_renders_are_quiet_and_the_bar_stays(tiny_scene, tmp_path, capfd):
    bar = ConsoleProgress("render", unit="frames")
    render_frame(tiny_scene, 1, str(tmp_path / "one.png"))
    render_range(tiny_scene, 1, 3, str(tmp_path / "range"), progress=bar)
    print("after the renders")
    out, err = capfd.readouterr()
    assert "Saved:" not in out + err
    assert err.count("render: ") == 3 and "3/3 frames" in err       # one line per frame, not a tty
    assert "after the renders" in out
    assert (tmp_path / "one.png").is_file() and (tmp_path / "range" / "00003.png").is_file()


def test_verbose_shows_blender_lines(tiny_scene, tmp_path, capfd, verbose):
    render_frame(tiny_scene, 1, str(tmp_path / "one.png"))
    out, err = capfd.readouterr()
    assert "Saved:" in out + err


def test_threads_and_descriptors_during_and_after(tiny_scene, tmp_path, capfd):
    written = []

    def worker():
        for i in range(50):
            sys.stderr.write(f"worker {i}\n")
            written.append(i)

    stdout_fd = os.dup(1)
    with quiet_blender():
        thread = threading.Thread(target=worker)
        thread.start()
        bpy.ops.render.render(write_still=False)
        os.write(1, b"C-level line\n")                  # what Blender writes: hidden
        print("python line")                            # what Python writes: shown
        thread.join()
    os.write(1, b"C-level after\n")                     # descriptors restored
    out, err = capfd.readouterr()
    assert "C-level line" not in out and "C-level after" in out and "python line" in out
    assert all(f"worker {i}\n" in err for i in range(50)) and len(written) == 50
    assert os.path.samestat(os.fstat(1), os.fstat(stdout_fd))
    os.close(stdout_fd)


def test_nested_and_failing_blocks_restore_and_explain(tiny_scene, tmp_path, capfd):
    before = sys.stdout, sys.stderr
    with pytest.raises(RuntimeError, match="boom"):
        with quiet_blender():
            with quiet_blender():
                render_frame(tiny_scene, 1, str(tmp_path / "one.png"))
                print("inner python line")
            os.write(2, b"Blender said why\n")
            raise RuntimeError("boom")
    assert (sys.stdout, sys.stderr) == before
    os.write(2, b"stderr works\n")
    out, err = capfd.readouterr()
    assert "inner python line" in out and "stderr works" in err
    # After the error, the tail of what Blender wrote is shown.
    assert "Blender's output before the error:" in err and "Blender said why" in err and "Saved:" in err


def test_logging_handlers_write_through(tiny_scene, tmp_path, capfd):
    handler = logging.StreamHandler(sys.stderr)
    logger = logging.getLogger("lipsync")
    logger.addHandler(handler)
    try:
        with quiet_blender():
            logging.getLogger("lipsync.test").warning("a warning inside")
        assert handler.stream is sys.stderr
    finally:
        logger.removeHandler(handler)
    assert "a warning inside" in capfd.readouterr().err
