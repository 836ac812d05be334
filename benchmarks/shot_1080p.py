"""The benchmark shot: a talking head at 1920x1080 (Workbench), rendered once and cached.

    python benchmarks/shot_1080p.py [--cache build/bench/shot_1080p] [--distinct 25]

renders the shot if the cache does not hold it yet (Blender's bpy module; the benchmarks
call this file in a subprocess so bpy never shares a process with torch timings).

Cache layout (everything under `cache`):
    renders/00001.png ...   the distinct frames: mouth closed (a neutral render), the head
                            turning and nodding slightly, medium close-up (head ~ 60 % of the
                            frame height, mouth ~ 155 px wide)
    keypoints.npz           their mouth keypoints and face boxes (one character), projected
                            from the mesh (`addon.projection.MouthProjector`)
    shot.json               how it was made (checked before the cache is reused)
    frames_<N>/00001.png .. N frames made of the distinct ones (hard links, made on demand)

A shot of N frames plays the distinct frames forwards and backwards (1..25..1..) so the
head moves smoothly; its audio is ``demo/speech.wav`` looped and cut to N frames.
Only `render_shot` needs bpy; the rest works with numpy alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "build" / "bench" / "shot_1080p"
SPEECH = ROOT / "demo" / "speech.wav"
RESOLUTION = (1920, 1080)
FPS = 25
ENGINE = "BLENDER_WORKBENCH"
VERSION = 1                      # bump when the scene changes: older caches are re-rendered

# Camera: 50 mm lens, on the -Y side of the head (the face looks towards -Y).
CAMERA_DISTANCE = 9.5            # m from the head's centre: head ~ 60 % of the frame height
CAMERA_HEIGHT = -0.55            # eyes near the upper third line
TURN_DEGREES = 4.0               # head turn (about Z), end to end over the distinct frames
NOD_DEGREES = 2.0                # head nod (about X)


class ShotError(RuntimeError):
    """The shot could not be rendered or read from the cache."""


def shot_settings(distinct: int) -> dict:
    """What identifies a cached shot (stored in shot.json)."""
    return {"version": VERSION, "resolution": list(RESOLUTION), "fps": FPS, "engine": ENGINE,
            "distinct": int(distinct)}


def is_ready(cache: Path, distinct: int) -> bool:
    """Whether `cache` holds a complete shot made with these settings."""
    meta = cache / "shot.json"
    try:
        saved = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False
    if {k: saved.get(k) for k in shot_settings(distinct)} != shot_settings(distinct):
        return False
    renders = cache / "renders"
    return ((cache / "keypoints.npz").is_file()
            and all((renders / f"{i:05d}.png").is_file() for i in range(1, distinct + 1)))


def prepare(cache: Path = DEFAULT_CACHE, distinct: int = 25, timeout: float = 1800) -> dict:
    """Render the shot into `cache` in a subprocess unless it is there already.

    Returns shot.json's content (plus "reused": bool, "render_s": wall seconds of the
    subprocess). Raises ShotError with the end of the subprocess's output on failure.
    """
    cache = Path(cache)
    reused = is_ready(cache, distinct)
    seconds = 0.0
    if not reused:
        env = dict(os.environ)
        env.setdefault("BLENDER_USER_RESOURCES", str(ROOT / "build" / "blender-user"))
        command = [sys.executable, str(Path(__file__).resolve()), "--cache", str(cache),
                   "--distinct", str(distinct)]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ShotError(f"rendering the shot took more than {timeout:.0f} s") from exc
        seconds = time.perf_counter() - start
        if done.returncode != 0 or not is_ready(cache, distinct):
            lines = done.stdout.strip().splitlines() or ["(no output)"]
            print("\n".join(lines[-30:]), file=sys.stderr)
            raise ShotError(f"rendering the shot into '{cache}' failed (exit code "
                            f"{done.returncode}): {lines[-1]}")
    meta = json.loads((cache / "shot.json").read_text())
    return {**meta, "reused": reused, "render_s": round(seconds, 1)}


def render_shot(cache: Path, distinct: int) -> None:
    """Build the talking head with bpy, render `distinct` frames and project their keypoints.

    Writes into ``<cache>.partial`` and renames it to `cache` at the end, so an interrupted
    render is never taken for a finished one.
    """
    import bpy

    from lipsync.addon.blender.projection import MouthProjector
    from lipsync.addon.blender.render import render_range
    from lipsync.addon.factory.talking_head import build_talking_head
    from lipsync.core.preprocess.keypoints import KeypointTrack

    cache = Path(cache)
    partial = cache.with_name(cache.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    scene.frame_start, scene.frame_end = 1, distinct
    head = build_talking_head(scene, resolution=RESOLUTION, engine=ENGINE, samples=1,
                              mouth_open=np.zeros(distinct))
    _add_torso(scene)
    camera = head.camera
    camera.location = (0.0, -CAMERA_DISTANCE, CAMERA_HEIGHT)
    _animate_head(head.head, scene.frame_start, distinct)

    started = time.perf_counter()
    render_range(scene, 1, distinct, str(partial / "renders"))
    render_s = time.perf_counter() - started

    projector = MouthProjector(scene, head.head, camera, head.mouth_group)
    points, visible, boxes = zip(*(projector.project(f) for f in range(1, distinct + 1)))
    track = KeypointTrack(points=np.stack(points)[:, None], visible=np.stack(visible)[:, None],
                          boxes=np.stack(boxes)[:, None], frames=np.arange(1, distinct + 1))
    if not track.visible.all():
        raise ShotError("the mouth is not fully visible on every rendered frame")
    track.save(partial / "keypoints.npz")

    mouth = track.points[:, 0]
    sizes = [p.stat().st_size for p in (partial / "renders").glob("*.png")]
    meta = {**shot_settings(distinct),
            "render_s_per_frame": round(render_s / distinct, 3),
            "png_mb_per_frame": round(float(np.mean(sizes)) / 1e6, 3),
            "mouth_width_px": round(float(np.ptp(mouth[..., 0], axis=1).mean()), 1),
            "face_box_px": [round(float(v), 1) for v in track.boxes[0, 0]],
            "bpy": bpy.app.version_string}
    (partial / "shot.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(cache, ignore_errors=True)
    os.replace(partial, cache)


def _add_torso(scene) -> None:
    """Shoulders in a dark shirt below the head (the talking head has a neck only)."""
    import bmesh
    import bpy
    from mathutils import Matrix

    mesh = bpy.data.meshes.new("Torso")
    bm = bmesh.new()
    matrix = Matrix.Translation((0.0, 0.35, -2.45)) @ Matrix.Diagonal((1.9, 0.9, 1.15, 1.0))
    bmesh.ops.create_uvsphere(bm, u_segments=48, v_segments=24, radius=1.0, matrix=matrix)
    for face in bm.faces:
        face.smooth = True
    bm.to_mesh(mesh)
    bm.free()
    shirt = bpy.data.materials.new("Shirt")
    shirt.diffuse_color = (0.05, 0.08, 0.16, 1.0)
    mesh.materials.append(shirt)
    scene.collection.objects.link(bpy.data.objects.new("Torso", mesh))


def _animate_head(obj, first: int, distinct: int) -> None:
    """Turn and nod the head slightly from the first to the last distinct frame."""
    for k in range(distinct):
        t = k / max(distinct - 1, 1)
        obj.rotation_euler = (math.radians(NOD_DEGREES * math.sin(math.pi * t)), 0.0,
                              math.radians(TURN_DEGREES * (t - 0.5)))
        obj.keyframe_insert("rotation_euler", frame=first + k)


def order(n_frames: int, distinct: int) -> np.ndarray:
    """(n_frames,) indices into the distinct frames: 0, 1, .., D-1, D-2, .., 1, 0, 1, ..."""
    if distinct < 2:
        return np.zeros(n_frames, np.int64)
    period = 2 * distinct - 2
    k = np.arange(n_frames) % period
    return np.where(k < distinct, k, period - k).astype(np.int64)


def frame_paths(cache: Path, n_frames: int) -> list[Path]:
    """The paths of an `n_frames` shot (``frames_<N>/00001.png`` ..), hard links to the
    renders (symbolic links where hard links fail), made once and reused."""
    cache = Path(cache)
    meta = json.loads((cache / "shot.json").read_text())
    folder = cache / f"frames_{n_frames}"
    paths = [folder / f"{i:05d}.png" for i in range(1, n_frames + 1)]
    if all(p.exists() for p in paths):
        return paths
    partial = cache / f"frames_{n_frames}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    for path, k in zip(paths, order(n_frames, meta["distinct"])):
        source = (cache / "renders" / f"{k + 1:05d}.png").resolve()
        target = partial / path.name
        try:
            os.link(source, target)
        except OSError:
            os.symlink(source, target)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return paths


def shot_samples(n_frames: int, fps: float = FPS) -> np.ndarray:
    """(N,) float32 mono at the front end's rate: demo/speech.wav looped and cut to
    `n_frames` at `fps`."""
    from lipsync.core.audio import FRONT_END, load_audio

    speech = load_audio(SPEECH, FRONT_END.sample_rate)
    needed = int(round(n_frames / fps * FRONT_END.sample_rate))
    return np.resize(speech, needed).astype(np.float32)


def shot_inputs(cache: Path, n_frames: int):
    """(frame paths, [CharacterTrack], fps) of an `n_frames` shot from the cache."""
    from lipsync.core.pipeline.character import CharacterTrack
    from lipsync.core.preprocess.keypoints import KeypointTrack

    cache = Path(cache)
    meta = json.loads((cache / "shot.json").read_text())
    distinct = KeypointTrack.load(cache / "keypoints.npz")
    index = order(n_frames, meta["distinct"])
    track = KeypointTrack(points=distinct.points[index], visible=distinct.visible[index],
                          boxes=distinct.boxes[index], frames=np.arange(1, n_frames + 1))
    character = CharacterTrack("head", track, shot_samples(n_frames, meta["fps"]))
    return frame_paths(cache, n_frames), [character], float(meta["fps"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--distinct", type=int, default=25, help="distinct frames to render")
    parser.add_argument("--force", action="store_true", help="render even when cached")
    args = parser.parse_args(argv)
    if args.distinct < 1:
        parser.error("--distinct must be >= 1")
    if args.force or not is_ready(args.cache, args.distinct):
        render_shot(args.cache, args.distinct)
    print(json.dumps(json.loads((args.cache / "shot.json").read_text()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
