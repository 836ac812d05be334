"""The lip-sync job: one shot of a scene -> lip-synced frames on the sequencer.

It takes a `LipSyncRequest` and gives a `LipSyncResult` (both in `lipsync_request.py`);
the frames of a frames strip and the keypoints' fit to them come from `shot_frames.py`.

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

from ...core.errors import InputError
from ...core.progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from ..blender import projection, render, sound, strips
from . import shot_frames
from .preprocess_job import new_run_dir, resolve_output_dir, scene_range
from .lipsync_request import FRAMES, MATTE, RESULT, CharacterRequest, LipSyncRequest, LipSyncResult


@dataclass
class _Character:
    """A character resolved on the main thread: its object and its audio for the range."""

    name: str
    obj: object
    mouth_group: str
    audio_label: str
    samples: np.ndarray            # (N,) float32 mono (job.timing), t=0 on the first frame
    notes: list[str] = field(default_factory=list)
    weights: Path | None = None    # its learnt generator (`learnt_weights`), or None


def _load_models(options):
    """The three networks, or InputError saying what is missing and how to get it."""
    try:
        from ...core.pipeline.models import LipSyncModels
    except ImportError as exc:
        raise InputError(f"Lip Sync needs the Python module '{exc.name}', which is not "
                         "installed: install the modules in Edit > Preferences > Add-ons > "
                         "Lip Sync.") from exc
    return LipSyncModels.for_options(options)


def learnt_weights(request: LipSyncRequest, character: str, notes: list[str]) -> Path | None:
    """The learnt generator a run of `character` uses (`core.learn.character.find_learnt`
    in the request's learnt folder), None when there is none or the request names its own
    weights (a note then says the learnt one was left out)."""
    from ...core.learn.character import find_learnt

    folder = resolve_output_dir(request.learnt_dir) if request.learnt_dir else None
    found = find_learnt(folder, character)
    if found is not None and request.options.weights is not None:
        notes.append(f"'{character}': the given weights {request.options.weights.name} were "
                     f"used, not its learnt generator {found.name}")
        return None
    return found


class LipSyncJob:
    """One lip-sync run of one shot (see the module docstring for its phases)."""

    main_share = 0.3                # rendering is quick next to the networks on a CPU

    def __init__(self, request: LipSyncRequest):
        self.request = request
        self.scene, self.first, self.last = scene_range(request.scene, request.frame_start,
                                                        request.frame_end)
        self.frames = list(range(self.first, self.last + 1))
        self.timing = sound.scene_timing(self.scene)   # the shot's one AudioTiming
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
        self.models = _load_models(req.options)
        for c in self.characters:
            c.weights = learnt_weights(req, c.name, c.notes)
        root = resolve_output_dir(req.output_dir)
        parents = [os.path.join(root, bpy.path.clean_name(scene.name)), root]
        self._made_dirs = [p for p in parents if not os.path.isdir(p)]  # deepest first
        self.run_dir = new_run_dir(root, scene.name, self.label)

    def _resolve(self, c: CharacterRequest, camera) -> _Character:
        from ...core.audio import is_silent, load_audio

        scene, n = self.scene, len(self.frames)
        obj = projection.require_mesh(scene, c.character)
        projector = projection.MouthProjector(scene, obj, camera, c.mouth_group)
        projector.project(self.first)
        notes = []
        if not projector.mouth_source.startswith("vertex group"):
            notes.append(f"'{obj.name}': mouth found from the {projector.mouth_source}; if the "
                         "keypoints are off, name the lips' vertex group (Mouth group)")
        if c.audio_file:
            path = bpy.path.abspath(c.audio_file)
            samples = load_audio(path, sample_rate=self.timing.sample_rate)
            label = Path(path).stem
            needed = self.timing.n_samples_for(n)
            heard = samples[:needed]
        else:
            audio = sound.read_scene_audio(scene, self.first, n, c.sound_strip, c.mix_sounds,
                                           timing=self.timing)
            samples = heard = audio.samples
            label = "mix" if c.mix_sounds else "+".join(audio.sources)
            notes += self._strip_notes(obj.name, label, audio)
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
            self.frame_paths = shot_frames.strip_frames(self.scene, self.request.frames_strip,
                                                        self.frames, frames_dir)
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
        self.frame_size = shot_frames.fit_track_to_frames(self.scene, self.track,
                                                          self.frame_paths[0])

    def _restore_frame(self) -> None:
        try:
            if self.scene.frame_current != self._frame_current:
                self.scene.frame_set(self._frame_current)
        except ReferenceError:      # the file was closed while the job ran
            pass

    # -- phase 2: any thread -------------------------------------------------------------
    def compute(self, progress: ProgressFn = no_progress,
                should_cancel: CancelFn = never_cancel) -> None:
        """Lip-sync the frames (no bpy: safe off the main thread)."""
        from ...core.audio import save_wav
        from ...core.pipeline.character import CharacterTrack
        from ...core.pipeline.run import PipelineOptions, lipsync_frames
        from ...core.preprocess.keypoints import KeypointTrack

        req, run = self.request, Path(self.run_dir)
        check_cancel(should_cancel)
        self.track.save(run / "keypoints.npz")
        tracks = []
        for k, c in enumerate(self.characters):
            one = KeypointTrack(points=self.track.points[:, k:k + 1],
                                visible=self.track.visible[:, k:k + 1],
                                boxes=self.track.boxes[:, k:k + 1], frames=self.track.frames)
            tracks.append(CharacterTrack(c.name, one, c.samples, weights=c.weights))
        needed = self.timing.n_samples_for(len(self.frames))
        save_wav(run / "audio.wav", self._mix(needed), self.timing.sample_rate)
        result = lipsync_frames(self.frame_paths, tracks, self.timing, run / RESULT,
                                PipelineOptions(req.options), models=self.models,
                                progress=progress, should_cancel=should_cancel)
        self.report = {
            **result.to_dict(),
            "scene": self.scene.name, "frame_start": self.first, "frame_end": self.last,
            "audio": {c.name: c.audio_label for c in self.characters},
            "passed_through_frames": [self.first + i for i in result.passed_through],
            "notes": [note for c in self.characters for note in c.notes] + result.notes,
            "quality": req.options.quality, "revoice": req.options.revoice,
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
        from ...core.pipeline.run import output_name

        req, scene, run = self.request, self.scene, self.run_dir
        names = [output_name(Path(p)) for p in self.frame_paths]
        preview_path = ""
        if req.preview:
            from ..blender import preview

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
        if req.options.matte:
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
        """All phases in order, on the calling (main) thread; one animation render.

        `progress` counts frame steps, 2 per frame: rendered (or, from a frames strip,
        projected), then lip-synced.
        """
        rendering = not self.request.frames_strip

        def rendered(done, total, message=""):
            progress(done, 2 * total, message)

        def projected(done, total, message=""):
            progress(total if rendering else done, 2 * total, message)

        def rest(done, total, message=""):
            progress(len(self.frames) + done, 2 * len(self.frames), message)

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

