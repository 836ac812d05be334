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


class _Renderer:
    """Renders the built scene's frames 1..F into arrays: colour, labels, keypoints."""

    def __init__(self, scene, character, work: Path, n_frames: int):
        from ..blender.projection import MouthProjector

        self.scene, self.character, self.work, self.n_frames = scene, character, work, n_frames
        self.projector = MouthProjector(scene, character.object, scene.camera,
                                        character.mouth_group)

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
        from .labels import render_label_range

        return render_label_range(self.scene, self.character, 1, self.n_frames)

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


def make_clip(plan: ClipPlan, out_dir: str | os.PathLike, options: ClipOptions = ClipOptions(),
              progress: ProgressFn = no_progress,
              should_cancel: CancelFn = never_cancel) -> Path:
    """Render clip `plan` into ``out_dir/<clip_id>`` and return that folder.

    Builds a fresh file (the bpy module's current file is replaced). Work happens in a
    ``.tmp`` sibling that is renamed into place at the end, so an interrupted clip leaves
    no half-written folder under its own name.
    """
    import bpy

    from ...core.audio import AudioTiming, fit_to_frames, save_wav
    from ...core.speech import viseme_weights
    from .character import build_character, face_anchor, set_viseme_weights
    from .character_spec import CharacterSpec
    from .shot import ShotSpec, setup_shot
    from .realistic_look import style_scene as style_realistic
    from .toon import style_scene

    out_dir = Path(out_dir)
    final = out_dir / plan.clip_id
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{plan.clip_id}.", suffix=".tmp", dir=out_dir))
    try:
        speech = _speak(plan.sentence, plan)
        shot = ShotSpec.random(plan.shot_seed, engine=options.engine,
                               cycles_share=options.cycles_share, fps=options.fps,
                               resolution=options.resolution)
        timing = AudioTiming(fps=shot.fps)
        n_frames = timing.n_video_frames_for(len(speech.samples))
        if options.max_frames is not None:
            n_frames = min(n_frames, options.max_frames)
        samples, _ = fit_to_frames(speech.samples, timing, n_frames)
        visemes = viseme_weights(speech.phonemes, timing, n_frames)
        dub = _speak(plan.dub_sentence, plan) if plan.dub_sentence else None

        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        scene.frame_start, scene.frame_end = 1, n_frames
        scene.render.fps, scene.render.fps_base = shot.fps, 1.0
        character = build_character(scene, CharacterSpec.random(plan.character_seed, plan.family))
        setup_shot(scene, character.object, face_anchor(character), shot)
        style_scene(scene, character)
        style_realistic(scene, character)
        renderer = _Renderer(scene, character, work, n_frames)
        versions = {"neutral": np.zeros_like(visemes), "talking": visemes}
        if dub is not None:
            versions["dub"] = viseme_weights(dub.phonemes, timing, n_frames)
        images, tracks = {}, {}
        steps = len(versions) + 1
        for step, (name, weights) in enumerate(versions.items()):
            check_cancel(should_cancel)
            progress(step, steps, f"{plan.clip_id} {name}")
            set_viseme_weights(character, weights, 1)
            images[name] = renderer.colour()
            tracks[name] = renderer.keypoints()
            if name == "talking":
                labels = renderer.labels()
        check_cancel(should_cancel)
        progress(steps, steps, f"{plan.clip_id} stored")

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
        save_wav(work / "audio.wav", samples, FRONT_END.sample_rate)
        np.save(work / "visemes.npy", visemes)
        phonemes = {"talking": [[p.start_s, p.end_s, p.symbol] for p in speech.phonemes]}
        if dub is not None:
            fitted, _ = fit_to_frames(dub.samples, timing, n_frames)
            save_wav(work / "dub_audio.wav", fitted, FRONT_END.sample_rate)
            np.save(work / "dub_visemes.npy", versions["dub"])
            phonemes["dub"] = [[p.start_s, p.end_s, p.symbol] for p in dub.phonemes]
        (work / "phonemes.json").write_text(json.dumps(phonemes))
        if keeps_full_frames(plan, options):
            np.savez_compressed(work / "frames.npz", labels=labels, **images)
        meta = {"plan": plan.to_dict(), "character": character.spec.to_dict(),
                "shot": shot.to_dict(), "frames": int(n_frames), "fps": shot.fps,
                "sample_rate": FRONT_END.sample_rate, "crop_size": size,
                "versions": list(versions),
                "audio_samples": len(samples)}
        (work / CLIP_MARKER).write_text(json.dumps(meta, indent=1))
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
        return final
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
