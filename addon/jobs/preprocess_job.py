"""The preprocessing job: one shot of a scene -> frames, keypoints, audio, passes, strips.

A job runs in three phases so the add-on can keep Blender responsive:
1. `main_thread_steps()`: everything that touches bpy, one frame per step
   (render or collect the frame, project the mouth keypoints);
2. `compute(progress, should_cancel)`: the pure `core` work, safe off the main thread;
3. `finish()`: back on the main thread, the strips.
`run()` does all three in order (headless and the operator's `execute`). Every run
writes a new folder; on error or cancel that folder is removed and nothing else changed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import bpy

from ...core.errors import InputError
from ...core.preprocess.config import PreprocessConfig
from ...core.progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from ..blender import projection, render, sound, strips

PASSES = ("blur", "gradient", "keypoints")


@dataclass(frozen=True)
class JobRequest:
    """What the panel or a command line asks for. Empty strings mean "not set"."""

    scene: str
    character: str = ""          # mesh object; "" = no keypoints (whole-frame fallback)
    mouth_group: str = ""        # vertex group of the lips; "" = automatic
    sound_strip: str = ""        # sound strip name; "" = the only one
    mix_sounds: bool = False     # mix all unmuted sound strips instead
    frames_strip: str = ""       # image/movie strip to take frames from; "" = render
    frame_start: int | None = None  # None = the scene's range
    frame_end: int | None = None
    output_dir: str = "//lipsync_cache"  # "//" = next to the .blend
    config: PreprocessConfig = field(default_factory=PreprocessConfig)


@dataclass
class JobResult:
    """What a finished job made: the run folder, strip names per pass, and its report."""

    run_dir: str
    strips: dict[str, str]
    report: dict

    def summary(self) -> str:
        r = self.report
        text = f"Lip Sync: {r['frames']} frames preprocessed into {self.run_dir}"
        if r["passed_through"]:
            text += f"; mouth not visible on frames {_ranges(r['passed_through'])} (unchanged)"
        if r["silent_frames"]:
            text += f"; no audio on {r['silent_frames']} frames (silence)"
        return text


def _ranges(frames: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    out, start = [], None
    for i, f in enumerate(frames):
        if start is None:
            start = f
        if i + 1 == len(frames) or frames[i + 1] != f + 1:
            out.append(str(start) if start == f else f"{start}-{f}")
            start = None
    return ", ".join(out)


def resolve_output_dir(path: str) -> str:
    """Absolute output folder; '//' paths sit next to the saved .blend (else the temp folder)."""
    if path.startswith("//") and not bpy.data.filepath:
        return os.path.join(tempfile.gettempdir(), "lipsync_cache", path[2:].strip("/\\"))
    return os.path.abspath(bpy.path.abspath(path))


def new_run_dir(root: str, scene_name: str, label: str) -> str:
    """Create and return a fresh numbered folder ``root/scene/label_NNN`` (never reused)."""
    base = os.path.join(root, bpy.path.clean_name(scene_name))
    try:
        os.makedirs(base, exist_ok=True)
        for n in range(1, 10000):
            path = os.path.join(base, f"{bpy.path.clean_name(label)}_{n:03d}")
            try:
                os.mkdir(path)
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise InputError(f"Output folder '{root}' is not writable ({exc.strerror}): choose "
                         "another folder in the Lip Sync panel (Output).") from exc
    raise InputError(f"Output folder '{base}' holds 9999 runs already: clean it up.")


def scene_range(scene_name: str, start: int | None, end: int | None) -> tuple:
    """(scene, first, last): the named scene and the asked range (None: the scene's)."""
    scene = bpy.data.scenes.get(scene_name)
    if scene is None:
        raise InputError(f"No scene named '{scene_name}'.")
    first = start if start is not None else scene.frame_start
    last = end if end is not None else scene.frame_end
    if last < first:
        raise InputError(f"Frame range {first}-{last} is empty: the end must not come before "
                         "the start.")
    return scene, first, last


class PreprocessJob:
    """One preprocessing run of one shot (see the module docstring for its phases)."""

    def __init__(self, request: JobRequest):
        self.request = request
        self.scene, self.first, self.last = scene_range(request.scene, request.frame_start,
                                                        request.frame_end)
        self.frames = list(range(self.first, self.last + 1))
        self.character = None
        self.run_dir = ""
        self.frame_paths: list[str] = []
        self.track = None
        self.audio = None
        self.report: dict = {}

    # -- phase 1: main thread ------------------------------------------------------------
    def prepare(self) -> None:
        """Check every input, then create the run folder. Changes nothing in the scene, and
        writes nothing when an input is wrong."""
        req, scene = self.request, self.scene
        if req.frames_strip:
            strips.require_frames_strip(scene, req.frames_strip, self.first, self.last)
        else:
            render.require_camera(scene)
        if req.character:
            self.character = projection.require_mesh(scene, req.character)
            render.require_camera(scene)
        self.timing = sound.scene_timing(scene)      # the shot's one AudioTiming
        self.audio = sound.read_scene_audio(scene, self.first, len(self.frames), req.sound_strip,
                                            req.mix_sounds, timing=self.timing)
        root = resolve_output_dir(req.output_dir)
        self.run_dir = new_run_dir(root, scene.name, req.character or req.frames_strip or "frames")

    def frame_name(self, frame: int) -> str:
        return f"{frame:04d}.png"

    def main_thread_steps(self) -> Iterator[tuple[int, int, str]]:
        """Render or collect each frame and project its keypoints; yields (done, total, msg)."""
        req, scene = self.request, self.scene
        total = len(self.frames)
        frames_dir = os.path.join(self.run_dir, "frames")
        if req.frames_strip:
            strip = strips.require_frames_strip(scene, req.frames_strip, self.first, self.last)
            if strip.type == "MOVIE":
                from ...core.preprocess.movie import extract_movie_frames

                movie, first_index = strips.movie_strip_source(scene, req.frames_strip,
                                                               self.first, self.last)
                names = [self.frame_name(f) for f in self.frames]
                self.frame_paths = [str(p) for p in extract_movie_frames(
                    movie, first_index, total, frames_dir, names)]
            else:
                self.frame_paths = strips.image_strip_frames(scene, req.frames_strip,
                                                             self.first, self.last)
        self.track = projection.empty_track(self.frames, 1 if self.character else 0)
        projector = (projection.MouthProjector(scene, self.character, scene.camera,
                                               req.mouth_group) if self.character else None)
        for i, frame in enumerate(self.frames):
            if not req.frames_strip:
                path = os.path.join(frames_dir, self.frame_name(frame))
                self.frame_paths.append(render.render_frame(scene, frame, path))
            if projector is not None:
                points, visible, box = projector.project(frame)
                self.track.points[i, 0], self.track.visible[i, 0] = points, visible
                self.track.boxes[i, 0] = box
            yield i + 1, total, f"frame {frame}"
        scene.frame_set(self.first)

    # -- phase 2: any thread ---------------------------------------------------------------
    def compute(self, progress: ProgressFn = no_progress,
                should_cancel: CancelFn = never_cancel) -> None:
        """Preprocessing passes and audio features (no bpy: safe off the main thread)."""
        import numpy as np

        from ...core.audio import features_for_frames, save_wav
        from ...core.preprocess.sequence import preprocess_sequence

        run = Path(self.run_dir)
        track = self.track if self.character else None
        if track is not None:
            track.save(run / "keypoints.npz")
        result = preprocess_sequence([Path(p) for p in self.frame_paths], run / "passes",
                                     self.request.config, track=track, progress=progress,
                                     should_cancel=should_cancel, frame_numbers=self.frames)
        check_cancel(should_cancel)
        audio = self.audio
        save_wav(run / "audio.wav", audio.samples, audio.sample_rate)
        np.save(run / "mfcc_windows.npy", features_for_frames(audio.samples, self.timing,
                                                              len(self.frames)))
        passed = sorted({int(f) for frames in result.passed_through.values() for f in frames})
        self.report = {
            "scene": self.scene.name, "character": self.request.character,
            "frame_start": self.first, "frame_end": self.last, "frames": len(self.frames),
            "fps": audio.fps, "audio_sources": list(audio.sources),
            "silent_frames": len(self.frames) - audio.covered_frames,
            "passed_through": passed,
            "keypoints": track is not None, "seconds": result.seconds,
            "frames_per_second": result.frames_per_second,
            "config": asdict(self.request.config),
        }
        with open(run / "report.json", "w") as fh:
            json.dump(self.report, fh, indent=2, default=str)

    # -- phase 3: main thread --------------------------------------------------------------
    def finish(self) -> JobResult:
        """Put the frames (when rendered) and the passes on the sequencer, above the frames."""
        scene, req = self.scene, self.request
        names = [self.frame_name(f) for f in self.frames]
        label = req.character or req.frames_strip or scene.name
        made = {}
        editor = scene.sequence_editor or scene.sequence_editor_create()
        try:
            if req.frames_strip:
                above = strips.find_strip(scene, req.frames_strip).channel
            else:
                strip = strips.add_image_sequence(scene, f"{label} frames",
                                                  os.path.join(self.run_dir, "frames"), names,
                                                  self.first, 0, "frames", self.run_dir)
                made["frames"] = strip.name
                above = strip.channel
            for pass_name in PASSES:
                strip = strips.add_image_sequence(scene, f"{label} {pass_name}",
                                                  os.path.join(self.run_dir, "passes", pass_name),
                                                  names, self.first, above, pass_name,
                                                  self.run_dir)
                made[pass_name] = strip.name
                above = strip.channel
        except Exception:
            for name in made.values():
                editor.strips.remove(editor.strips[name])
            raise
        return JobResult(self.run_dir, made, self.report)

    def abort(self) -> None:
        """Remove everything this run wrote (its own folder only)."""
        if self.run_dir and os.path.isdir(self.run_dir):
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def run(self, progress: ProgressFn = no_progress,
            should_cancel: CancelFn = never_cancel) -> JobResult:
        """All phases in order, on the calling (main) thread."""
        try:
            self.prepare()
            for done, total, message in self.main_thread_steps():
                progress(done, 2 * total, message)
                check_cancel(should_cancel)
            total = len(self.frames)
            self.compute(lambda d, t, m="": progress(total + d, 2 * total, m), should_cancel)
            return self.finish()
        except BaseException:
            self.abort()
            raise
