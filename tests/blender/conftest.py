"""Fixtures for tests that run the real bpy module: a talking-head shot built in code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon.factory.talking_head import build_talking_head  # noqa: E402

SPEECH = Path(__file__).resolve().parents[2] / "demo" / "speech.wav"


@pytest.fixture(scope="session")
def registered():
    """The add-on registered once for the whole session (as Blender would on enable)."""
    import lipsync

    lipsync.register()
    yield
    lipsync.unregister()


@dataclass
class Shot:
    scene: object
    head: object
    blend: Path
    folder: Path


def build_shot(folder: Path, n_frames: int = 10, resolution=(96, 96), engine="CYCLES",
              samples: int = 4, fps: int = 25, sound: bool = True) -> Shot:
    """A fresh file: talking head (mouth opening and closing), camera, speech strip, saved."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, 1.0
    scene.frame_start, scene.frame_end = 1, n_frames
    mouth = 0.5 - 0.5 * np.cos(np.linspace(0, 2 * np.pi, n_frames))
    head = build_talking_head(scene, resolution=resolution, engine=engine, samples=samples,
                              mouth_open=mouth)
    if sound:
        scene.sequence_editor_create().strips.new_sound("speech", str(SPEECH), 1, 1)
    blend = folder / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    settings = scene.lipsync
    settings.character = head.head
    settings.mouth_group = head.mouth_group
    return Shot(scene, head.head, blend, folder)


@pytest.fixture
def make_shot(tmp_path, registered):
    """Build a shot in this test's folder: ``make_shot(n_frames=..., sound=...)``."""
    return lambda **options: build_shot(tmp_path, **options)


@pytest.fixture
def shot(make_shot) -> Shot:
    return make_shot()
