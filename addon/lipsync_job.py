"""The lip-sync job: one shot of a scene -> lip-synced frames on the sequencer.

Phases, as for `PreprocessJob` (the runner in `runner.py` drives either):
1. `prepare()`: checks every input before anything is written (scene, frame range, camera
   or frames strip, each character's mesh, mouth and audio, the weights, the output
   folder), then creates a new run folder ``<output>/<scene>/<label>_NNN/`` (never reused);
2. `main_thread_steps()`: renders the camera view (or takes the frames strip's frames) and
   projects each character's mouth keypoints, one frame per step;
3. `compute()`: `core.pipeline.run.lipsync_frames` into ``<run>/lipsync/`` (no bpy: it
   runs on a worker thread when the operator is modal);
4. `finish()`: the optional mp4 preview, then the strips: the rendered frames, the
   lip-synced frames above them and the optional (muted) matte above those. The strips of
   an earlier run for the same characters and audio (same ``lipsync_key``) are replaced in
   place; the user's strips and files are never touched; earlier run folders stay.
`abort()` removes the run folder; `run()` does everything in order on the calling thread
(and renders the whole range in one animation render).

Run folder: ``frames/NNNN.png`` (rendered, or extracted from a movie strip),
``keypoints.npz`` (one character per column), ``audio.wav`` (the characters' audio mixed,
t=0 on the first frame), ``lipsync/`` (result frames, ``report.json``, ``matte/``),
``preview.mp4`` (when asked) and ``run.json`` (the request and the report).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import bpy
import numpy as np

from ..core.errors import InputError
from ..core.progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from . import projection, render, sound, strips
from .job import _ranges, new_run_dir, resolve_output_dir, scene_range

SAMPLE_RATE = 16000
QUALITIES = ("draft", "final")     # draft: keypoint mask only; final: parser-refined mask
DEVICES = ("auto", "cpu", "cuda")
RESULT, FRAMES, MATTE = "lipsync", "frames", "matte"


@dataclass(frozen=True)
class CharacterRequest:
    """One character: its mesh, lips and the audio it speaks. "" means "not set"."""

    character: str                 # mesh object
    mouth_group: str = ""          # vertex group of the lips; "" = automatic
    sound_strip: str = ""          # sound strip; "" = the scene's only one
    mix_sounds: bool = False       # all unmuted sound strips mixed instead
    audio_file: str = ""           # an audio file instead of a strip (its t=0 = first frame)


@dataclass(frozen=True)
class LipSyncRequest:
    """What the panel or a command line asks for (the same dataclass for both)."""

    scene: str
    characters: tuple[CharacterRequest, ...]
    frames_strip: str = ""         # image/movie strip with the frames; "" = render the camera
    frame_start: int | None = None  # None = the scene's range
    frame_end: int | None = None
    output_dir: str = "//lipsync_cache"   # "//" = next to the .blend
    quality: str = "final"         # 'draft' | 'final'
    device: str = "auto"           # 'auto' | 'cpu' | 'cuda'
    matte_strip: bool = False      # also put the mouth matte on the sequencer
    preview: bool = False          # also write preview.mp4 (result + sound) in the run folder
    models_dir: str = ""           # folder of the weights; "" = the shipped models/

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise InputError(f"Unknown quality '{self.quality}': use draft or final.")
        if self.device not in DEVICES:
            raise InputError(f"Unknown device '{self.device}': use auto, cpu or cuda.")


@dataclass
class LipSyncResult:
    """A finished run: its folder, strip names per pass, the report and the preview."""

    run_dir: str
    strips: dict[str, str]
    report: dict
    preview: str = ""

    def summary_lines(self) -> list[str]:
        r = self.report
        chars = ", ".join(f"{name} ({n} frames)" for name, n in r["characters"].items())
        lines = [f"Lip Sync: {r['frames']} frames ({r['frame_start']}-{r['frame_end']}) "
                 f"at {r['fps']:.3f} fps, characters: {chars}"]
        passed = r["passed_through_frames"]
        lines.append("passed through unchanged (mouth not visible): "
                     + (_ranges(passed) if passed else "none"))
        lines += [f"note: {note}" for note in r["notes"]]
        lines.append(f"{r['seconds']:.1f} s on {r['device']}; output: "
                     f"{os.path.join(self.run_dir, RESULT)}")
        if self.preview:
            lines.append(f"preview: {self.preview}")
        return lines

    def summary(self) -> str:
        return "; ".join(self.summary_lines())


@dataclass
class _Character:
    """A character resolved on the main thread: its object and its audio for the range."""

    name: str
    obj: object
    mouth_group: str
    audio_label: str
    samples: np.ndarray            # (N,) float32 mono, 16 kHz, t=0 on the first frame
    notes: list[str] = field(default_factory=list)


def _load_models(device: str, folder: str):
    """The three networks, or InputError saying what is missing and how to get it."""
    try:
        from ..core.pipeline.models import LipSyncModels
    except ImportError as exc:
        raise InputError(f"Lip Sync needs the Python module '{exc.name}', which is not "
                         "installed: install the modules in Edit > Preferences > Add-ons > "
                         "Lip Sync.") from exc
    return LipSyncModels.load(device, folder or None)


class LipSyncJob:
    """One lip-sync run of one shot (see the module docstring for its phases)."""

    main_share = 0.3                # rendering is quick next to the networks on a CPU

    def __init__(self, request: LipSyncRequest):
        self.request = request
        self.scene, self.first, self.last = scene_range(request.scene, request.frame_start,
                                                        request.frame_end)
        self.frames = list(range(self.first, self.last + 1))
        self.fps = sound.scene_timing(self.scene).fps      # fps / fps_base, e.g. 30000/1001
        self.render_at_once = False
        self.characters: list[_Character] = []
        self.models = None
        self.run_dir = ""
        self.frame_paths: list[str] = []
        self.track = None
        self.report: dict = {}
        self._frame_current = self.scene.frame_current
        self._made_dirs: list[str] = []

    # -- names ---------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """'Hero' or 'Hero+Villain': the run folder's name and the strips' first part."""
        return "+".join(c.character for c in self.request.characters)

    @property
    def key(self) -> str:
        """Which characters and audio a result shows: equal keys replace each other."""
        return "|".join(f"{c.name}:{c.audio_label}" for c in self.characters)

    @property
    def result_name(self) -> str:
        if len(self.characters) == 1:
            return f"{self.characters[0].name} · {self.characters[0].audio_label}"
        return f"{self.label} · lip-sync"

    # -- phase 1: main thread ------------------------------------------------------------
    def prepare(self) -> None:
        """Check every input, then create the run folder. Changes nothing in the scene and
        writes nothing when an input is wrong."""
        req, scene = self.request, self.scene
        if not req.characters:
            raise InputError("No character to lip-sync: pick the character's mesh in the Lip "
                             "Sync panel (Character).")
        names = [c.character for c in req.characters]
        if len(set(names)) != len(names):
            raise InputError(f"A character is listed twice ({', '.join(names)}): each "
                             "character once, with its own sound strip.")
        camera = render.require_camera(scene)   # keypoints come through the camera, always
        if req.frames_strip:
            strips.require_frames_strip(scene, req.frames_strip, self.first, self.last)
        try:
            self.characters = [self._resolve(c, camera) for c in req.characters]
        finally:
            self._restore_frame()
        self.models = _load_models(req.device, req.models_dir)
        root = resolve_output_dir(req.output_dir)
        parents = [os.path.join(root, bpy.path.clean_name(scene.name)), root]
        self._made_dirs = [p for p in parents if not os.path.isdir(p)]  # deepest first
        self.run_dir = new_run_dir(root, scene.name, self.label)

    def _resolve(self, c: CharacterRequest, camera) -> _Character:
        from ..core.audio import AudioTiming, is_silent, load_audio

        scene, n = self.scene, len(self.frames)
        obj = projection.require_mesh(scene, c.character)
        projection.MouthProjector(scene, obj, camera, c.mouth_group).project(self.first)
        notes = []
        if c.audio_file:
            path = bpy.path.abspath(c.audio_file)
            samples = load_audio(path, sample_rate=SAMPLE_RATE)
            label = Path(path).stem
            needed = AudioTiming(fps=self.fps, sample_rate=SAMPLE_RATE).n_samples_for(n)
            heard = samples[:needed]
        else:
            audio = sound.read_scene_audio(scene, self.first, n, c.sound_strip, c.mix_sounds,
                                           sample_rate=SAMPLE_RATE)
            samples = heard = audio.samples
            label = "mix" if c.mix_sounds else "+".join(audio.sources)
            notes = self._strip_notes(obj.name, label, audio)
        if is_silent(heard):
            raise InputError(f"The audio of '{obj.name}' ('{label}') is silent on frames "
                             f"{self.first}-{self.last}: there is nothing to lip-sync to. Pick "
                             "the sound strip (or file) with the dialogue.")
        return _Character(obj.name, obj, c.mouth_group, label, samples, notes)

    def _strip_notes(self, name: str, label: str, audio) -> list[str]:
        """Notes when the sound strips start after or end before the range, or run past it."""
        n = len(self.frames)
        notes = []
        if audio.covered_frames < n:
            notes.append(f"'{name}': the audio '{label}' covers {audio.covered_frames} of "
                         f"{n} frames; the mouth rests (silence) on the other "
                         f"{n - audio.covered_frames}")
        chosen = [s for s in sound.sound_strips(self.scene) if s.name in audio.sources]
        if any(s.frame_final_end > self.last + 1 for s in chosen):
            notes.append(f"'{name}': the audio '{label}' goes on after frame {self.last}; "
                         "that part is not used")
        if any(s.frame_final_start < self.first for s in chosen):
            notes.append(f"'{name}': the audio '{label}' starts before frame {self.first}; "
                         "that part is not used")
        return notes

    def frame_name(self, frame: int) -> str:
        return f"{frame:04d}.png"

    def main_thread_steps(self, progress: ProgressFn | None = None
                          ) -> Iterator[tuple[int, int, str]]:
        """Collect or render the frames and project the keypoints; yields (done, total, msg).

        With `render_at_once` (set by `run()`) the range is rendered in one animation render
        first (its frames reported through `progress`), then each step projects one frame;
        the modal runner renders one frame per step instead, so the progress bar moves and
        Esc is heard between frames.
        """
        total = len(self.frames)
        frames_dir = os.path.join(self.run_dir, FRAMES)
        per_frame_render = False
        if self.request.frames_strip:
            self.frame_paths = self._strip_frames(frames_dir)
        elif self.render_at_once:
            self.frame_paths = render.render_range(self.scene, self.first, self.last,
                                                   frames_dir, digits=4, progress=progress)
        else:
            per_frame_render = True
        self.track = projection.empty_track(self.frames, len(self.characters))
        camera = self.scene.camera
        projectors = [projection.MouthProjector(self.scene, c.obj, camera, c.mouth_group)
                      for c in self.characters]
        try:
            for i, frame in enumerate(self.frames):
                if per_frame_render:
                    path = os.path.join(frames_dir, self.frame_name(frame))
                    self.frame_paths.append(render.render_frame(self.scene, frame, path))
                for k, projector in enumerate(projectors):
                    points, visible, box = projector.project(frame)
                    self.track.points[i, k], self.track.visible[i, k] = points, visible
                    self.track.boxes[i, k] = box
                yield i + 1, total, f"frame {frame}"
        finally:
            self._restore_frame()
        self._fit_keypoints_to_frames()

    def _restore_frame(self) -> None:
        try:
            if self.scene.frame_current != self._frame_current:
                self.scene.frame_set(self._frame_current)
        except ReferenceError:      # the file was closed while the job ran
            pass

    def _strip_frames(self, frames_dir: str) -> list[str]:
        """The frames strip's files for the range (a movie's frames extracted, repeated
        images copied under distinct names so each output frame has its own file)."""
        req, scene, total = self.request, self.scene, len(self.frames)
        strip = strips.require_frames_strip(scene, req.frames_strip, self.first, self.last)
        if strip.type == "MOVIE":
            from ..core.movie import extract_movie_frames

            movie, first_index = strips.movie_strip_source(scene, req.frames_strip,
                                                           self.first, self.last)
            names = [self.frame_name(f) for f in self.frames]
            return [str(p) for p in extract_movie_frames(movie, first_index, total,
                                                         frames_dir, names)]
        paths = strips.image_strip_frames(scene, req.frames_strip, self.first, self.last)
        from ..core.pipeline.run import output_name

        if len({output_name(Path(p)) for p in paths}) == len(paths):
            return paths
        os.makedirs(frames_dir, exist_ok=True)
        copies = []
        for frame, path in zip(self.frames, paths):
            copy = os.path.join(frames_dir, f"{frame:04d}{Path(path).suffix}")
            shutil.copyfile(path, copy)
            copies.append(copy)
        return copies

    def _fit_keypoints_to_frames(self) -> None:
        """Scale the keypoints when the frames' size is not the render size (frames strip)."""
        from ..core.preprocess.frames import read_frame_raw

        height, width = read_frame_raw(self.frame_paths[0]).shape[:2]
        self.frame_size = (width, height)
        render_w, render_h = projection.render_size(self.scene)
        if (width, height) != (render_w, render_h):
            scale = np.array([width / render_w, height / render_h], np.float32)
            self.track.points *= scale
            self.track.boxes *= np.tile(scale, 2)

    # -- phase 2: any thread -------------------------------------------------------------
    def compute(self, progress: ProgressFn = no_progress,
                should_cancel: CancelFn = never_cancel) -> None:
        """Lip-sync the frames (no bpy: safe off the main thread)."""
        from ..core.audio import AudioTiming, save_wav
        from ..core.pipeline.character import CharacterTrack
        from ..core.pipeline.run import PipelineOptions, lipsync_frames
        from ..core.preprocess.keypoints import KeypointTrack

        req, run = self.request, Path(self.run_dir)
        check_cancel(should_cancel)
        self.track.save(run / "keypoints.npz")
        tracks = []
        for k, c in enumerate(self.characters):
            one = KeypointTrack(points=self.track.points[:, k:k + 1],
                                visible=self.track.visible[:, k:k + 1],
                                boxes=self.track.boxes[:, k:k + 1], frames=self.track.frames)
            tracks.append(CharacterTrack(c.name, one, c.samples))
        needed = AudioTiming(fps=self.fps, sample_rate=SAMPLE_RATE).n_samples_for(len(self.frames))
        save_wav(run / "audio.wav", self._mix(needed), SAMPLE_RATE)
        options = PipelineOptions(device=req.device, refine=req.quality == "final",
                                  matte=req.matte_strip)
        result = lipsync_frames(self.frame_paths, tracks, self.fps, run / RESULT, options,
                                models=self.models, progress=progress,
                                should_cancel=should_cancel)
        self.report = {
            **result.to_dict(),
            "scene": self.scene.name, "frame_start": self.first, "frame_end": self.last,
            "audio": {c.name: c.audio_label for c in self.characters},
            "passed_through_frames": [self.first + i for i in result.passed_through],
            "notes": [note for c in self.characters for note in c.notes] + result.notes,
            "quality": req.quality,
        }
        with open(run / "run.json", "w") as fh:
            json.dump({"request": asdict(req), "report": self.report}, fh, indent=2,
                      default=str)

    def _mix(self, n_samples: int) -> np.ndarray:
        """(n_samples,) float32: each distinct audio once, summed and clipped to [-1, 1]."""
        mix = np.zeros(n_samples, np.float32)
        for label in dict.fromkeys(c.audio_label for c in self.characters):
            samples = next(c.samples for c in self.characters if c.audio_label == label)
            part = samples[:n_samples]
            mix[:len(part)] += part
        return np.clip(mix, -1.0, 1.0)

    # -- phase 3: main thread ------------------------------------------------------------
    def finish(self) -> LipSyncResult:
        """The preview (when asked), then the strips (see the module docstring)."""
        from ..core.pipeline.run import output_name

        req, scene, run = self.request, self.scene, self.run_dir
        names = [output_name(Path(p)) for p in self.frame_paths]
        preview_path = ""
        if req.preview:
            from . import preview

            frames = preview.Sequence(os.path.join(run, RESULT), names)
            preview_path = preview.render_preview(scene, [frames], os.path.join(run, "audio.wav"),
                                                  os.path.join(run, "preview.mp4"),
                                                  self.frame_size)
        new = []
        if req.frames_strip:
            above = strips.find_strip(scene, req.frames_strip).channel
        else:
            above = 0
            new.append(strips.NewStrip(FRAMES, f"{self.label} · frames",
                                       os.path.dirname(self.frame_paths[0]),
                                       [os.path.basename(p) for p in self.frame_paths]))
        new.append(strips.NewStrip(RESULT, self.result_name, os.path.join(run, RESULT), names))
        if req.matte_strip:
            new.append(strips.NewStrip(MATTE, f"{self.result_name} matte",
                                       os.path.join(run, RESULT, MATTE),
                                       [Path(n).stem + ".png" for n in names], mute=True))
        made = strips.replace_tagged(scene, self.key, new, self.first, above, run)
        return LipSyncResult(run, made, self.report, preview_path)

    def abort(self) -> None:
        """Remove everything this run wrote (its own folder only); the current frame is
        put back."""
        if self.run_dir and os.path.isdir(self.run_dir):
            shutil.rmtree(self.run_dir, ignore_errors=True)
        for folder in self._made_dirs:          # the parents this run created, when empty
            try:
                os.rmdir(folder)
            except OSError:
                break
        self._restore_frame()

    def run(self, progress: ProgressFn = no_progress,
            should_cancel: CancelFn = never_cancel) -> LipSyncResult:
        """All phases in order, on the calling (main) thread; one animation render."""
        units = 1000
        share = self.main_share
        # With one animation render, rendering takes 80 % of the main-thread share and
        # projecting the keypoints the rest.
        render_part = 0.0 if self.request.frames_strip else 0.8

        def main(done, total, message=""):
            progress(int(units * share * done / max(total, 1)), units, message)

        def rendered(done, total, message=""):
            main(render_part * done, total, message)

        def projected(done, total, message=""):
            main(render_part * total + (1 - render_part) * done, total, message)

        def rest(done, total, message=""):
            progress(int(units * (share + (1 - share) * done / max(total, 1))), units, message)

        self.render_at_once = True
        try:
            self.prepare()
            steps = self.main_thread_steps(rendered)
            try:
                for done, total, message in steps:
                    projected(done, total, message)
                    check_cancel(should_cancel)
            finally:
                steps.close()
            self.compute(rest, should_cancel)
            return self.finish()
        except BaseException:
            self.abort()
            raise


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
                "mouth_visible_frames": int(track.visible[:, 0].all(axis=1).sum())}
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
