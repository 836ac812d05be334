"""Shots for Learn Character tests and measures: a factory character (viseme shape keys by
the factory's names) or a plain face (tests/blender/plain_heads.py, Oculus names or none)
in front of a camera, the mouth keyed to a few values as an animator would, saved."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import bpy

FPS = 25


def _save(scene, obj, folder: Path, name: str) -> Path:
    """Key the last shape key at 0.3 (the user's own animation), pick the character in the
    panel when the add-on is registered, save."""
    keys = obj.data.shape_keys
    if keys is not None:
        keys.key_blocks[-1].value = 0.3
        keys.key_blocks[-1].keyframe_insert("value", frame=1)
    if hasattr(scene, "lipsync"):
        scene.lipsync.character = obj
    blend = folder / f"{name}.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    return blend


def factory_shot(folder: Path, seed: int = 3, resolution: int = 96,
                 engine: str = "BLENDER_WORKBENCH", name: str = "shot",
                 family: str = "cartoon") -> tuple[Path, str]:
    """(saved .blend, character name): factory character `seed` of `family`, its seeded
    shot seen from the front (no head sway), the scene's frames 1-24."""
    from lipsync.addon.factory.character import build_character, face_anchor
    from lipsync.addon.factory.character_spec import CharacterSpec
    from lipsync.addon.factory.shot import ShotSpec, setup_shot
    from lipsync.addon.factory.toon import style_scene

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    scene.frame_start, scene.frame_end = 1, 24
    character = build_character(scene, CharacterSpec.random(seed, family))
    shot = dataclasses.replace(ShotSpec.random(seed, engine=engine, resolution=resolution),
                               yaw_deg=0.0, pitch_deg=0.0, head_sway_deg=0.0)
    setup_shot(scene, character.object, face_anchor(character), shot)
    style_scene(scene, character)
    character.object.name = "Hero"
    return _save(scene, character.object, folder, name), character.object.name


def plain_shot(folder: Path, keys: dict | None, resolution: int = 96,
               name: str = "plain") -> tuple[Path, str]:
    """(saved .blend, character name): the plain face with shape keys `keys` (None: no
    mouth controls at all) lit from the front, Workbench."""
    from math import radians

    from plain_heads import face_object

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    scene.frame_start, scene.frame_end = 1, 24
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = resolution
    face = face_object("Face", keys or {}, scene)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    cam.location, cam.rotation_euler = (0.0, -0.55, -0.02), (radians(90), 0.0, 0.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    return _save(scene, face, folder, name), face.name
