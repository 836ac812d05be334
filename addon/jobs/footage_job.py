"""Footage on the sequencer: lip-sync a movie (or image) strip, or learn its speaker.

No character mesh and no camera: the strip holds the footage (a recorded presenter, a shot
rendered elsewhere) and the mouth is found in its frames, as `python -m lipsync sync
--frames` finds it (`core.locator.faces.locate_footage`: the face landmark model on real
faces, else the face parser).

- `FootageJob`: the strip's frames over the range lip-synced to a sound strip (or an audio
  file); the result goes on the sequencer above the strip, replacing an earlier run's for
  the same strip and audio. The speaker's learnt generator (``<strip>.lipsync.safetensors``
  in the learnt folder) is used when there is one, and the report says so.
- `LearnFootageJob`: the strip's speaker learnt from its frames and its own speech (the
  sound strip of the footage), as `python -m lipsync learn` does, written to the learnt
  folder as ``<strip>.lipsync.safetensors`` with its card (never over a file).

Phases as `runner.py` drives them: `prepare()` checks everything and reads the audio (nothing
written on bad input); `main_thread_steps()` takes the strip's frames (a movie's extracted
into the run or work folder); `compute()` finds the mouth and lip-syncs or learns (no
bpy); `finish()` adds the strip or reports the file; `abort()` removes what the run wrote.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.learn.character import DEFAULT_FOLDER, LearnSettings, learnt_path
from ...core.pipeline.options import LipSyncOptions
from ...core.progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from ..blender import sound, strips
from . import shot_frames
from .lipsync_request import FRAMES, MATTE, RESULT, LipSyncResult
from .preprocess_job import new_run_dir, resolve_output_dir, scene_range


@dataclass(frozen=True)
class FootageRequest:
    """What the Footage panel or `footage` command asks for."""

    scene: str
    strip: str                      # the movie or image strip with the footage
    sound_strip: str = ""           # the speech: to lip-sync to, or (learn) the footage's own
    audio_file: str = ""            # an audio file instead of a strip (its t=0: first frame)
    frame_start: int | None = None  # None = the strip's frames within the scene's range
    frame_end: int | None = None
    output_dir: str = "//lipsync_cache"
    options: LipSyncOptions = LipSyncOptions()
    locator: str = "auto"           # `core.locator.LOCATORS`
    learnt_dir: str = DEFAULT_FOLDER
    settings: LearnSettings = LearnSettings()   # learning: steps and minutes


@dataclass
class LearnFootageResult:
    """A finished Learn Speaker run."""

    path: str
    strip: str
    frames: int
    learnt: dict                    # `LearnResult.to_dict()`

    def summary_lines(self) -> list[str]:
        r = self.learnt
        before, after = r["heldout_before"], r["heldout_after"]
        return [f"Learnt the speaker of '{self.strip}' from {r['train_frames']} of "
                f"{self.frames} frames: {r['steps']} steps in {r['seconds'] / 60:.1f} min",
                f"held-out mouth SSIM {before['ssim']:.3f} -> {after['ssim']:.3f} "
                f"({r['heldout_frames']} frames); later runs of '{self.strip}' use {self.path}"]

    def summary(self) -> str:
        return "; ".join(self.summary_lines())


class _StripFootage:
    """The shared part: the strip, the range, the audio, the networks, the frames."""

    folder_kind = "run"

    def __init__(self, request: FootageRequest):
        self.request = request
        self.scene, self.first, self.last = scene_range(request.scene, request.frame_start,
                                                        request.frame_end)
        self.timing = sound.scene_timing(self.scene)
        self.frames: list[int] = []
        self.frame_paths: list[str] = []
        self.samples = self.models = None
        self.audio_label = ""
        self.folder = ""               # the run (or work) folder this job made

    def _check_strip(self):
        """The strip, the range clipped to it when not given, the audio; no writing."""
        req = self.request
        strip = strips.find_strip(self.scene, req.strip)
        if req.frame_start is None:
            self.first = max(self.first, strip.frame_final_start)
        if req.frame_end is None:
            self.last = min(self.last, strip.frame_final_end - 1)
        strips.require_frames_strip(self.scene, req.strip, self.first, self.last)
        self.frames = list(range(self.first, self.last + 1))
        self.samples, self.audio_label = self._audio()
        from .lipsync_job import _load_models

        self.models = _load_models(req.options)
        return strip

    def _audio(self) -> tuple[np.ndarray, str]:
        from ...core.audio import is_silent, load_audio

        req, n = self.request, len(self.frames)
        if req.audio_file:
            path = os.path.abspath(req.audio_file)
            samples = load_audio(path, sample_rate=self.timing.sample_rate)
            samples, label = samples[:self.timing.n_samples_for(n)], Path(path).stem
        else:
            audio = sound.read_scene_audio(self.scene, self.first, n, req.sound_strip,
                                           timing=self.timing)
            samples, label = audio.samples, "+".join(audio.sources)
        if is_silent(samples):
            raise InputError(f"The audio '{label}' is silent on frames {self.first}-{self.last}: "
                             "pick the sound strip (or file) with the speech.")
        return samples, label

    def main_thread_steps(self):
        """The strip's frames (a movie's extracted): one step."""
        self.frame_paths = shot_frames.strip_frames(self.scene, self.request.strip, self.frames,
                                                    os.path.join(self.folder, FRAMES))
        yield 1, 1, f"took {len(self.frame_paths)} frames of '{self.request.strip}'"

    def _locate(self, progress: ProgressFn, should_cancel: CancelFn, weights=None):
        """(`CharacterTrack` of the strip's speaker, the locator's notes)."""
        from ...core.locator.faces import locate_footage
        from ...core.pipeline.character import CharacterTrack

        located = locate_footage(self.frame_paths, self.models.parser, progress, should_cancel,
                                 locator=self.request.locator)
        track = CharacterTrack(self.request.strip, located.track, self.samples, located.reasons,
                               weights=weights, own_mouths=located.source == "landmarks")
        return track, list(located.notes)

    def abort(self) -> None:
        """Remove the folder this run made."""
        if self.folder and os.path.isdir(self.folder):
            shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, progress: ProgressFn = no_progress, should_cancel: CancelFn = never_cancel):
        """Every phase in order on the calling thread."""
        try:
            self.prepare()
            for _ in self.main_thread_steps():
                check_cancel(should_cancel)
            self.compute(progress, should_cancel)
            return self.finish()
        except BaseException:
            self.abort()
            raise


def _halves(progress: ProgressFn, second: bool) -> ProgressFn:
    """`progress` for the first or second half of a run's bar."""
    return lambda done, total, message="": progress(
        (total if second else 0) + done, 2 * max(total, 1), message)


class FootageJob(_StripFootage):
    """Lip-sync a footage strip (see the module docstring)."""

    def prepare(self) -> None:
        from .lipsync_job import learnt_weights

        self.strip_channel = self._check_strip().channel
        self.notes: list[str] = []
        self.weights = learnt_weights(self.request, self.request.strip, self.notes)
        self.folder = new_run_dir(resolve_output_dir(self.request.output_dir), self.scene.name,
                                  self.request.strip)

    def compute(self, progress: ProgressFn = no_progress,
                should_cancel: CancelFn = never_cancel) -> None:
        from ...core.pipeline.run import PipelineOptions, lipsync_frames

        track, notes = self._locate(_halves(progress, False), should_cancel, self.weights)
        run = Path(self.folder)
        track.keypoints.save(run / "keypoints.npz")
        result = lipsync_frames(self.frame_paths, [track], self.timing, run / RESULT,
                                PipelineOptions(self.request.options), models=self.models,
                                progress=_halves(progress, True), should_cancel=should_cancel,
                                notes=self.notes + notes)
        self.report = {
            **result.to_dict(), "scene": self.scene.name, "strip": self.request.strip,
            "frame_start": self.first, "frame_end": self.last,
            "audio": {self.request.strip: self.audio_label},
            "passed_through_frames": [self.first + i for i in result.passed_through],
            "notes": result.notes, "quality": self.request.options.quality,
            "revoice": self.request.options.revoice}
        with open(run / "run.json", "w") as fh:
            json.dump({"request": asdict(self.request), "report": self.report}, fh, indent=2,
                      default=str)

    def finish(self) -> LipSyncResult:
        from ...core.pipeline.run import output_name

        names = [output_name(Path(p)) for p in self.frame_paths]
        name = f"{self.request.strip} · {self.audio_label}"
        new = [strips.NewStrip(RESULT, name, os.path.join(self.folder, RESULT), names)]
        if self.request.options.matte:
            new.append(strips.NewStrip(MATTE, f"{name} matte",
                                       os.path.join(self.folder, RESULT, MATTE),
                                       [Path(n).stem + ".png" for n in names], mute=True))
        key = f"footage:{self.request.strip}:{self.audio_label}"
        made = strips.replace_tagged(self.scene, key, new, self.first, self.strip_channel,
                                     self.folder)
        return LipSyncResult(self.folder, made, self.report)


class LearnFootageJob(_StripFootage):
    """Learn a footage strip's speaker (see the module docstring)."""

    def prepare(self) -> None:
        from ...core.learn.weights import check_target

        import tempfile

        s = self.request.settings
        if s.steps < 1 or s.minutes <= 0:
            raise InputError(f"{s.steps} steps / {s.minutes} minutes: give at least one step "
                             "and a positive time.")
        target = learnt_path(resolve_output_dir(self.request.learnt_dir), self.request.strip)
        self._check_strip()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"The learnt folder '{target.parent}' cannot be created "
                             f"({exc.strerror}): choose a writable folder.") from exc
        self.target = check_target(target)

        self.folder = tempfile.mkdtemp(prefix=f".{self.target.stem}.", dir=self.target.parent)

    def compute(self, progress: ProgressFn = no_progress,
                should_cancel: CancelFn = never_cancel) -> None:
        from ...core.learn.footage import collect_footage
        from ...core.learn.tune import learn
        from ...core.learn.weights import save_learnt

        track, _ = self._locate(_halves(progress, False), should_cancel)
        footage = collect_footage(self.frame_paths, track, self.timing.fps, self.models,
                                  should_cancel=should_cancel)
        s = self.request.settings
        generator, self.result = learn(self.models, footage, s.steps, s.minutes,
                                       _halves(progress, True), should_cancel)
        save_learnt(self.target, generator, self.result,
                    {"strip": self.request.strip, "audio": self.audio_label,
                     "frames": f"{self.first}-{self.last}", "fps": float(self.timing.fps),
                     "frames_used": len(footage), "base": "shipped models/"}, footage.bank)
        shutil.rmtree(self.folder, ignore_errors=True)

    def finish(self) -> LearnFootageResult:
        return LearnFootageResult(str(self.target), self.request.strip, len(self.frames),
                                  self.result.to_dict())
