"""Sequencer strips: frames of existing image/movie strips, and new image-sequence strips.

Strips the add-on creates carry the custom property ``lipsync_pass`` (the pass
name) and ``lipsync_run`` (the run folder), so later runs can tell the add-on's
strips from the user's; the lip-sync job's strips also carry ``lipsync_key`` (which
characters and audio they show), so a later run for the same characters and audio
replaces exactly those (`replace_tagged`). The user's strips are never changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy

from ...core.errors import InputError

MAX_CHANNEL = 128


def _overlaps(strip, start: int, end: int) -> bool:
    """Whether `strip` occupies any frame of [start, end) (end exclusive)."""
    return strip.frame_final_start < end and start < strip.frame_final_end


def channel_is_free(editor, channel: int, start: int, end: int, ignore=None) -> bool:
    """Whether no strip but `ignore` occupies `channel` on frames [start, end)."""
    return not any(s.channel == channel and _overlaps(s, start, end) and s != ignore
                   for s in editor.strips)


def free_channel(editor, start: int, end: int, above: int = 0, ignore=None) -> int:
    """The lowest channel > `above` with no strip (but `ignore`) on frames [start, end)."""
    for channel in range(above + 1, MAX_CHANNEL + 1):
        if channel_is_free(editor, channel, start, end, ignore):
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
                       above: int, pass_name: str, run_dir: str, key: str = ""):
    """Add an image-sequence strip of `filenames` in `folder` on the lowest free channel > `above`,
    tagged with `pass_name`, `run_dir` and (when given) `key`."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    end = frame_start + len(filenames)
    channel = free_channel(editor, frame_start, end, above)
    strip = editor.strips.new_image(name=name, filepath=os.path.join(folder, filenames[0]),
                                    channel=channel, frame_start=frame_start, fit_method="FIT")
    for filename in filenames[1:]:
        strip.elements.append(filename)
    strip["lipsync_pass"] = pass_name
    strip["lipsync_run"] = run_dir
    if key:
        strip["lipsync_key"] = key
    return strip


def tagged_strips(scene, key: str) -> dict:
    """The add-on's strips tagged with `key`: {pass name: strip} (top-level strips only)."""
    editor = scene.sequence_editor
    if editor is None:
        return {}
    return {s["lipsync_pass"]: s for s in editor.strips
            if s.get("lipsync_key") == key and "lipsync_pass" in s}


@dataclass(frozen=True)
class NewStrip:
    """An image-sequence strip to add: `filenames` in `folder`, shown from `frame_start`."""

    pass_name: str
    name: str
    folder: str
    filenames: list[str]
    mute: bool = False


def replace_tagged(scene, key: str, new: list[NewStrip], frame_start: int, above: int,
                   run_dir: str) -> dict[str, str]:
    """Add the `new` strips one above the other (the first on the lowest free channel above
    `above`), then remove the add-on's earlier strips tagged `key` and move each new strip
    into the channel its predecessor of the same pass had, when that channel is free.

    The new strips are added before anything is removed, so a failure changes nothing.
    Returns {pass name: strip name}.
    """
    editor = scene.sequence_editor or scene.sequence_editor_create()
    old = tagged_strips(scene, key)
    old_channels = {name: strip.channel for name, strip in old.items()}
    made = []
    try:
        below = above
        for item in new:
            strip = add_image_sequence(scene, item.name, item.folder, item.filenames,
                                       frame_start, below, item.pass_name, run_dir, key)
            strip.mute = item.mute
            made.append(strip)
            below = strip.channel
    except Exception:
        for strip in made:
            editor.strips.remove(strip)
        raise
    for strip in old.values():
        editor.strips.remove(strip)
    below = above
    for strip, item in zip(made, new):
        start, end = strip.frame_final_start, strip.frame_final_end
        wanted = old_channels.get(item.pass_name)
        if (wanted is not None and wanted > below
                and channel_is_free(editor, wanted, start, end, ignore=strip)):
            strip.channel = wanted
        else:
            lowest = free_channel(editor, start, end, below, ignore=strip)
            if lowest < strip.channel:
                strip.channel = lowest
        strip.name = item.name          # the predecessor's name is free now
        below = strip.channel
    return {item.pass_name: strip.name for strip, item in zip(made, new)}
