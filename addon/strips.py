"""Sequencer strips: frames of existing image/movie strips, and new image-sequence strips.

Strips the add-on creates carry the custom property ``lipsync_pass`` (the pass
name) and ``lipsync_run`` (the run folder), so later runs can tell the add-on's
strips from the user's. The user's strips are never changed.
"""

from __future__ import annotations

import os

import bpy

from ..core.errors import InputError

MAX_CHANNEL = 128


def _overlaps(strip, start: int, end: int) -> bool:
    """Whether `strip` occupies any frame of [start, end) (end exclusive)."""
    return strip.frame_final_start < end and start < strip.frame_final_end


def free_channel(editor, start: int, end: int, above: int = 0) -> int:
    """The lowest channel > `above` with no strip on frames [start, end)."""
    for channel in range(above + 1, MAX_CHANNEL + 1):
        if not any(s.channel == channel and _overlaps(s, start, end) for s in editor.strips):
            return channel
    raise InputError(f"No free sequencer channel above {above} for frames {start}-{end - 1}: "
                     "remove or move some strips.")


def require_frames_strip(scene, name: str, first: int, last: int):
    """The image or movie strip `name`, checked to cover scene frames first..last."""
    strip = find_strip(scene, name)
    if strip.type not in {"IMAGE", "MOVIE"}:
        raise InputError(f"Strip '{name}' is a {strip.type.lower()} strip: pick an image or "
                         "movie strip as the frames.")
    if first < strip.frame_final_start or last >= strip.frame_final_end:
        raise InputError(f"Frames {first}-{last} are not all inside strip '{name}' "
                         f"({strip.frame_final_start}-{strip.frame_final_end - 1}): narrow the "
                         "frame range or extend the strip.")
    return strip


def image_strip_frames(scene, strip_name: str, first: int, last: int) -> list[str]:
    """Absolute file paths of image strip `strip_name` for scene frames first..last."""
    strip = require_frames_strip(scene, strip_name, first, last)
    directory = bpy.path.abspath(strip.directory)
    paths = []
    for frame in range(first, last + 1):
        element = strip.elements[min(int(frame - strip.frame_start), len(strip.elements) - 1)]
        path = os.path.join(directory, element.filename)
        if not os.path.isfile(path):
            raise InputError(f"Frame {frame} of strip '{strip_name}' is missing: '{path}'.")
        paths.append(path)
    return paths


def movie_strip_source(scene, strip_name: str, first: int, last: int) -> tuple[str, int]:
    """(movie file path, movie frame index of scene frame `first`) for a movie strip."""
    strip = require_frames_strip(scene, strip_name, first, last)
    path = bpy.path.abspath(strip.filepath)
    if not os.path.isfile(path):
        raise InputError(f"The movie of strip '{strip_name}' is missing: '{path}'.")
    return path, int(first - strip.frame_start)


def find_strip(scene, name: str):
    editor = scene.sequence_editor
    strip = editor.strips_all.get(name) if editor is not None else None
    if strip is None:
        raise InputError(f"Scene '{scene.name}' has no strip named '{name}'.")
    return strip


def add_image_sequence(scene, name: str, folder: str, filenames: list[str], frame_start: int,
                       above: int, pass_name: str, run_dir: str):
    """Add an image-sequence strip of `filenames` in `folder` on the lowest free channel > `above`."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    end = frame_start + len(filenames)
    channel = free_channel(editor, frame_start, end, above)
    strip = editor.strips.new_image(name=name, filepath=os.path.join(folder, filenames[0]),
                                    channel=channel, frame_start=frame_start, fit_method="FIT")
    for filename in filenames[1:]:
        strip.elements.append(filename)
    strip["lipsync_pass"] = pass_name
    strip["lipsync_run"] = run_dir
    return strip
