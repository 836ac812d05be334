"""Helpers shared by the lip-sync job's tests: neutral (closed-mouth) shots, custom sound,
the add-on's strips and run folders, and a snapshot of what a failed run must not change."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync.core.audio import load_audio, save_wav  # noqa: E402

SPEECH = Path(__file__).resolve().parents[2] / "demo" / "speech.wav"
SPEECH_START = 0.3      # s: demo/speech.wav is silent before this


def neutral(shot):
    """The head keeps its mouth closed on every frame (no shape-key animation)."""
    keys = shot.head.data.shape_keys
    keys.animation_data_clear()
    keys.key_blocks["open"].value = 0.0
    return shot


def speech(seconds: float, start: float = SPEECH_START) -> np.ndarray:
    samples = load_audio(SPEECH, sample_rate=16000)
    first = int(start * 16000)
    return samples[first:first + int(seconds * 16000)]


def set_sound(shot, samples: np.ndarray, name: str = "dialogue", channel: int = 1,
              frame_start: int = 1, keep_others: bool = False):
    """Replace the shot's sound strips by one strip playing `samples` (16 kHz)."""
    path = shot.folder / f"{name}.wav"
    save_wav(path, np.asarray(samples, np.float32), 16000)
    editor = shot.scene.sequence_editor or shot.scene.sequence_editor_create()
    if not keep_others:
        for strip in [s for s in editor.strips if s.type == "SOUND"]:
            editor.strips.remove(strip)
    strip = editor.strips.new_sound(name, str(path), channel, frame_start)
    shot.scene.lipsync.sound_strip = strip.name if keep_others else ""
    return strip


def our_strips(scene, pass_name: str | None = None) -> list:
    editor = scene.sequence_editor
    found = [s for s in editor.strips if "lipsync_key" in s] if editor else []
    if pass_name is not None:
        found = [s for s in found if s["lipsync_pass"] == pass_name]
    return sorted(found, key=lambda s: s.channel)


def run_dirs(shot) -> list[Path]:
    root = shot.folder / "lipsync_cache"
    return sorted(p for p in root.glob("*/*") if p.is_dir()) if root.exists() else []


def read(path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def snapshot(shot) -> dict:
    """What a refused, failed or cancelled run must leave exactly as it was."""
    scene = shot.scene
    editor = scene.sequence_editor
    render = scene.render
    return {
        "strips": sorted((s.name, s.channel, s.frame_final_start, s.frame_final_duration)
                         for s in editor.strips_all) if editor else [],
        "files": files_under(shot.folder),
        "frame": scene.frame_current,
        "range": (scene.frame_start, scene.frame_end),
        "render": (render.filepath, render.image_settings.file_format, render.resolution_x,
                   render.resolution_y, render.fps, render.fps_base, render.use_sequencer),
        "scenes": sorted(s.name for s in bpy.data.scenes),
        "sounds": len(bpy.data.sounds),
    }
