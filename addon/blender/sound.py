"""The scene's audio for a frame range: one sound strip, or all of them mixed.

Timing of a sound strip (checked against `bpy.ops.sound.mixdown` in the tests):
the file's time t plays at scene frame ``frame_start + (t + sound_offset) * fps``,
audible only between ``frame_final_start`` and ``frame_final_end`` (trims) and
never when the strip is muted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy
import numpy as np

from ...core.errors import AudioError, InputError


@dataclass(frozen=True)
class SceneAudio:
    """Audio samples for exactly the frames ``first_frame .. first_frame + n_frames - 1``.

    samples: (N,) float32 mono at `sample_rate`, N = AudioTiming.n_samples_for(n_frames).
    covered_frames: how many of the frames any selected strip covers (0 means silence).
    """

    samples: np.ndarray
    sample_rate: int
    fps: float
    first_frame: int
    n_frames: int
    covered_frames: int
    sources: tuple[str, ...]


def scene_timing(scene: bpy.types.Scene):
    """The scene's `AudioTiming` (fps / fps_base, e.g. exactly 30000/1001; the product's
    audio front end): build it once per shot and pass it on."""
    from ...core.audio import AudioTiming

    return AudioTiming.from_blender_fps(scene.render.fps, scene.render.fps_base)


def sound_strips(scene: bpy.types.Scene) -> list:
    """The scene's unmuted sound strips, in channel then start order."""
    editor = scene.sequence_editor
    if editor is None:
        return []
    strips = [s for s in editor.strips_all if s.type == "SOUND" and not s.mute]
    return sorted(strips, key=lambda s: (s.channel, s.frame_final_start))


def choose_sound_strips(scene: bpy.types.Scene, name: str, mix_all: bool) -> list:
    """The strips to read: the one named, all of them (`mix_all`), or the only one.

    Raises InputError naming the scene's sound strips when the choice is missing or ambiguous.
    """
    strips = sound_strips(scene)
    if not strips:
        raise InputError(f"Scene '{scene.name}' has no sound strip: add the audio in the "
                         "Video Sequencer (Add > Sound) and run again.")
    if mix_all:
        return strips
    if name:
        chosen = [s for s in strips if s.name == name]
        if not chosen:
            names = ", ".join(s.name for s in strips)
            raise InputError(f"No unmuted sound strip named '{name}' in scene '{scene.name}' "
                             f"(sound strips: {names}).")
        return chosen
    if len(strips) > 1:
        names = ", ".join(s.name for s in strips)
        raise InputError(f"Scene '{scene.name}' has {len(strips)} sound strips ({names}): "
                         "pick one in the Lip Sync panel (Audio) or choose 'Mix all'.")
    return strips


def _strip_file(strip, cache_dir: str) -> str:
    """A readable file path for the strip's sound (packed sounds are written out)."""
    sound = strip.sound
    path = bpy.path.abspath(sound.filepath, library=sound.library)
    if os.path.isfile(path):
        return path
    if sound.packed_file is not None:
        os.makedirs(cache_dir, exist_ok=True)
        out = os.path.join(cache_dir, f"packed_{bpy.path.clean_name(sound.name)}"
                           f"{os.path.splitext(sound.filepath)[1] or '.wav'}")
        with open(out, "wb") as fh:
            fh.write(sound.packed_file.data)
        return out
    raise AudioError(f"Sound strip '{strip.name}': its file '{path}' does not exist. "
                     "Relink the sound (Sidebar > Strip > Sound) or pack it.")


def strip_samples(strip, timing, first_frame: int, n_frames: int,
                  cache_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """One strip's audio on frames `first_frame ..` as (N,) float32, and which of the
    `n_frames` frames it covers as (n_frames,) bool.

    Samples outside the strip (trims, before its start, after its end) are zero;
    the strip's volume is applied; `timing` is the shot's (`scene_timing`).
    """
    from ...core.audio import load_audio

    fps, sample_rate = timing.fps, timing.sample_rate
    start, stop = timing.sample_range(first_frame, n_frames)
    n_out = stop - start
    audio = load_audio(_strip_file(strip, cache_dir), sample_rate=sample_rate)
    # Scene time of each output sample, then the file time it reads (see module docstring).
    t_out = np.arange(start, stop) / sample_rate
    t_file = t_out - strip.frame_start / fps - strip.sound_offset
    audible = ((t_out >= strip.frame_final_start / fps) & (t_out < strip.frame_final_end / fps)
               & (t_file >= 0) & (t_file < len(audio) / sample_rate))
    out = np.zeros(n_out, np.float32)
    idx = np.clip(np.round(t_file * sample_rate).astype(np.int64), 0, max(len(audio) - 1, 0))
    out[audible] = audio[idx[audible]] * strip.volume
    frame_of_sample = np.minimum((np.arange(n_out) * fps / sample_rate).astype(np.int64), n_frames - 1)
    covered = np.zeros(n_frames, bool)
    covered[frame_of_sample[audible]] = True
    return out, covered


def read_scene_audio(scene, first_frame: int, n_frames: int, strip_name: str = "",
                     mix_all: bool = False, timing=None, cache_dir: str = "") -> SceneAudio:
    """Audio for exactly the frame range, from one strip or all strips mixed, at the
    sample rate of `timing` (the shot's; default `scene_timing(scene)`).

    Raises AudioError when no chosen strip overlaps the range at all.
    """
    strips = choose_sound_strips(scene, strip_name, mix_all)
    timing = timing or scene_timing(scene)
    cache_dir = cache_dir or bpy.app.tempdir
    mix = None
    covered = np.zeros(n_frames, bool)
    for strip in strips:
        samples, strip_covered = strip_samples(strip, timing, first_frame, n_frames, cache_dir)
        mix = samples if mix is None else mix + samples
        covered |= strip_covered
    if not covered.any():
        spans = ", ".join(f"'{s.name}' {s.frame_final_start}-{s.frame_final_end - 1}" for s in strips)
        raise AudioError(f"Frames {first_frame}-{first_frame + n_frames - 1} lie outside the audio "
                         f"({spans}): set the frame range inside the sound strip or move the strip.")
    np.clip(mix, -1.0, 1.0, out=mix)
    return SceneAudio(mix, timing.sample_rate, timing.fps, first_frame, n_frames,
                      int(np.count_nonzero(covered)),
                      tuple(s.name for s in strips))
