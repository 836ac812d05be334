"""An mp4 preview (H.264 video, AAC sound) of image sequences with their audio.

The preview is rendered from a temporary scene that holds only the picture strips and
the sound, with the Standard view transform (the frames are shown as stored); the
temporary scene and its sound are deleted afterwards, so the user's scene and its render
settings are never touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy

from ...core.errors import InputError
from .quiet import quiet_blender

TEMP_SCENE = "Lip Sync preview (temporary)"


@dataclass(frozen=True)
class Sequence:
    """Image files `filenames` in `folder`, one per frame."""

    folder: str
    filenames: list[str]


def _copy_timing(source, target, width: int, height: int, n_frames: int) -> None:
    r, s = target.render, source.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = width, height, 100
    r.pixel_aspect_x, r.pixel_aspect_y = s.pixel_aspect_x, s.pixel_aspect_y
    r.fps, r.fps_base = s.fps, s.fps_base
    target.frame_start, target.frame_end = 1, n_frames
    view = target.view_settings
    view.view_transform, view.look = "Standard", "None"
    view.exposure, view.gamma = 0.0, 1.0


def _set_mp4(render, path: str) -> None:
    render.use_sequencer = True
    render.image_settings.media_type = "VIDEO"      # before the file format (5.0)
    render.image_settings.file_format = "FFMPEG"
    render.ffmpeg.format = "MPEG4"
    render.ffmpeg.codec = "H264"
    render.ffmpeg.constant_rate_factor = "HIGH"
    render.ffmpeg.audio_codec = "AAC"
    render.ffmpeg.audio_channels = "MONO"
    render.ffmpeg.audio_mixrate = 48000
    render.use_file_extension = False
    render.filepath = path


def render_preview(scene, panels: list[Sequence], audio_path: str, out_path: str,
                   size: tuple[int, int]) -> str:
    """Render `panels` side by side (each `size` = (width, height) px, left to right) with
    the sound file `audio_path` (its t=0 on the first frame) into the mp4 `out_path`.

    `scene` gives the frame rate and pixel aspect only. Returns `out_path`.
    """
    n_frames = len(panels[0].filenames)
    width, height = size
    width += width % 2                              # H.264 wants even sides
    height += height % 2
    temp = bpy.data.scenes.new(TEMP_SCENE)
    sound = None
    try:
        _copy_timing(scene, temp, width * len(panels), height, n_frames)
        editor = temp.sequence_editor_create()
        for i, panel in enumerate(panels):
            strip = editor.strips.new_image(name=f"panel {i}",
                                            filepath=os.path.join(panel.folder,
                                                                  panel.filenames[0]),
                                            channel=i + 2, frame_start=1, fit_method="ORIGINAL")
            for filename in panel.filenames[1:]:
                strip.elements.append(filename)
            strip.transform.offset_x = (i - (len(panels) - 1) / 2) * width
            strip.blend_type = "ALPHA_OVER"
        sound_strip = editor.strips.new_sound("sound", audio_path, 1, 1)
        sound = sound_strip.sound
        _set_mp4(temp.render, out_path)
        with quiet_blender():
            bpy.ops.render.render(animation=True, scene=temp.name)
    finally:
        bpy.data.scenes.remove(temp)
        if sound is not None and sound.users == 0:
            bpy.data.sounds.remove(sound)
    if not os.path.isfile(out_path):
        raise InputError(f"The preview render wrote no '{out_path}': check that the folder "
                         "is writable.")
    return out_path
