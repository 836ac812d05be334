"""One clip of the synthetic data set, rendered with the bpy module.

A clip is one character in one shot speaking one sentence, rendered three ways on the same
frames: `neutral` (mouth held at rest: what an animator renders before lip-sync), `talking`
(visemes from the speech's phoneme timings) and, for some clips, `dub` (the same shot
speaking a second sentence, fitted to the same frames). Stored per clip folder:

- crops.npz: `talking`, `neutral`, `dub` (F, S, S, 3) uint8 RGB face crops, `labels`
  (F, S, S) uint8 part classes of the talking frames, `boxes` (F, 4) float32 crop boxes
  (x0, y0, x1, y1) in full-frame pixels (from the neutral keypoints, smoothed, so the crop
  never follows the speaking mouth);
- keypoints_{talking,neutral,dub}.npz: `KeypointTrack`s in full-frame pixels;
- audio.wav / dub_audio.wav (16 kHz), visemes.npy / dub_visemes.npy (F, 7),
  phonemes.json;
- frames.npz (held-out clips and a share of training clips): the full frames `talking`,
  `neutral`, `dub` (F, H, W, 3) and `labels` (F, H, W);
- clip.json: every parameter and seed; written last, so its presence means "complete".
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.dataset.plan import ClipPlan
from ...core.audio.frontend import FRONT_END
from ...core.pipeline.crop import crop, crop_boxes
from ...core.progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress

CLIP_MARKER = "clip.json"


@dataclass(frozen=True)
class ClipOptions:
    """How clips are rendered and stored (the same for a whole data set)."""

    resolution: int = 128      # full frame side, px
    crop_size: int = 96        # stored crop side, px
    engine: str | None = None  # None: the shot's seeded choice
    cycles_share: float = 0.3  # share of Cycles shots when `engine` is None
    full_frame_share: float = 0.1  # share of training clips that also keep full frames
    max_frames: int | None = None  # cut every clip to at most this many frames (tests)
    fps: int | None = None     # one frame rate for every clip (default: the shot's 24/25/30)
    mouth_styles: tuple[str, ...] = ()  # anime training mouths drawn from these (default:
    #                                     the family's own, `family_specs.with_mouth_styles`)


class ClipRenderer:
    """Renders the built scene's frames 1..F into arrays: colour, labels, keypoints.

    `obj` is the talking mesh; `mouth_group` its lips' vertex group ("" finds them);
    `face` (M,) vertex indices of the face for the face box (None: a "face"/"head" group or
    the whole mesh); `labels` renders (F, H, W) uint8 classes (default: the factory's exact
    part labels of `obj`)."""

    def __init__(self, scene, obj, work: Path, n_frames: int, mouth_group: str = "",
                 face: np.ndarray | None = None, labels=None):
        from ..blender.projection import MouthProjector

        self.scene, self.obj, self.work, self.n_frames = scene, obj, work, n_frames
        self.projector = MouthProjector(scene, obj, scene.camera, mouth_group, face=face,
                                        open_mouth=False)    # the factory poses the mouth
        self._labels = labels

    def colour(self) -> np.ndarray:
        """(F, H, W, 3) uint8 RGB, one animation render."""
        import cv2

        from ..blender.render import render_range

        paths = render_range(self.scene, 1, self.n_frames, str(self.work / "render"))
        stack = np.stack([cv2.imread(p, cv2.IMREAD_COLOR)[:, :, ::-1] for p in paths])
        shutil.rmtree(self.work / "render")
        return stack

    def labels(self) -> np.ndarray:
        """(F, H, W) uint8 part classes, one animation render."""
        if self._labels is not None:
            return self._labels(self.scene, 1, self.n_frames)
        from .labels import render_label_range

        return render_label_range(self.scene, self.obj, 1, self.n_frames)

    def keypoints(self):
        """KeypointTrack of the mouth over frames 1..F (full-frame px)."""
        from ...core.preprocess.keypoints import KeypointTrack

        projected = [self.projector.project(f) for f in range(1, self.n_frames + 1)]
        points, visible, boxes = (np.stack(x)[:, None] for x in zip(*projected))
        return KeypointTrack(points=points, visible=visible, boxes=boxes,
                             frames=np.arange(1, self.n_frames + 1))


def keeps_full_frames(plan: ClipPlan, options: ClipOptions) -> bool:
    """Held-out clips always keep full frames (evaluation composites into them); a seeded
    `options.full_frame_share` of training clips does too."""
    draw = np.random.default_rng(plan.shot_seed).random()
    return plan.split != "train" or draw < options.full_frame_share


def _speak(plan_text: str, plan: ClipPlan):
    from ...core.speech import synthesize_isolated

    return synthesize_isolated(plan_text, voice=plan.voice, rate_wpm=plan.rate_wpm, pitch=plan.pitch,
                      sample_rate=FRONT_END.sample_rate)


@dataclass
class ClipSpeech:
    """A clip's speech fitted to its F frames: the talking audio (`samples`, 16 kHz), the
    viseme weights (F, 7) of each version ("neutral" all rest, "talking", maybe "dub"),
    the phonemes [[start_s, end_s, symbol]] per spoken version, the dub's audio or None."""

    timing: object              # core.audio.AudioTiming at the shot's fps
    n_frames: int
    samples: np.ndarray
    versions: dict
    phonemes: dict
    dub_samples: np.ndarray | None = None


def speak_clip(plan: ClipPlan, fps: float, max_frames: int | None = None) -> ClipSpeech:
    """Speak the plan's sentence (and dub sentence) with espeak-ng; F = the talking audio's
    length in frames at `fps`, at most `max_frames`."""
    from ...core.audio import AudioTiming
    from ...core.speech.script import fit_speech

    timing = AudioTiming(fps=fps)
    talking = fit_speech(_speak(plan.sentence, plan), timing, max_frames=max_frames)
    n_frames = talking.n_frames
    result = ClipSpeech(timing, n_frames, talking.samples,
                        {"neutral": np.zeros_like(talking.visemes), "talking": talking.visemes},
                        {"talking": talking.phonemes})
    if plan.dub_sentence:
        dub = fit_speech(_speak(plan.dub_sentence, plan), timing, n_frames)
        result.versions["dub"], result.phonemes["dub"] = dub.visemes, dub.phonemes
        result.dub_samples = dub.samples
    return result


def render_versions(renderer: ClipRenderer, speech: ClipSpeech, drive, clip_id: str,
                    progress: ProgressFn = no_progress, should_cancel: CancelFn = never_cancel):
    """Render every version of `speech`: `drive(weights (F, 7))` keys the mouth, then the
    colour frames and keypoints are rendered, and the labels of the talking version.
    Returns (images {version: (F, H, W, 3)}, tracks {version: KeypointTrack}, labels
    (F, H, W))."""
    images, tracks, labels = {}, {}, None
    steps = len(speech.versions) + 1
    for step, (name, weights) in enumerate(speech.versions.items()):
        check_cancel(should_cancel)
        progress(step, steps, f"{clip_id} {name}")
        drive(weights)
        images[name] = renderer.colour()
        tracks[name] = renderer.keypoints()
        if name == "talking":
            labels = renderer.labels()
    check_cancel(should_cancel)
    progress(steps, steps, f"{clip_id} stored")
    return images, tracks, labels


def work_folder(out_dir: str | os.PathLike, clip_id: str) -> tuple[Path, Path]:
    """(the clip's final folder, a fresh ``.tmp`` work folder beside it). InputError when
    the final folder exists but is no clip of ours (no clip.json): never overwritten."""
    from ...core.errors import InputError

    out_dir = Path(out_dir)
    final = out_dir / clip_id
    if final.exists() and not (final / CLIP_MARKER).exists():
        raise InputError(f"'{final}' exists and is not a clip (no {CLIP_MARKER}): it is left "
                         "as it is; move it away or choose another --out.")
    out_dir.mkdir(parents=True, exist_ok=True)
    return final, Path(tempfile.mkdtemp(prefix=f"{clip_id}.", suffix=".tmp", dir=out_dir))


def store_clip(work: Path, final: Path, plan: ClipPlan, options: ClipOptions,
               speech: ClipSpeech, images: dict, tracks: dict, labels: np.ndarray,
               meta: dict) -> Path:
    """Write the clip's files (module docstring) into `work`, clip.json last (`meta`'s
    entries after "plan"), and rename `work` to `final` (replacing an older clip there)."""
    from ...core.audio import save_wav

    boxes = crop_boxes(tracks["neutral"].points[:, 0], tracks["neutral"].visible[:, 0])
    size = options.crop_size
    arrays = {name: np.stack([crop(im, box, size) for im, box in zip(stack, boxes)])
              for name, stack in images.items()}
    arrays["labels"] = np.stack([crop(lab, box, size, nearest=True)
                                 for lab, box in zip(labels, boxes)])
    arrays["boxes"] = boxes
    np.savez_compressed(work / "crops.npz", **arrays)
    for name, track in tracks.items():
        track.save(work / f"keypoints_{name}.npz")
    save_wav(work / "audio.wav", speech.samples, FRONT_END.sample_rate)
    np.save(work / "visemes.npy", speech.versions["talking"])
    if speech.dub_samples is not None:
        save_wav(work / "dub_audio.wav", speech.dub_samples, FRONT_END.sample_rate)
        np.save(work / "dub_visemes.npy", speech.versions["dub"])
    (work / "phonemes.json").write_text(json.dumps(speech.phonemes))
    if keeps_full_frames(plan, options):
        np.savez_compressed(work / "frames.npz", labels=labels, **images)
    meta = {"plan": plan.to_dict(), **meta, "frames": int(speech.n_frames),
            "fps": speech.timing.fps, "sample_rate": FRONT_END.sample_rate, "crop_size": size,
            "versions": list(speech.versions), "audio_samples": len(speech.samples)}
    (work / CLIP_MARKER).write_text(json.dumps(meta, indent=1))
    if final.exists():
        shutil.rmtree(final)
    work.rename(final)
    return final


def make_clip(plan: ClipPlan, out_dir: str | os.PathLike, options: ClipOptions = ClipOptions(),
              progress: ProgressFn = no_progress,
              should_cancel: CancelFn = never_cancel) -> Path:
    """Render clip `plan` into ``out_dir/<clip_id>`` and return that folder.

    Builds a fresh file (the bpy module's current file is replaced). Work happens in a
    ``.tmp`` sibling that is renamed into place at the end, so an interrupted clip leaves
    no half-written folder under its own name.
    """
    import bpy

    from .character import build_character, face_anchor, set_viseme_weights
    from .character_spec import CharacterSpec
    from .family_specs import with_mouth_styles
    from .shot import ShotSpec, setup_shot
    from .realistic_look import style_scene as style_realistic
    from .toon import style_scene

    final, work = work_folder(out_dir, plan.clip_id)
    try:
        shot = ShotSpec.random(plan.shot_seed, engine=options.engine,
                               cycles_share=options.cycles_share, fps=options.fps,
                               resolution=options.resolution)
        speech = speak_clip(plan, shot.fps, options.max_frames)
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        scene.frame_start, scene.frame_end = 1, speech.n_frames
        scene.render.fps, scene.render.fps_base = shot.fps, 1.0
        spec = with_mouth_styles(CharacterSpec.random(plan.character_seed, plan.family),
                                 options.mouth_styles)
        character = build_character(scene, spec)
        setup_shot(scene, character.object, face_anchor(character), shot)
        style_scene(scene, character)
        style_realistic(scene, character)
        renderer = ClipRenderer(scene, character.object, work, speech.n_frames,
                                character.mouth_group)
        images, tracks, labels = render_versions(
            renderer, speech, lambda weights: set_viseme_weights(character, weights, 1),
            plan.clip_id, progress, should_cancel)
        return store_clip(work, final, plan, options, speech, images, tracks, labels,
                          {"character": character.spec.to_dict(), "shot": shot.to_dict()})
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
