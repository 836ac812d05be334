"""Learn Character: the generator fine-tuned on renders of the user's own rigged character.

`LearnCharacterJob(request).run(progress, should_cancel)` works on the open file and never
saves it (headless: ``blender -b shot.blend -c lipsync learn``; the panel runs that in a
background process on a temporary copy, `learn_background.py`):

1. `prepare()`: the scene, camera and mesh; its mouth controls (`blender.mouth_controls`:
   shape keys through the naming table, a jaw bone, or the user's JSON table; none is an
   InputError saying its lip-sync keeps the general model); espeak-ng; the learnt file
   (`core.learn.character`) must not exist; the networks; the speech (`settings.sentences`
   varied lines, `core.speech.script`) over frames from the scene's first frame on;
2. `main_thread_steps()`: the rest mouth's keypoints through the camera, then two renders
   of every frame, mouth at rest (mapped controls at 0) and speaking (keyed from the
   speech's visemes), through the shot's camera with the scene's engine, materials and
   lights, only inside a render border around the mouth's crops, samples capped at
   `settings.samples`, at the resolution the networks learn from (`render_percentage`:
   the mouth's crop about `learn_renders.CROP_SCALE` times the side crops are cut at, never above
   the shot's own); in a still shot (`blender.still_scene`) one rest render serves every
   frame. Renders already in the work folder are reused when the settings
   match and the first rest frame, rendered again, matches its file;
3. `compute()`: `core.learn.footage.collect_renders`, `core.learn.tune.learn` (bounded by
   steps and minutes), `core.learn.weights.save_learnt` (file and card, never over a
   file); the work folder is then removed.
`abort(cancelled)`: removes what this run wrote; a cancelled run also removes the work
folder, a failed one keeps its finished renders for a re-run.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ...core.errors import Cancelled, InputError
from ...core.learn.character import (DEFAULT_FOLDER, LearnSettings, learnt_path, work_path)
from ...core.progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from ..blender import projection, render, sound
from ..blender.mouth_controls import MouthControls, drive, find_controls
from ..blender.still_scene import still_but_for
from .learn_renders import (BANK_RENDERS, link_or_copy, mouth_border, render_percentage,
                            render_settings)
from .preprocess_job import resolve_output_dir

REST, SPEAKING, BANK = "rest", "speaking", "bank"
SAME_PIXELS = 2.0        # mean |difference| (0-255) under which a render matches its file


@dataclass(frozen=True)
class LearnRequest:
    """What Learn Character is asked for (the panel and the command lines build it)."""

    scene: str
    character: str                  # mesh object
    mouth_group: str = ""           # the lips' vertex group; "" = found
    visemes: str = "auto"           # `core.mesh.viseme_map.CHOICES` entry or a JSON table
    out_dir: str = DEFAULT_FOLDER   # the learnt folder ("//" = next to the .blend)
    settings: LearnSettings = LearnSettings()
    device: str = "auto"
    source_file: str = ""           # the user's .blend, for the card ("" = the open file)


@dataclass
class LearnCharacterResult:
    """A finished Learn Character run."""

    path: str                       # the learnt generator
    character: str
    controls: str                   # which mouth controls were driven
    frames: int                     # frames rendered at rest and speaking (each)
    reused: int                     # renders taken from an earlier, unfinished run
    learnt: dict                    # `LearnResult.to_dict()`

    def summary_lines(self) -> list[str]:
        r = self.learnt
        before, after = r["heldout_before"], r["heldout_after"]
        reused = f", {self.reused} renders reused" if self.reused else ""
        return [f"Learnt '{self.character}' ({self.controls}) from {self.frames} frames at "
                f"rest and speaking{reused}: {r['steps']} steps in {r['seconds'] / 60:.1f} min",
                f"held-out mouth SSIM {before['ssim']:.3f} -> {after['ssim']:.3f} "
                f"({r['heldout_frames']} frames); later runs of '{self.character}' use "
                f"{self.path} (card: {Path(self.path).with_suffix('.md').name})"]

    def summary(self) -> str:
        return "; ".join(self.summary_lines())


def check_request(request: LearnRequest, scene) -> tuple:
    """(camera, `MouthControls`) of the request, after the checks that need no work: the
    camera, the mesh, its mouth controls, a free learnt file name, espeak-ng."""
    from ...core.speech.script import require_espeak

    camera = render.require_camera(scene)
    obj = projection.require_mesh(scene, request.character)
    try:
        controls = find_controls(obj, request.visemes)
    except InputError as exc:
        raise InputError(f"Learn Character cannot drive '{obj.name}': {exc} Until it has "
                         "mouth controls, its lip-sync uses the general model.") from None
    target = learnt_path(resolve_output_dir(request.out_dir), request.character)
    for path in (target, target.with_suffix(".md")):
        if path.exists():
            raise InputError(f"'{path}' already exists and is kept: later runs of "
                             f"'{obj.name}' use what is learnt there. To learn again, delete "
                             "it and its card yourself, or choose another folder.")
    require_espeak()
    return camera, controls


class LearnCharacterJob:
    """One Learn Character run (see the module docstring for its phases)."""

    def __init__(self, request: LearnRequest):
        self.request = request
        self.scene = bpy.data.scenes.get(request.scene)
        if self.scene is None:
            raise InputError(f"No scene named '{request.scene}'.")
        self.folder = Path(resolve_output_dir(request.out_dir))
        self.target = learnt_path(self.folder, request.character)
        self.work = work_path(self.folder, request.character)
        self.controls: MouthControls | None = None
        self.models = self.speech = self.track = None
        self.percentage = self.scene.render.resolution_percentage   # of the renders, set later
        self.timing = sound.scene_timing(self.scene)
        self.frames: list[int] = []
        self.bank_rows: list[int] = []  # rows of `frames` rendered for the mouth bank
        self.reused = 0
        self._made_folder = False
        self._writing = False           # save_learnt began: its file and card are this run's

    # -- phase 1: main thread ------------------------------------------------------------
    def prepare(self) -> None:
        """Check everything (`check_request`), then open the work folder (reusing a
        matching one)."""
        from ...core.pipeline.options import LipSyncOptions
        from .lipsync_job import _load_models

        self.camera, self.controls = check_request(self.request, self.scene)
        self.models = _load_models(LipSyncOptions(device=self.request.device))
        try:
            self._made_folder = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"The learnt folder '{self.folder}' cannot be created "
                             f"({exc.strerror}): choose a writable folder.") from exc
        self._open_work()
        first = self.scene.frame_start
        self.frames = list(range(first, first + len(self.speech["visemes"])))

    def _render_key(self) -> dict:
        """What the renders depend on (besides the scene's look, checked by a render)."""
        r = self.scene.render
        return {"settings": self.request.settings.render_key(),
                "character": self.request.character, "mouth_group": self.request.mouth_group,
                "controls": self.controls.viseme_map.to_dict(), "fps": float(self.timing.fps),
                "size": list(projection.render_size(self.scene)), "engine": r.engine,
                "camera": self.camera.name, "first": self.scene.frame_start}

    def _open_work(self) -> None:
        """Reuse the work folder of an unfinished run with the same key, else start one:
        speak the script, store the speech, settings.json last."""
        from ...core.speech.script import script_for, speak_script

        key, marker = self._render_key(), self.work / "settings.json"
        if marker.is_file() and json.loads(marker.read_text()) == key:
            with np.load(self.work / "speech.npz") as data:
                self.speech = {"samples": data["samples"], "visemes": data["visemes"]}
            for stray in self.work.glob("*/*.part.png"):       # a render cut off
                stray.unlink()
            return
        if self.work.exists():
            if any(self.work.iterdir()) and not marker.is_file():
                raise InputError(f"'{self.work}' is not a Learn Character work folder: move "
                                 "it away or choose another folder.")
            shutil.rmtree(self.work)                            # another run's: outdated
        s = self.request.settings
        spoken = speak_script(script_for(s.language, s.sentences, s.seed), self.timing)
        self.work.mkdir()
        self.speech = {"samples": spoken.samples, "visemes": spoken.visemes}
        np.savez(self.work / "speech.npz", **self.speech)
        marker.write_text(json.dumps(key))

    # -- phase 2: main thread, one step per frame ----------------------------------------
    def main_thread_steps(self):
        """Project the rest mouth, then render both versions; yields (done, total, msg)."""
        scene, frames, n = self.scene, self.frames, len(self.frames)
        frame_current = scene.frame_current
        from ...core.pipeline.bank import cover         # not at register: heavy imports

        self.bank_rows = cover(self.speech["visemes"], BANK_RENDERS)
        total = 3 * n + len(self.bank_rows)
        try:
            drive(self.controls, np.zeros_like(self.speech["visemes"]), frames[0])
            projector = projection.MouthProjector(scene, self.controls.object, self.camera,
                                                  self.request.mouth_group)
            self.track = projection.empty_track(frames, 1)
            for i, frame in enumerate(frames):
                points, visible, box = projector.project(frame)
                t = self.track
                t.points[i, 0], t.visible[i, 0], t.boxes[i, 0] = points, visible, box
                yield i + 1, total, f"mouth keypoints, frame {frame}"
            self._require_visible()
            from ...core.models.config import pass_side   # not at register: heavy imports

            border = mouth_border(self.track, projection.render_size(scene),
                                  self.request.settings.margin)
            self.percentage = render_percentage(self.track, scene.render.resolution_percentage,
                                                pass_side(self.models.size))
            samples = self.request.settings.samples
            with render.temporary_settings(render_settings(scene, border, samples,
                                                           self.percentage)):
                self._check_reuse(frames[0])
                for k, (version, track) in enumerate(
                        ((REST, np.zeros_like(self.speech["visemes"])),
                         (SPEAKING, self.speech["visemes"]))):
                    drive(self.controls, track, frames[0])
                    once = version == REST and still_but_for(self.controls)
                    for i, frame in enumerate(frames):
                        path = self.work / version / f"{i + 1:04d}.png"
                        if path.is_file():
                            self.reused += 1
                        elif once and i > 0:          # a still shot: the first rest render
                            link_or_copy(self.work / version / "0001.png", path)
                        else:
                            render.render_frame(scene, frame, str(path))
                        yield (k + 1) * n + i + 1, total, f"rendering {version}, frame {frame}"
            with render.temporary_settings(render_settings(
                    scene, border, samples, scene.render.resolution_percentage)):
                for j, i in enumerate(self.bank_rows):    # the mouth bank: the shot's size
                    path = self.work / BANK / f"{i + 1:04d}.png"
                    if path.is_file():
                        self.reused += 1
                    else:
                        render.render_frame(scene, frames[i], str(path))
                    yield 3 * n + j + 1, total, f"rendering the mouth bank, frame {frames[i]}"
        finally:
            scene.frame_set(frame_current)

    def _require_visible(self) -> None:
        from ...core.learn.footage import MIN_FRAMES

        seen = int(self.track.visible[:, 0].all(axis=1).sum())
        if seen < MIN_FRAMES:
            raise InputError(f"The mouth of '{self.request.character}' shows whole on {seen} of "
                             f"{len(self.frames)} frames from the camera '{self.camera.name}' "
                             f"(at least {MIN_FRAMES} needed): point the camera at the face.")

    def _check_reuse(self, first: int) -> None:
        """Render the first rest frame again; when it differs from its file (the scene's
        look changed), the renders are made anew."""
        from ...core.preprocess.frames import read_frame_raw

        old = self.work / REST / "0001.png"
        if not old.is_file():
            return
        drive(self.controls, np.zeros_like(self.speech["visemes"]), first)
        new = render.render_frame(self.scene, first, str(self.work / "check.png"))
        new_pixels, old_pixels = read_frame_raw(new), read_frame_raw(old)
        same = (new_pixels.shape == old_pixels.shape
                and np.abs(new_pixels.astype(np.float32)
                           - old_pixels.astype(np.float32)).mean() <= SAME_PIXELS)
        os.remove(new)
        if not same:
            for version in (REST, SPEAKING, BANK):
                shutil.rmtree(self.work / version, ignore_errors=True)

    # -- phase 3: any thread -------------------------------------------------------------
    def compute(self, progress: ProgressFn = no_progress,
                should_cancel: CancelFn = never_cancel) -> None:
        """Learn from the renders and write the learnt file and its card (no bpy)."""
        from ...core.learn.footage import collect_bank, collect_renders, hear
        from ...core.learn.tune import learn
        from ...core.learn.weights import save_learnt
        from ...core.pipeline.character import CharacterTrack

        req, s, n = self.request, self.request.settings, len(self.frames)
        check_cancel(should_cancel)
        paths = {v: [self.work / v / f"{i + 1:04d}.png" for i in range(n)]
                 for v in (REST, SPEAKING)}
        character = CharacterTrack(req.character, self._rendered_track(),
                                   self.speech["samples"])
        footage = collect_renders(paths[REST], paths[SPEAKING], character, self.timing.fps,
                                  self.models, lambda d, t, m="": progress(d, n + s.steps, m),
                                  should_cancel)
        generator, result = learn(self.models, footage, s.steps, s.minutes,
                                  lambda d, t, m="": progress(n + d, n + s.steps, m),
                                  should_cancel)
        banked = set(self.bank_rows)
        bank = collect_bank([self.work / BANK / f"{i + 1:04d}.png" if i in banked else None
                             for i in range(n)],
                            CharacterTrack(req.character, self.track, self.speech["samples"]),
                            self.timing.fps, self.models, should_cancel)
        bank = hear(bank, footage, self.speech["visemes"])
        check_cancel(should_cancel)
        self._writing = True
        save_learnt(self.target, generator, result, self._source(len(footage)), bank)
        self.result = LearnCharacterResult(str(self.target), req.character,
                                           self.controls.describe(), n, self.reused,
                                           result.to_dict())
        shutil.rmtree(self.work, ignore_errors=True)

    def _rendered_track(self):
        """The keypoint track in the renders' pixels (they are `self.percentage` of the
        shot's percentage)."""
        from ...core.preprocess.keypoints import KeypointTrack

        full, small = self._sizes()
        scale = np.array(small, np.float32) / np.array(full, np.float32)            # (2,)
        t = self.track
        return KeypointTrack(points=t.points * scale, visible=t.visible,
                             boxes=t.boxes * np.tile(scale, 2), frames=t.frames)

    def _sizes(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(shot's rendered size, the learning renders' size), px (width, height)."""
        return (projection.render_size(self.scene),
                projection.render_size(self.scene, self.percentage))

    def _source(self, used: int) -> dict:
        """What the card says was rendered."""
        r, s = self.scene.render, self.request.settings
        w, h = self._sizes()[1]
        samples = "" if r.engine == "BLENDER_WORKBENCH" else f", at most {s.samples} samples"
        return {"character": self.request.character, "scene": self.scene.name,
                "file": self.request.source_file or bpy.data.filepath,
                "controls": self.controls.describe(),
                "speech": f"{s.sentences} sentences ({s.language}, espeak-ng, seed {s.seed})",
                "rendered": f"{len(self.frames)} frames at rest and speaking, camera "
                            f"'{self.camera.name}', {r.engine}, {w}x{h} px, mouth border "
                            f"only{samples}",
                "frames_used": used, "fps": float(self.timing.fps)}

    def finish(self) -> LearnCharacterResult:
        return self.result

    def abort(self, cancelled: bool = True) -> None:
        """Remove what this run wrote: the learnt file and card once it began writing them
        (they did not exist before) and, when `cancelled`, the work folder and a learnt
        folder it created."""
        for path in (self.target, self.target.with_suffix(".md"),
                     self.target.with_name(self.target.name + ".part")):
            if self._writing and path.exists():
                path.unlink()
        if cancelled:
            shutil.rmtree(self.work, ignore_errors=True)
            if self._made_folder:
                try:
                    self.folder.rmdir()
                except OSError:
                    pass

    def run(self, progress: ProgressFn = no_progress,
            should_cancel: CancelFn = never_cancel) -> LearnCharacterResult:
        """All phases in order on the calling (main) thread; progress counts, on one
        scale, the main steps (3 per frame), the frames read and the learning steps."""
        try:
            self.prepare()
            main = 3 * len(self.frames)
            total = main + len(self.frames) + self.request.settings.steps
            steps = self.main_thread_steps()
            try:
                for done, _, message in steps:
                    progress(done, total, message)
                    check_cancel(should_cancel)
            finally:
                steps.close()
            self.compute(lambda d, t, m="": progress(main + d, main + t, m), should_cancel)
            return self.finish()
        except (Cancelled, KeyboardInterrupt):
            self.abort(cancelled=True)
            raise
        except BaseException:
            self.abort(cancelled=False)
            raise
