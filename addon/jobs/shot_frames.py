"""A shot's frames and mouth keypoints, taken from the scene.

- `render_shot`: the camera view of a range and one character's keypoints written to a
  folder (the headless `render` command);
- `strip_frames`: the files of a frames strip for a range (a movie's frames extracted);
- `fit_track_to_frames`: keypoints projected at the render size, scaled to the frames' size.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.progress import ProgressFn, no_progress
from ..blender import projection, render, sound, strips
from .lipsync_request import FRAMES


def render_shot(scene, character: str, mouth_group: str, first: int, last: int,
                out_dir: str, progress: ProgressFn = no_progress) -> dict:
    """Render the camera view of frames first..last and project one character's mouth:
    ``out_dir/frames/NNNN.png``, ``out_dir/keypoints.npz`` and, last, ``out_dir/render.json``
    ({fps, frame_start, frame_end, character, ...}). `out_dir` must not exist or be empty;
    on any failure what was written is removed. Returns the render.json content."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"Output folder '{out}' exists and is not empty: choose a new folder "
                         "(nothing is overwritten).")
    if last < first:
        raise InputError(f"Frame range {first}-{last} is empty: the end must not come before "
                         "the start.")
    camera = render.require_camera(scene)
    obj = projection.require_mesh(scene, character)
    frames = list(range(first, last + 1))
    frame_current = scene.frame_current
    existed = out.exists()
    try:
        projector = projection.MouthProjector(scene, obj, camera, mouth_group)
        projector.project(first)                           # a bad mouth group fails here
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"Output folder '{out}' cannot be created ({exc.strerror}): "
                             "choose a writable folder.") from exc
        paths = render.render_range(scene, first, last, str(out / FRAMES), digits=4,
                                    progress=lambda d, t, m="": progress(d, 2 * t, m))
        track = projection.empty_track(frames, 1)
        for i, frame in enumerate(frames):
            points, visible, box = projector.project(frame)
            track.points[i, 0], track.visible[i, 0], track.boxes[i, 0] = points, visible, box
            progress(len(frames) + i + 1, 2 * len(frames), f"frame {frame}")
        track.save(out / "keypoints.npz")
        info = {"fps": float(sound.scene_timing(scene).fps), "frame_start": first,
                "frame_end": last, "character": obj.name, "mouth_group": mouth_group,
                "scene": scene.name, "frames": [os.path.relpath(p, out) for p in paths],
                "size": list(projection.render_size(scene)),
                "mouth_visible_frames": int(track.visible[:, 0].all(axis=1).sum()),
                "learnt": _learnt(obj.name)}
        partial = out / "render.json.part"
        partial.write_text(json.dumps(info, indent=2))
        os.replace(partial, out / "render.json")
        return info
    except BaseException:
        if existed:
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        scene.frame_set(frame_current)


def _learnt(character: str) -> str | None:
    """The character's learnt generator in the default learnt folder (for a batch's
    lip-sync steps), or None."""
    from ...core.learn.character import DEFAULT_FOLDER, find_learnt
    from .preprocess_job import resolve_output_dir

    found = find_learnt(resolve_output_dir(DEFAULT_FOLDER), character)
    return None if found is None else str(found)


def strip_frames(scene, strip_name: str, frames: list[int], frames_dir: str) -> list[str]:
    """The files of the frames strip `strip_name` for `frames` (consecutive), one per frame.

    A movie's frames are extracted into `frames_dir` as ``NNNN.png``. An image strip gives
    its own files, unless two frames would share an output name (an image held for several
    frames): then every image is copied there as ``NNNN.<ext>``, so each output frame has
    its own file.
    """
    first, last = frames[0], frames[-1]
    strip = strips.require_frames_strip(scene, strip_name, first, last)
    if strip.type == "MOVIE":
        from ...core.preprocess.movie import extract_movie_frames

        movie, first_index = strips.movie_strip_source(scene, strip_name, first, last)
        names = [f"{frame:04d}.png" for frame in frames]
        return [str(p) for p in extract_movie_frames(movie, first_index, len(frames),
                                                     frames_dir, names)]
    paths = strips.image_strip_frames(scene, strip_name, first, last)
    from ...core.pipeline.run import output_name

    if len({output_name(Path(p)) for p in paths}) == len(paths):
        return paths
    os.makedirs(frames_dir, exist_ok=True)
    copies = []
    for frame, path in zip(frames, paths):
        copy = os.path.join(frames_dir, f"{frame:04d}{Path(path).suffix}")
        shutil.copyfile(path, copy)
        copies.append(copy)
    return copies


def fit_track_to_frames(scene, track, frame_path: str) -> tuple[int, int]:
    """Scale `track` (projected at the scene's render size) in place to the size of the
    frame at `frame_path` (a frames strip may differ); returns that size (width, height)."""
    from ...core.preprocess.frames import read_frame_raw

    height, width = read_frame_raw(frame_path).shape[:2]
    render_w, render_h = projection.render_size(scene)
    if (width, height) != (render_w, render_h):
        scale = np.array([width / render_w, height / render_h], np.float32)
        track.points *= scale
        track.boxes *= np.tile(scale, 2)
    return width, height
