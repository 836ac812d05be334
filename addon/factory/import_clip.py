"""One clip of an imported character (`import_character`), in the factory's clip format.

The same files as a factory clip (`clip.py`: crops.npz, frames.npz, keypoints_*.npz,
audio.wav, visemes.npy, phonemes.json, clip.json), rendered the same way: the plan's
sentence spoken by espeak-ng, the character's own controls driven from the viseme track
(`neutral`: every mapped control at rest, the mouth closed; `talking`; maybe `dub`),
exact keypoints projected from its lip vertices (chosen on the mouth held open,
`open_landmarks`). The shot is the factory's seeded shot
(`shot.ShotSpec`: engine, lens, lights, world) seen nearly from the front (yaw and pitch
scaled by `FRONT_YAW` / `FRONT_PITCH`) with no head sway, framed by the mouth.

Part labels: an imported mesh carries no part classes, so `labels` is a matte:
`reader.UNLABELLED` on the character's pixels, 0 (background) elsewhere; clip.json says
``"labels": "matte"`` and the reader keeps such clips out of the parser's batches.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import numpy as np

from ...core.dataset.plan import ClipPlan
from ...core.dataset.reader import MATTE_LABELS, UNLABELLED
from ...core.progress import CancelFn, ProgressFn, never_cancel, no_progress
from .clip import ClipOptions, ClipRenderer, render_versions, speak_clip, store_clip, work_folder
from .import_character import CharacterSource

FRONT_YAW = 0.4     # the seeded shot's yaw (within +-40 deg) times this: +-16 deg
FRONT_PITCH = 0.5   # its pitch (within +-20 deg) times this: +-10 deg
_MATTE_CLASS = 1    # the palette colour the matte is rendered in


def front_shot(seed: int, options: ClipOptions):
    """The factory's seeded shot, nearly frontal and without head sway."""
    from .shot import ShotSpec

    shot = ShotSpec.random(seed, engine=options.engine, cycles_share=options.cycles_share,
                           fps=options.fps, resolution=options.resolution)
    return dataclasses.replace(shot, yaw_deg=shot.yaw_deg * FRONT_YAW,
                               pitch_deg=shot.pitch_deg * FRONT_PITCH, head_sway_deg=0.0)


def matte_labels(objects):
    """labels(scene, first, last) for `ClipRenderer`: (F, H, W) uint8, UNLABELLED where
    `objects` cover the pixel, 0 elsewhere."""
    from .labels import render_label_range

    names = {o.name for o in objects}

    def render(scene, first: int, last: int) -> np.ndarray:
        classes = render_label_range(scene, objects[0], first, last, class_of=lambda obj, _:
                                     _MATTE_CLASS if obj.name in names else 0)
        return np.where(classes == _MATTE_CLASS, UNLABELLED, 0).astype(np.uint8)

    return render


def frame_camera(scene, character) -> None:
    """Clip planes around the face, whatever the character's scale."""
    camera = scene.camera
    distance = float(np.linalg.norm(np.array(camera.location) - character.centre))
    camera.data.clip_start, camera.data.clip_end = distance / 100, distance * 100


def open_landmarks(renderer: ClipRenderer, character) -> None:
    """Pick the 25 keypoint vertices on the mouth held open (frame 1, viseme "open"): lips
    that are part of the face surface touch at rest, and only an open mouth shows which
    vertices line its inside (the inner contour). The versions' keys replace the pose."""
    from ...core.mesh.viseme_names import VISEMES
    from .import_character import drive

    track = np.zeros((1, len(VISEMES)))
    track[0, VISEMES.index("open")] = 1.0
    drive(character, track, 1)
    renderer.projector.project(1)


def build_shot(source: CharacterSource, shot, n_frames: int):
    """(scene, `ImportedCharacter`): a fresh file holding the character `source` in `shot`
    (a `shot.ShotSpec`), frames 1..n_frames, its mouth at rest."""
    import bpy

    from .import_character import load_character
    from .shot import setup_shot

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, n_frames
    scene.render.fps, scene.render.fps_base = shot.fps, 1.0
    character = load_character(scene, source)
    setup_shot(scene, character.object, character.anchor(), shot)
    frame_camera(scene, character)
    scene.display.shading.color_type = "TEXTURE"     # Workbench: the file's textures
    return scene, character


def make_imported_clip(plan: ClipPlan, source: CharacterSource, out_dir: str | os.PathLike,
                       options: ClipOptions = ClipOptions(), progress: ProgressFn = no_progress,
                       should_cancel: CancelFn = never_cancel) -> Path:
    """Render clip `plan` of character `source` into ``out_dir/<clip_id>``; returns it.

    Replaces the bpy module's current file; the character's file is only read."""
    from .import_character import drive

    final, work = work_folder(out_dir, plan.clip_id)
    try:
        shot = front_shot(plan.shot_seed, options)
        speech = speak_clip(plan, shot.fps, options.max_frames)
        scene, character = build_shot(source, shot, speech.n_frames)
        renderer = ClipRenderer(scene, character.object, work, speech.n_frames,
                                source.mouth_group, face=character.face,
                                labels=matte_labels(character.objects))
        open_landmarks(renderer, character)
        images, tracks, labels = render_versions(
            renderer, speech, lambda weights: drive(character, weights, 1), plan.clip_id,
            progress, should_cancel)
        imported = {"file": str(Path(source.path).resolve()), **character.to_dict()}
        return store_clip(work, final, plan, options, speech, images, tracks, labels,
                          {"character": imported, "shot": shot.to_dict(),
                           "labels": MATTE_LABELS})
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
