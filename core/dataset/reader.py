"""Read a factory data set (no bpy) and serve training batches for the networks.

A clip folder (see `addon/factory/clip.py`) holds face crops of the `talking`, `neutral`
and (some clips) `dub` renders, part labels, keypoints and audio. `load_clip` turns one
into model-ready arrays at side `size`: the crops, their step-S20 passes (mouth blur
picture and gradient map, made at `pass_side(size)` as in the pipeline, computed once and
cached under ``<data>/cache/``), keypoints in crop pixels, and the MFCC of each audio track;
for a generator of scale 2 also the crops at twice the side (`core.dataset.large`).
`ClipSet` holds the clips of a split and draws the batches of each training stage as numpy
arrays (channels first, float32 in [0, 1] for images) from a `numpy.random.Generator`, so
a seed fixes every batch.

Audio windows are the networks' (`core.audio.group_window`): G = `front_end.group_frames`
frames per group, (M, W) = (`n_mfcc`, `window_columns`) MFCC per window.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..audio import FRONT_END, AudioFrontEnd, AudioTiming, group_window, load_audio, mfcc
from ..errors import InputError
from ..models.config import pass_side
from .large import load_large_crops
from ..models.generator import VISEME_COUNT
from ..preprocess.config import PreprocessConfig
from ..preprocess.keypoints import Face, KeypointTrack
from ..preprocess.mouth_blur import mouth_blur_picture
from ..preprocess.gradient import gradient_map
from ..pipeline.region import keypoint_heatmap, mouth_region_mask

MANIFEST = "manifest.jsonl"
RECIPE = "recipe.json"   # the arguments a data set was made with
DEFAULT_INPUT_MIX = {"neutral": 0.5, "dub": 0.25, "talking": 0.25}  # generator inputs
CACHE_VERSION = 2       # 2: passes made at pass_side(size), not at the stored crops' side
MIN_NEGATIVE_SHIFT = 3   # off-sync pairs are at least this many frames apart
AUDIO_OF = {"talking": "audio.wav", "dub": "dub_audio.wav"}
VISEMES_OF_TALKING = "visemes.npy"
PART_LABELS, MATTE_LABELS = "parts", "matte"   # clip.json "labels" (absent: parts)
UNLABELLED = 255    # a matte clip's label on the character's pixels (its parts unknown)


@dataclass
class Clip:
    """One clip at model size S; F frames; V versions ('talking', 'neutral', maybe 'dub')."""

    clip_id: str
    split: str
    timing: AudioTiming               # the clip's fps and the front end of `mfcc`
    versions: tuple[str, ...]
    images: dict[str, np.ndarray]     # version -> (F, S, S, 3) uint8 RGB crops
    blur: dict[str, np.ndarray]       # version -> (F, S, S, 3) uint8 mouth blur pictures
    gradient: dict[str, np.ndarray]   # version -> (F, S, S) uint8 gradient maps (x255)
    keypoints: dict[str, np.ndarray]  # version -> (F, 25, 2) float32, crop px
    visible: dict[str, np.ndarray]    # version -> (F,) bool, whole mouth visible
    labels: np.ndarray                # (F, S, S) uint8 part classes of the talking frames
    mfcc: dict[str, np.ndarray]       # 'talking' / 'dub' -> (M, T) float32 MFCC
    labelled: bool = True             # False: `labels` is a matte (UNLABELLED / 0), no parts
    visemes: np.ndarray | None = None  # (F, 7) float32 viseme weights the talking render
                                       # was driven by (None: the clip holds none)
    large: dict[str, np.ndarray] | None = None   # version -> (F, L, L, 3) uint8 crops at a
                                                 # scale-2 generator's parts side L = 2S

    @property
    def n_frames(self) -> int:
        return int(self.labels.shape[0])

    def audio_window(self, track: str, frame: int, shift: int = 0) -> np.ndarray:
        """(M, W) MFCC window of `track` for the group of frames from `frame`, moved by
        `shift` video frames; edge-padded beyond the audio."""
        return group_window(self.mfcc[track], self.timing, frame + shift)

    def passes(self, version: str, frame: int) -> np.ndarray:
        """(4, S, S) float32: blur RGB and gradient of one frame, in [0, 1]."""
        rgb = self.blur[version][frame].transpose(2, 0, 1)
        grad = self.gradient[version][frame][None]
        return np.concatenate([rgb, grad]).astype(np.float32) / 255.0

    def image(self, version: str, frame: int, large: bool = False) -> np.ndarray:
        """(3, S, S) float32 crop in [0, 1]; with `large` the crop at 2S (3, 2S, 2S)."""
        images = self.large if large else self.images
        return images[version][frame].transpose(2, 0, 1).astype(np.float32) / 255.0


def read_manifest(data: Path) -> list[dict]:
    """The manifest's clip records; InputError when the folder holds no data set."""
    path = Path(data) / MANIFEST
    if not path.exists():
        raise InputError(f"'{data}' has no {MANIFEST}: make the data set first "
                         "(python -m lipsync dataset make --out DIR --clips N --seed S).")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_clip(data: Path, record: dict, size: int = 64,
              config: PreprocessConfig | None = None,
              front_end: AudioFrontEnd = FRONT_END) -> Clip:
    """Load clip `record` (a manifest line) of data set `data` at model side `size`, its
    audio as MFCC of `front_end`."""
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
            samples = load_audio(folder / name, front_end.sample_rate)
            feats[track] = mfcc(samples, front_end)
    return Clip(
        clip_id=record["clip_id"], split=record["split"],
        timing=AudioTiming(fps=float(meta["fps"]), front_end=front_end), versions=versions,
        images={v: arrays[f"image_{v}"] for v in versions},
        blur={v: arrays[f"blur_{v}"] for v in versions},
        gradient={v: arrays[f"gradient_{v}"] for v in versions},
        keypoints={v: arrays[f"keypoints_{v}"] for v in versions},
        visible={v: arrays[f"visible_{v}"] for v in versions},
        labels=arrays["labels"], mfcc=feats,
        labelled=meta.get("labels", PART_LABELS) == PART_LABELS,
        visemes=_visemes(folder / VISEMES_OF_TALKING, arrays["labels"].shape[0]))


def _visemes(path: Path, n_frames: int) -> np.ndarray | None:
    """(F, 7) float32 viseme weights of a clip's talking render, or None without the file."""
    if not path.exists():
        return None
    weights = np.load(path).astype(np.float32)
    if len(weights) < n_frames:
        raise InputError(f"'{path}' holds {len(weights)} frames of viseme weights for a "
                         f"clip of {n_frames}: render the clip again.")
    return weights[:n_frames]


def _prepare(folder: Path, meta: dict, size: int, config: PreprocessConfig) -> dict:
    """Crops at `size`, S20 passes (made at `pass_side(size)`, as the pipeline does),
    keypoints in crop px (the cached part of a clip). InputError when the stored crops are
    smaller than the pass side."""
    crops = np.load(folder / "crops.npz")
    boxes = crops["boxes"]                                   # (F, 4) full-frame px
    side, stored = pass_side(size), crops["labels"].shape[1]
    if stored < side:
        raise InputError(f"the data set's crops in '{folder}' are {stored} px; a {size} px "
                         f"network reads passes made at {side} px: make the data set with "
                         f"--crop-size {side} or more, or train with a smaller --size.")
    out = {"labels": _resize(crops["labels"], size, cv2.INTER_NEAREST)}
    for version in meta["versions"]:
        track = KeypointTrack.load(folder / f"keypoints_{version}.npz")
        scale = (side / (boxes[:, 2] - boxes[:, 0]))[:, None, None]
        points = (track.points[:, 0] - boxes[:, None, :2]) * scale      # pass-side crop px
        face_boxes = (track.boxes[:, 0].reshape(-1, 2, 2) - boxes[:, None, :2]) * scale
        visible = track.visible[:, 0].all(axis=1)
        images = _resize(crops[version], side, cv2.INTER_AREA)        # (F, side, side, 3)
        blur, grad = [], []
        for i, image in enumerate(images):
            faces = [Face(points[i].astype(np.float32), track.visible[i, 0],
                          _valid_box(face_boxes[i].reshape(4), side))] if visible[i] else []
            picture = mouth_blur_picture(image, faces, config)
            blur.append(picture)
            grad.append(np.rint(gradient_map(picture, config) * 255).astype(np.uint8))
        factor = size / side
        out[f"image_{version}"] = _resize(images, size, cv2.INTER_AREA)
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
                 config: PreprocessConfig | None = None, front_end: AudioFrontEnd = FRONT_END,
                 scale: int = 1):
        """scale 2: the clips also hold their crops at 2 x `size` (`Clip.large`), and the
        generator's samples those crops and their mouth region (`generator_sample`)."""
        data = Path(data)
        splits = (split,) if isinstance(split, str) else tuple(split)
        records = [r for r in read_manifest(data) if r["split"] in splits]
        if max_clips is not None:
            records = records[:max_clips]
        if not records:
            raise InputError(f"'{data}' has no clips in split {'/'.join(splits)}: make a larger "
                             "data set (more --clips) or choose another split.")
        self.size = size
        self.group = front_end.group_frames    # G, frames per sync group
        self.clips: list[Clip] = []
        for i, record in enumerate(records):
            clip = load_clip(data, record, size, config, front_end)
            if scale == 2:
                clip.large = load_large_crops(data, clip.clip_id, clip.versions, 2 * size)
            self.clips.append(clip)
            if progress:
                progress(i + 1, len(records), record["clip_id"])
        self._weights = np.array([max(c.n_frames - self.group, 1) for c in self.clips], float)
        self._weights /= self._weights.sum()

    @property
    def n_frames(self) -> int:
        return sum(c.n_frames for c in self.clips)

    def _pick(self, rng: np.random.Generator, margin: int | None = None) -> tuple[Clip, int]:
        """A clip (by length) and a first frame with `margin` (default G) frames from there
        on, all visible."""
        margin = self.group if margin is None else margin
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
        """Sync-expert batch: each group of G frames with its own audio and with
        `negatives` windows of the same clip's audio shifted by >= MIN_NEGATIVE_SHIFT frames
        (same voice, same sentence: only the timing tells them apart).

        Returns visual (B, 4G, S, S) (S20 passes of G frames, frame-major), audio
        (B, 1, M, W), shifted (B, K, 1, M, W), all float32.
        """
        visual, audio, shifted = [], [], []
        for _ in range(batch):
            clip, start = self._pick(rng)
            version = str(rng.choice([v for v in versions if v in clip.versions]))
            visual.append(np.concatenate([clip.passes(version, start + k)
                                          for k in range(self.group)]))
            audio.append(clip.audio_window(version, start)[None])
            shifted.append(np.stack([clip.audio_window(version, start, shift)[None] for shift
                                     in _negative_shifts(rng, start, clip.n_frames, negatives,
                                                         self.group)]))
        return {"visual": np.stack(visual), "audio": np.stack(audio),
                "shifted": np.stack(shifted)}

    def generator_batch(self, rng: np.random.Generator, batch: int,
                        input_mix: dict[str, float] | None = None) -> dict[str, np.ndarray]:
        """Generator batch: make G consecutive talking frames from another render of the shot.

        input_mix: share of samples whose input frames come from each version (default
        DEFAULT_INPUT_MIX; 'dub' falls back to 'neutral' for clips
        without one). The audio is always the talking audio, the target the talking frames.

        Returns float32 arrays (B = batch, T = G generated frames, h = G // 2):
            passes (B, T + 2h, 4, S, S): S20 passes of the input version, frames
                t0-h .. t0+T+h-1 (frame k's sync group is passes[:, k:k+G]);
            audio (B, T, 1, M, W): talking audio centred on each generated frame;
            group_audio (B, 1, M, W): talking audio of the T frames together;
            heatmap (B, T, 1, S, S): the input version's lip contours;
            mask (B, T, 1, S, S): mouth region of the input version's keypoints;
            input (B, T, 3, S, S): the unblurred input crops (kept outside the mask);
            target (B, T, 3, S, S): the talking crops;
            reference (B, 3, S, S): the neutral crop at a random frame (identity);
            visemes (B, T, 7): the viseme weights the talking frames were driven by
                (zeros for a clip without them);
            and when the clips hold crops at L = 2S (`Clip.large`): input_large,
            target_large (B, T, 3, L, L), reference_large (B, 3, L, L) and mask_large
            (B, T, 1, L, L), the same images and region at that side.
        """
        mix = input_mix or DEFAULT_INPUT_MIX
        names, shares = list(mix), np.array(list(mix.values()), float)
        samples = []
        for _ in range(batch):
            clip, start = self._pick(rng, 2 * self.group - 1)
            version = str(rng.choice(names, p=shares / shares.sum()))
            if version not in clip.versions:
                version = "neutral"
            samples.append(self.generator_sample(clip, version, start + self.group // 2,
                                                 int(rng.integers(0, clip.n_frames))))
        return {k: np.stack([s[k] for s in samples]) for k in samples[0]}

    def generator_sample(self, clip: Clip, version: str, first: int,
                         reference: int) -> dict[str, np.ndarray]:
        """One sample of `generator_batch`: frames first .. first+G-1 made from `version`
        (frames first-h .. first+G+h-1 must exist, h = G // 2)."""
        size, half = (self.size, self.size), self.group // 2
        frames = range(first, first + self.group)
        points = [clip.keypoints[version][t] for t in frames]
        large = {} if clip.large is None else {
            "mask_large": np.stack([mouth_region_mask(2 * p, (2 * size[0],) * 2)[None]
                                    for p in points]),
            "input_large": np.stack([clip.image(version, t, True) for t in frames]),
            "target_large": np.stack([clip.image("talking", t, True) for t in frames]),
            "reference_large": clip.image("neutral", reference, True)}
        return {**large,
            "passes": np.stack([clip.passes(version, t)
                                for t in range(first - half, first + self.group + half)]),
            "audio": np.stack([clip.audio_window("talking", t - half)[None] for t in frames]),
            "group_audio": clip.audio_window("talking", first)[None],
            "heatmap": np.stack([keypoint_heatmap(p, size)[None] for p in points]),
            "mask": np.stack([mouth_region_mask(p, size)[None] for p in points]),
            "input": np.stack([clip.image(version, t) for t in frames]),
            "target": np.stack([clip.image("talking", t) for t in frames]),
            "reference": clip.image("neutral", reference),
            "visemes": (np.zeros((self.group, VISEME_COUNT), np.float32) if clip.visemes is None
                        else clip.visemes[first:first + self.group]),
        }

    @property
    def labelled(self) -> list[Clip]:
        """The clips with part labels (imported characters' clips hold a matte)."""
        return [c for c in self.clips if c.labelled]

    def parser_batch(self, rng: np.random.Generator, batch: int) -> dict[str, np.ndarray]:
        """Labelled talking crops: image (B, 3, S, S) float32, labels (B, S, S) int64, from
        the clips with part labels (InputError when there is none)."""
        clips = self.labelled
        if not clips:
            raise InputError("no clip of this split has part labels (imported characters' "
                             "clips hold a matte only): add factory clips to train the parser.")
        weights = np.array([max(c.n_frames - self.group, 1) for c in clips], float)
        images, labels = [], []
        for _ in range(batch):
            clip = clips[int(rng.choice(len(clips), p=weights / weights.sum()))]
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


def _negative_shifts(rng: np.random.Generator, start: int, n_frames: int, count: int,
                     group: int) -> list[int]:
    """`count` different shifts of at least MIN_NEGATIVE_SHIFT frames, keeping the window
    of `group` frames inside the clip when the clip is long enough (else also beyond it:
    edge-padded audio)."""
    reach = n_frames + count + MIN_NEGATIVE_SHIFT
    inside = [s for s in range(-start, n_frames - group - start + 1)
              if abs(s) >= MIN_NEGATIVE_SHIFT]
    options = inside if len(inside) >= count else [
        s for s in range(-reach, reach + 1) if abs(s) >= MIN_NEGATIVE_SHIFT]
    return [int(s) for s in rng.choice(options, size=count, replace=False)]
