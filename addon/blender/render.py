"""Render the active camera's view, one frame at a time, into the add-on's cache.

The scene's own engine, samples, resolution and colour management are used.
Only what the cache needs is overridden for the duration of one render (output
path, PNG format, no sequencer) and put back afterwards, so the user's render
output and settings are never touched.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable

import bpy

from ...core.errors import InputError
from .quiet import quiet_blender


def require_camera(scene) -> bpy.types.Object:
    """The scene's active camera, or InputError saying how to set one."""
    camera = scene.camera
    if camera is None or camera.type != "CAMERA":
        raise InputError(f"Scene '{scene.name}' has no active camera: add a camera and make it "
                         "active (View > Cameras > Set Active Object as Camera).")
    return camera


@contextmanager
def temporary_settings(changes):
    """Set each (owner, attribute, value) of `changes` for the duration, then restore all.

    Every value is read before any is changed (some settings reset others, e.g. a new
    view transform resets the look) and restored in the given order, so list dependent
    settings after what they depend on (media type before file format).
    """
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in changes]
    try:
        for owner, name, value in changes:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


@contextmanager
def cache_render_settings(scene, filepath: str):
    """Temporarily render stills to `filepath` as 8-bit RGB PNG, 3D view only."""
    render, fmt = scene.render, scene.render.image_settings
    frame = scene.frame_current
    changes = ((render, "filepath", filepath), (render, "use_file_extension", False),
               (render, "use_sequencer", False), (fmt, "media_type", "IMAGE"),
               (fmt, "file_format", "PNG"), (fmt, "color_mode", "RGB"), (fmt, "color_depth", "8"))
    try:
        with temporary_settings(changes):
            yield
    finally:
        scene.frame_set(frame)


def render_frame(scene, frame: int, path: str) -> str:
    """Render scene frame `frame` through the active camera to the PNG `path`.

    Writes to ``path + '.part'`` first and renames, so a cancelled render leaves no
    half-written frame. Returns `path`.
    """
    require_camera(scene)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".part.png"
    with cache_render_settings(scene, partial):
        scene.frame_set(frame)
        with quiet_blender():
            bpy.ops.render.render(write_still=True, scene=scene.name)
    if not os.path.isfile(partial):
        raise InputError(f"Rendering frame {frame} of scene '{scene.name}' wrote no image: "
                         "check the render engine and camera.")
    os.replace(partial, path)
    return path


def render_range(scene, first: int, last: int, folder: str, digits: int = 5,
                 progress: Callable[[int, int, str], None] | None = None) -> list[str]:
    """Render scene frames first..last in one animation render into `folder`.

    One render call for the whole range saves Blender's per-render set-up (about a
    quarter of a 128 px Workbench frame). Files are ``folder/NNNNN.png`` (`digits` digits,
    zero-padded); the scene's frame range, output path and format are as before afterwards.
    `progress(done, total, message)` is called as each frame is written. Returns the paths.
    """
    require_camera(scene)
    os.makedirs(folder, exist_ok=True)
    total = last - first + 1
    written = []

    def on_write(_scene, *_):
        written.append(1)
        if progress is not None:
            progress(len(written), total, f"rendered frame {first + len(written) - 1}")

    changes = ((scene, "frame_start", first), (scene, "frame_end", last))
    handlers = bpy.app.handlers.render_write
    handlers.append(on_write)
    try:
        with temporary_settings(changes), \
                cache_render_settings(scene, os.path.join(folder, "#" * digits)), quiet_blender():
            scene.render.use_file_extension = True
            bpy.ops.render.render(animation=True, scene=scene.name)
    finally:
        handlers.remove(on_write)
    paths = [os.path.join(folder, f"{frame:0{digits}d}.png") for frame in range(first, last + 1)]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise InputError(f"Rendering frames {first}-{last} of scene '{scene.name}' wrote no "
                         f"image for {len(missing)} frames: check the render engine and camera.")
    return paths
