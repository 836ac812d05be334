"""Read a factory data set (no bpy) and serve training batches for the networks.

A clip folder (see `addon/factory/clip.py`) holds face crops of the `talking`, `neutral`
and (some clips) `dub` renders, part labels, keypoints and audio. `load_clip` turns one
into model-ready arrays at side `size`: the crops, their step-S20 passes (mouth blur
picture and gradient map, computed once and cached under ``<data>/cache/``), keypoints in
crop pixels, and the MFCC of each audio track. `ClipSet` holds the clips of a split and
draws the batches of each training stage as numpy arrays (channels first, float32 in
[0, 1] for images) from a `numpy.random.Generator`, so a seed fixes every batch.

Audio windows are fps-independent: `AUDIO_WINDOW` MFCC columns (10 ms each) centred on
the middle of the window's video frames.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..audio import AudioTiming, load_audio, mfcc
from ..errors import InputError
from ..preprocess.config import PreprocessConfig
from ..preprocess.keypoints import Face, KeypointTrack
from ..preprocess.mouth_blur import mouth_blur_picture
from ..preprocess.gradient import gradient_map
from ..pipeline.region import keypoint_heatmap, mouth_region_mask

MANIFEST = "manifest.jsonl"
RECIPE = "recipe.json"   # the arguments a data set was made with
DEFAULT_INPUT_MIX = {"neutral": 0.5, "dub": 0.25, "talking": 0.25}  # generator inputs
CACHE_VERSION = 1
SAMPLE_RATE = 16000
AUDIO_WINDOW = 20        # MFCC columns per window (0.2 s at a 10 ms hop)
SYNC_FRAMES = 5          # video frames per sync group
MIN_NEGATIVE_SHIFT = 3   # off-sync pairs are at least this many frames apart
AUDIO_OF = {"talking": "audio.wav", "dub": "dub_audio.wav"}
TIMING = AudioTiming(fps=25, sample_rate=SAMPLE_RATE)   # hop, window, mels (fps unused)


@dataclass
class Clip:
    """One clip at model size S; F frames; V versions ('talking', 'neutral', maybe 'dub')."""

    clip_id: str
    split: str
    fps: float
    versions: tuple[str, ...]
    images: dict[str, np.ndarray]     # version -> (F, S, S, 3) uint8 RGB crops
    blur: dict[str, np.ndarray]       # version -> (F, S, S, 3) uint8 mouth blur pictures
    gradient: dict[str, np.ndarray]   # version -> (F, S, S) uint8 gradient maps (x255)
    keypoints: dict[str, np.ndarray]  # version -> (F, 25, 2) float32, crop px
    visible: dict[str, np.ndarray]    # version -> (F,) bool, whole mouth visible
    labels: np.ndarray                # (F, S, S) uint8 part classes of the talking frames
    mfcc: dict[str, np.ndarray]       # 'talking' / 'dub' -> (13, T) float32, 10 ms columns

    @property
    def n_frames(self) -> int:
        return int(self.labels.shape[0])

    def audio_window(self, track: str, frame: int, shift: int = 0,
                     frames: int = SYNC_FRAMES) -> np.ndarray:
        """(13, AUDIO_WINDOW) MFCC of `track` centred on frames frame..frame+frames-1, moved
        by `shift` video frames; edge-padded beyond the audio."""
        return audio_window(self.mfcc[track], self.fps, frame + shift, frames)

    def passes(self, version: str, frame: int) -> np.ndarray:
        """(4, S, S) float32: blur RGB and gradient of one frame, in [0, 1]."""
        rgb = self.blur[version][frame].transpose(2, 0, 1)
        grad = self.gradient[version][frame][None]
        return np.concatenate([rgb, grad]).astype(np.float32) / 255.0

    def image(self, version: str, frame: int) -> np.ndarray:
        """(3, S, S) float32 crop in [0, 1]."""
        return self.images[version][frame].transpose(2, 0, 1).astype(np.float32) / 255.0


def audio_window(feats: np.ndarray, fps: float, frame: int,
                 frames: int = SYNC_FRAMES) -> np.ndarray:
    """(13, AUDIO_WINDOW) columns of MFCC `feats` (13, T) (10 ms hop from time 0) centred
    on video frames frame..frame+frames-1 at `fps`; edge-padded beyond the audio."""
    centre_s = (frame + frames / 2) / fps
    start = int(round(centre_s * SAMPLE_RATE / TIMING.hop_length)) - AUDIO_WINDOW // 2
    idx = np.clip(np.arange(start, start + AUDIO_WINDOW), 0, feats.shape[1] - 1)
    return feats[:, idx]


def read_manifest(data: Path) -> list[dict]:
    """The manifest's clip records; InputError when the folder holds no data set."""
    path = Path(data) / MANIFEST
    if not path.exists():
        raise InputError(f"'{data}' has no {MANIFEST}: make the data set first "
                         "(python -m lipsync dataset make --out DIR --clips N --seed S).")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_clip(data: Path, record: dict, size: int = 64,
              config: PreprocessConfig | None = None) -> Clip:
    """Load clip `record` (a manifest line) of data set `data` at model side `size`."""
    data = Path(data)
    folder = data / record["clip_id"]
    meta = json.loads((folder / "clip.json").read_text())
    config = config or PreprocessConfig()
    tag = f"{size}_b{config.blur_fraction:g}_v{CACHE_VERSION}"
    cache = data / "cache" / f"{record['clip_id']}_{tag}.npz"
    if cache.exists():
        arrays = dict(np.load(cache))
    else:
        arrays = _prepare(folder, meta, size, config)
        cache.parent.mkdir(exist_ok=True)
        partial = cache.with_name(cache.stem + f".{os.getpid()}.part.npz")
        np.savez(partial, **arrays)
        os.replace(partial, cache)
    versions = tuple(meta["versions"])
    feats = {}
    for track, name in AUDIO_OF.items():
        if track in versions:
            samples = load_audio(folder / name, SAMPLE_RATE)
            feats[track] = mfcc(samples, TIMING)
    return Clip(
        clip_id=record["clip_id"], split=record["split"], fps=float(meta["fps"]),
        versions=versions,
        images={v: arrays[f"image_{v}"] for v in versions},
        blur={v: arrays[f"blur_{v}"] for v in versions},
        gradient={v: arrays[f"gradient_{v}"] for v in versions},
        keypoints={v: arrays[f"keypoints_{v}"] for v in versions},
        visible={v: arrays[f"visible_{v}"] for v in versions},
        labels=arrays["labels"], mfcc=feats)


def _prepare(folder: Path, meta: dict, size: int, config: PreprocessConfig) -> dict:
    """Crops at `size`, S20 passes, keypoints in crop px (the cached part of a clip)."""
    crops = np.load(folder / "crops.npz")
    boxes = crops["boxes"]                                   # (F, 4) full-frame px
    stored = crops["labels"].shape[1]
    out = {"labels": _resize(crops["labels"], size, cv2.INTER_NEAREST)}
    for version in meta["versions"]:
        track = KeypointTrack.load(folder / f"keypoints_{version}.npz")
        scale = (stored / (boxes[:, 2] - boxes[:, 0]))[:, None, None]
        points = (track.points[:, 0] - boxes[:, None, :2]) * scale      # stored-crop px
        face_boxes = (track.boxes[:, 0].reshape(-1, 2, 2) - boxes[:, None, :2]) * scale
        visible = track.visible[:, 0].all(axis=1)
        blur, grad = [], []
        for i, image in enumerate(crops[version]):
            faces = [Face(points[i].astype(np.float32), track.visible[i, 0],
                          _valid_box(face_boxes[i].reshape(4), stored))] if visible[i] else []
            picture = mouth_blur_picture(image, faces, config)
            blur.append(picture)
            grad.append(np.rint(gradient_map(picture, config) * 255).astype(np.uint8))
        factor = size / stored
        out[f"image_{version}"] = _resize(crops[version], size, cv2.INTER_AREA)
        out[f"blur_{version}"] = _resize(np.stack(blur), size, cv2.INTER_AREA)
        out[f"gradient_{version}"] = _resize(np.stack(grad), size, cv2.INTER_AREA)
        out[f"keypoints_{version}"] = (points * factor).astype(np.float32)
        out[f"visible_{version}"] = visible
    return out


def _valid_box(box: np.ndarray, side: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, y0 = max(x0, 0.0), max(y0, 0.0)
    x1, y1 = min(x1, float(side)), min(y1, float(side))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return (0.0, 0.0, float(side), float(side))
    return (x0, y0, x1, y1)


def _resize(stack: np.ndarray, size: int, interpolation: int) -> np.ndarray:
    if stack.shape[1] == size:
        return stack
    return np.stack([cv2.resize(x, (size, size), interpolation=interpolation) for x in stack])


class ClipSet:
    """The clips of one split, and the batches each training stage draws from them."""

    def __init__(self, data: str | os.PathLike, split: str | tuple[str, ...] = "train",
                 size: int = 64, max_clips: int | None = None, progress=None,
                 config: PreprocessConfig | None = None):
        data = Path(data)
        splits = (split,) if isinstance(split, str) else tuple(split)
        records = [r for r in read_manifest(data) if r["split"] in splits]
        if max_clips is not None:
            records = records[:max_clips]
        if not records:
            raise InputError(f"'{data}' has no clips in split {'/'.join(splits)}: make a larger "
                             "data set (more --clips) or choose another split.")
        self.size = size
        self.clips: list[Clip] = []
        for i, record in enumerate(records):
            self.clips.append(load_clip(data, record, size, config))
            if progress:
                progress(i + 1, len(records), record["clip_id"])
        self._weights = np.array([max(c.n_frames - SYNC_FRAMES, 1) for c in self.clips], float)
        self._weights /= self._weights.sum()

    @property
    def n_frames(self) -> int:
        return sum(c.n_frames for c in self.clips)

    def _pick(self, rng: np.random.Generator, margin: int = SYNC_FRAMES) -> tuple[Clip, int]:
        """A clip (by length) and a first frame with `margin` frames from there on, all visible."""
        for _ in range(100):
            clip = self.clips[int(rng.choice(len(self.clips), p=self._weights))]
            if clip.n_frames < margin:
                continue
            start = int(rng.integers(0, clip.n_frames - margin + 1))
            if clip.visible["talking"][start:start + margin].all():
                return clip, start
        raise InputError("no clip has enough frames with a visible mouth for a training sample")

    def sync_batch(self, rng: np.random.Generator, batch: int, negatives: int = 4,
                   versions: tuple[str, ...] = ("talking", "dub")) -> dict[str, np.ndarray]:
        """Sync-expert batch: each group of 5 frames with its own audio and with
        `negatives` windows of the same clip's audio shifted by >= MIN_NEGATIVE_SHIFT frames
        (same voice, same sentence: only the timing tells them apart).

        Returns visual (B, 4*5, S, S) (S20 passes of 5 frames, frame-major), audio
        (B, 1, 13, AUDIO_WINDOW), shifted (B, K, 1, 13, AUDIO_WINDOW), all float32.
        """
        visual, audio, shifted = [], [], []
        for _ in range(batch):
            clip, start = self._pick(rng)
            version = str(rng.choice([v for v in versions if v in clip.versions]))
            visual.append(np.concatenate([clip.passes(version, start + k)
                                          for k in range(SYNC_FRAMES)]))
            audio.append(clip.audio_window(version, start)[None])
            shifted.append(np.stack([clip.audio_window(version, start, shift)[None] for shift
                                     in _negative_shifts(rng, start, clip.n_frames, negatives)]))
        return {"visual": np.stack(visual), "audio": np.stack(audio),
                "shifted": np.stack(shifted)}

    def generator_batch(self, rng: np.random.Generator, batch: int,
                        input_mix: dict[str, float] | None = None) -> dict[str, np.ndarray]:
        """Generator batch: make 5 consecutive talking frames from another render of the shot.

        input_mix: share of samples whose input frames come from each version (default
        DEFAULT_INPUT_MIX; 'dub' falls back to 'neutral' for clips
        without one). The audio is always the talking audio, the target the talking frames.

        Returns float32 arrays (B = batch, T = 5 generated frames, G = T + 4):
            passes (B, G, 4, S, S): S20 passes of the input version, frames t0-2 .. t0+T+1
                (frame k's sync group is passes[:, k:k+5]);
            audio (B, T, 1, 13, AUDIO_WINDOW): talking audio centred on each generated frame;
            group_audio (B, 1, 13, AUDIO_WINDOW): talking audio of the T frames together;
            heatmap (B, T, 1, S, S): the input version's lip contours;
            mask (B, T, 1, S, S): mouth region of the input version's keypoints;
            input (B, T, 3, S, S): the unblurred input crops (kept outside the mask);
            target (B, T, 3, S, S): the talking crops;
            reference (B, 3, S, S): the neutral crop at a random frame (identity).
        """
        mix = input_mix or DEFAULT_INPUT_MIX
        names, shares = list(mix), np.array(list(mix.values()), float)
        samples = []
        for _ in range(batch):
            clip, start = self._pick(rng, 2 * SYNC_FRAMES - 1)
            version = str(rng.choice(names, p=shares / shares.sum()))
            if version not in clip.versions:
                version = "neutral"
            samples.append(self.generator_sample(clip, version, start + 2,
                                                 int(rng.integers(0, clip.n_frames))))
        return {k: np.stack([s[k] for s in samples]) for k in samples[0]}

    def generator_sample(self, clip: Clip, version: str, first: int,
                         reference: int) -> dict[str, np.ndarray]:
        """One sample of `generator_batch`: frames first .. first+4 made from `version`
        (frames first-2 .. first+6 must exist)."""
        size = (self.size, self.size)
        frames = range(first, first + SYNC_FRAMES)
        points = [clip.keypoints[version][t] for t in frames]
        return {
            "passes": np.stack([clip.passes(version, t)
                                for t in range(first - 2, first + SYNC_FRAMES + 2)]),
            "audio": np.stack([clip.audio_window("talking", t - 2)[None] for t in frames]),
            "group_audio": clip.audio_window("talking", first)[None],
            "heatmap": np.stack([keypoint_heatmap(p, size)[None] for p in points]),
            "mask": np.stack([mouth_region_mask(p, size)[None] for p in points]),
            "input": np.stack([clip.image(version, t) for t in frames]),
            "target": np.stack([clip.image("talking", t) for t in frames]),
            "reference": clip.image("neutral", reference),
        }

    def parser_batch(self, rng: np.random.Generator, batch: int) -> dict[str, np.ndarray]:
        """Labelled talking crops: image (B, 3, S, S) float32, labels (B, S, S) int64."""
        images, labels = [], []
        for _ in range(batch):
            clip = self.clips[int(rng.choice(len(self.clips), p=self._weights))]
            i = int(rng.integers(0, clip.n_frames))
            images.append(clip.image("talking", i))
            labels.append(clip.labels[i].astype(np.int64))
        return {"image": np.stack(images), "labels": np.stack(labels)}

    def unlabelled_pairs(self, rng: np.random.Generator, batch: int) -> dict[str, np.ndarray]:
        """Adjacent frames of renders that carry no labels (neutral, dub): first, second
        (B, 3, S, S) float32."""
        first, second = [], []
        for _ in range(batch):
            clip = self.clips[int(rng.choice(len(self.clips), p=self._weights))]
            version = str(rng.choice([v for v in clip.versions if v != "talking"]))
            i = int(rng.integers(0, clip.n_frames - 1))
            first.append(clip.image(version, i))
            second.append(clip.image(version, i + 1))
        return {"first": np.stack(first), "second": np.stack(second)}


def _negative_shifts(rng: np.random.Generator, start: int, n_frames: int, count: int) -> list[int]:
    """`count` different shifts of at least MIN_NEGATIVE_SHIFT frames, keeping the window
    inside the clip when the clip is long enough (else also beyond it: edge-padded audio)."""
    reach = n_frames + count + MIN_NEGATIVE_SHIFT
    inside = [s for s in range(-start, n_frames - SYNC_FRAMES - start + 1)
              if abs(s) >= MIN_NEGATIVE_SHIFT]
    options = inside if len(inside) >= count else [
        s for s in range(-reach, reach + 1) if abs(s) >= MIN_NEGATIVE_SHIFT]
    return [int(s) for s in rng.choice(options, size=count, replace=False)]
