"""A learnt character's own mouths, kept at the frame's resolution (a mouth bank).

Learning (`core.learn`) sees the character's own mouth speaking: Learn Character's
renders, or a speaker's footage. The generator learns from them at its size (64 px), and
its mouths come out soft when the mouth is larger in the frame. The bank keeps some of
those mouths at the frame's own size (`bank_side`): each a square around its frame's crop
box, larger and lower (`bank_box`: it holds the `region.JAW` region, the jaw's whole drop,
which the crop box cuts), cut by whole pixels (`cut_exemplar`; resampling would halve a
render's detail). Learn Character renders some speaking frames at the shot's size for it.

Per generated frame the pipeline picks an exemplar (`MouthBank.choose`). A bank that heard
the frames it learnt from (`MouthBank.hearing`: each frame's viseme weights, those its rig
was driven by or those the viseme reader, `models.visemes`, read in its speech, and the
exemplar it looks most like) finds the learnt frame whose weights are closest (L1) to
those read in the new track at that frame, and takes the exemplar that frame looks like:
the character's own mouth for that sound (Video Rewrite's choice by the sound, not by a
drawn guess). Otherwise (files of before 2026-12-05, or no reader) it takes the exemplar
closest to the generated crop, its change from the input taken `BANK_REACH` times as far
(mean squared difference in the mouth region, at the networks' size, both blurred by
`MATCH_BLUR`). Either way a generated crop further than `MAX_MISMATCH` from every exemplar
keeps the generator's own pixels. The chosen mouth's pixels are drawn by whole pixels
(`place_exemplar`) over the whole `region.JAW` region, wherever the input or the exemplar
shows the face (`WHOLE_ABOVE`: not faded into the input as the generator's are), its light
following the frame's where the mouth does not move it (`exemplar_pixels`); the lips,
teeth, tongue and jaw are the character's own (figures: docs/experiments.md).

Stored in the learnt generator's file as the tensors `BANK_TENSORS` (uint8), with the
exemplars' box (`BANK_GEOMETRY`, float32) as `BOX_TENSOR` and what it heard as
`SOUND_TENSORS` (float32, int64).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch

from ..models.weights import BESIDE, load_weights
from .crop import crop, uncrop
from .finish import gaussian_blur
from .region import JAW, RegionForm

log = logging.getLogger(__name__)

SIDE_RANGE = (64, 512)  # px: the exemplars' side, the crop boxes' own, within this range
BANK_MAX = 600        # exemplars kept at most (evenly over the learnt frames) ...
BANK_BYTES = 120e6    # ... and at most this many bytes of them
PASTE_SLACK = 2.0     # px: a box this close to the exemplars' side is cut and drawn by
                      # whole pixels, never resampled (resampling halves a render's detail)
MIN_STATIC = 50       # px: the frame's light is matched when this many pixels show it
COVER_ROWS = 3000     # `cover` weighs at most this many frames (its distances: R x R floats)
BANK_REACH = 1.4      # the mouth is chosen for the generated crop's change from the input
                      # times this: the generator opens mouths 0.6-0.7 as far as the truth
WHOLE_ABOVE = 0.02    # a bank's mouth is drawn whole where the blend mask exceeds this (its
                      # skin is the character's own: no fade into the input is needed)
MAX_MISMATCH = 0.12   # RMS difference (0-1 units) in the mouth region above which a
                      # generated crop keeps its own pixels
MATCH_BLUR = 1 / 64   # crop sides: both sides are matched blurred by a Gaussian of this
                      # sigma (the mouth's shape, not the generator's finer edges)
BANK_GEOMETRY = (1.25, 0.38)   # the exemplars' box: its side and how far its centre lies
                               # below the crop box's, in crop sides (it holds `region.JAW`)
OLD_GEOMETRY = (1.0, 0.15)     # the box of the files that store none (2026-12-04)
BANK_TENSORS = (BESIDE + "small", BESIDE + "jaw")   # (files of 2026-12-04 held
                                                    # "bank.large", without the jaw: unread)
BOX_TENSOR = BESIDE + "box"
SOUND_TENSORS = (BESIDE + "sounds", BESIDE + "shows")


def spread(indices, most: int = BANK_MAX) -> set[int]:
    """At most `most` of `indices` (a sequence of ints), evenly spread over them."""
    indices = list(indices)
    picks = np.linspace(0, len(indices) - 1, min(len(indices), most)).round().astype(int)
    return {indices[k] for k in picks} if indices else set()


def cover(visemes: np.ndarray, most: int) -> list[int]:
    """At most `most` rows of viseme weights `visemes` (F, 7), sorted, whose mouths stand
    for all of them: each pick, one at a time, the row that most lowers the sum over the
    rows of their L1 distance to the closest row picked (greedy k-medoids: common shapes
    get more rows, rare ones still one); it stops early when every row is matched. At most
    `COVER_ROWS` rows (spread over them) are weighed."""
    rows = np.array(sorted(spread(range(len(visemes)), COVER_ROWS)), dtype=int)
    if len(rows) == 0:
        return []
    points = np.asarray(visemes, np.float32)[rows]
    distance = np.abs(points[:, None] - points[None]).sum(-1)               # (R, R)
    picked = [int(distance.sum(0).argmin())]
    closest = distance[:, picked[0]]
    while len(picked) < min(most, len(rows)):
        gain = np.maximum(closest[:, None] - distance, 0).sum(0)            # (R,)
        if gain.max() <= 0:
            break
        picked.append(int(gain.argmax()))
        closest = np.minimum(closest, distance[:, picked[-1]])
    return sorted(int(rows[k]) for k in picked)


def _as_matched(crops: torch.Tensor) -> torch.Tensor:
    """Crops (N, 3, S, S) as the bank compares them: blurred by `MATCH_BLUR` crop sides."""
    return gaussian_blur(crops, MATCH_BLUR * crops.shape[-1], "replicate")


def bank_box(box: np.ndarray, geometry: tuple[float, float] = BANK_GEOMETRY) -> np.ndarray:
    """The exemplars' box (..., 4) px of crop boxes `box` (..., 4) (x0, y0, x1, y1): the
    square `geometry` (side, drop) in crop sides (`BANK_GEOMETRY`)."""
    box = np.asarray(box, np.float32)
    scale, drop = geometry
    side = box[..., 2] - box[..., 0]
    cx, cy = (box[..., 0] + box[..., 2]) / 2, (box[..., 1] + box[..., 3]) / 2 + drop * side
    half = scale * side / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=-1)


def bank_side(boxes: np.ndarray) -> int:
    """The exemplars' side (px) for crop boxes (F, 4) px: their `bank_box`es' median side,
    within `SIDE_RANGE`."""
    sides = np.diff(bank_box(boxes)[:, ::2], axis=1)
    return int(np.clip(round(float(np.median(sides))), *SIDE_RANGE))


def bank_size(side: int) -> int:
    """How many exemplars of `side` px a bank keeps at most (`BANK_MAX`, `BANK_BYTES`)."""
    return int(min(BANK_MAX, BANK_BYTES // (3 * side * side)))


def _whole_pixels(box: np.ndarray, side: int) -> tuple[int, int] | None:
    """The top-left corner (x, y), whole px, of the `side` px square centred on `box`
    (4,) px, or None when `box`'s side is more than `PASTE_SLACK` from `side`."""
    if abs(float(box[2] - box[0]) - side) > PASTE_SLACK:
        return None
    return (int(round((box[0] + box[2] - side) / 2)), int(round((box[1] + box[3] - side) / 2)))


def cut_exemplar(frame: np.ndarray, box: np.ndarray, side: int) -> np.ndarray:
    """The exemplar (side, side, 3) uint8 of `frame` (H, W, 3) uint8 for the crop box `box`
    (4,) px: its `bank_box`, by whole pixels when its side is about `side` (outside the
    frame: the edge repeated), else resampled."""
    big = bank_box(box)
    corner = _whole_pixels(big, side)
    if corner is None:
        return crop(frame, big, side)
    h, w = frame.shape[:2]
    ys = np.clip(np.arange(corner[1], corner[1] + side), 0, h - 1)
    xs = np.clip(np.arange(corner[0], corner[0] + side), 0, w - 1)
    return frame[ys[:, None], xs[None, :]]


def place_exemplar(exemplar: np.ndarray, big: np.ndarray,
                   rect: tuple[int, int, int, int]) -> np.ndarray:
    """An exemplar (B, B, 3) (`cut_exemplar`) over frame pixels `rect` = (x0, y0, x1, y1)
    for its box `big` (4,) px (a `bank_box`), as `cut_exemplar` cut it: moved by whole
    pixels, else resampled (`crop.uncrop`); outside the exemplar its edge repeated."""
    side = exemplar.shape[0]
    corner = _whole_pixels(big, side)
    if corner is None:
        return uncrop(exemplar, big, rect)
    ys = np.clip(np.arange(rect[1], rect[3]) - corner[1], 0, side - 1)
    xs = np.clip(np.arange(rect[0], rect[2]) - corner[0], 0, side - 1)
    return exemplar[ys[:, None], xs[None, :]]


@dataclass(frozen=True)
class Exemplar:
    """A bank's mouth drawn on one frame: `pixels` (B, B, 3) float32 in [0, 1] over the
    frame's box `box` (4,) px (`bank_box` of its crop box), over the region of `form`;
    `whole`: drawn whole wherever it shows the face (a learnt character's own skin), else
    faded into the frame at the region's edge (another frame of footage)."""

    pixels: np.ndarray
    box: np.ndarray
    form: RegionForm = JAW
    whole: bool = True


def exemplar_pixels(exemplar: Exemplar, rect: tuple[int, int, int, int], light: np.ndarray,
                    static: np.ndarray) -> np.ndarray:
    """A bank's mouth over frame pixels `rect` -> (h, w, 3) float32 sRGB in [0, 1]: its own
    pixels (`place_exemplar`), offset by the median difference of the frame `light`
    (h, w, 3) float32 sRGB from them where `static` (h, w) bool (what the mouth does not
    move), so that it takes the frame's light (footage's exposure); as they are when fewer
    than `MIN_STATIC` pixels are static."""
    own = place_exemplar(exemplar.pixels, exemplar.box, rect)
    if int(static.sum()) < MIN_STATIC:
        return own
    offset = np.median(light[static] - own[static], axis=0)
    return np.clip(own + offset, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True, eq=False)
class MouthBank:
    """small: (K, 3, S, S) float32 in [0, 1], the exemplars' crops at the networks' side S
    (for matching); large: (K, B, B, 3) uint8 sRGB, the same frames' `bank_box` crops at
    side B (`bank_side`); geometry: the `bank_box` they were cut with; sounds: (M, 7)
    float32, the viseme weights of the M frames learnt from, and shows: (M,) int, the row
    of the exemplar each of those frames looks most like (`hearing`; None: not kept)."""

    small: np.ndarray
    large: np.ndarray
    geometry: tuple[float, float] = BANK_GEOMETRY
    sounds: np.ndarray | None = None
    shows: np.ndarray | None = None
    _on_device: dict = field(default_factory=dict, repr=False)   # (device, blurred) -> `small`

    def __len__(self) -> int:
        return len(self.small)

    @classmethod
    def from_crops(cls, small: np.ndarray, large: np.ndarray) -> "MouthBank":
        """The bank of crops small (K, 3, S, S) float in [0, 1] and large (K, B, B, 3)
        uint8, 1 <= K <= `BANK_MAX` (`spread` picks them)."""
        if len(small) != len(large) or not 0 < len(small) <= BANK_MAX:
            raise ValueError(f"a mouth bank needs as many large crops as small ones (1-"
                             f"{BANK_MAX}), got {len(small)} and {len(large)}")
        return cls(np.asarray(small, np.float32), np.asarray(large, np.uint8))

    def hearing(self, crops: np.ndarray, masks: np.ndarray,
                sounds: np.ndarray) -> "MouthBank":
        """This bank with the sound of the frames learnt from: their crops (M, 3, S, S) in
        [0, 1] with their mouth regions `masks` (M, 1, S, S) and their viseme weights
        `sounds` (M, 7); each frame shows the exemplar closest to its crop."""
        if not len(crops) == len(masks) == len(sounds) > 0:
            raise ValueError(f"a bank hears as many frames as it has crops, masks and "
                             f"weights of (at least one): {len(crops)}, {len(masks)}, "
                             f"{len(sounds)}")
        error, _ = self._crop_error(torch.from_numpy(np.asarray(crops, np.float32)),
                                    torch.from_numpy(np.asarray(masks, np.float32)))
        return MouthBank(self.small, self.large, self.geometry,
                         np.asarray(sounds, np.float32), error.argmin(1).astype(np.int64))

    def to_tensors(self) -> dict[str, torch.Tensor]:
        """The bank as uint8 tensors named `BANK_TENSORS`, its geometry (`BOX_TENSOR`) and
        what it heard (`SOUND_TENSORS`)."""
        small = np.rint(np.clip(self.small, 0, 1) * 255).astype(np.uint8)
        tensors = dict(zip(BANK_TENSORS, (torch.from_numpy(small),
                                          torch.from_numpy(np.ascontiguousarray(self.large)))))
        tensors[BOX_TENSOR] = torch.tensor(self.geometry, dtype=torch.float32)
        if self.sounds is not None:
            tensors.update(zip(SOUND_TENSORS, (torch.from_numpy(self.sounds),
                                               torch.from_numpy(self.shows))))
        return tensors

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> "MouthBank | None":
        """The bank stored among `tensors`, or None when they hold none (a warning when
        they hold one of before the jaw, which is not used)."""
        if not all(name in tensors for name in BANK_TENSORS):
            if BESIDE + "large" in tensors:
                log.warning("this learnt file's mouth bank is of an older version (its "
                            "mouths lack the jaw) and is not used; learn the character "
                            "again to rebuild it")
            return None
        small, large = (tensors[name].numpy() for name in BANK_TENSORS)
        geometry = (tuple(float(v) for v in tensors[BOX_TENSOR]) if BOX_TENSOR in tensors
                    else OLD_GEOMETRY)
        sounds, shows = ((tensors[name].numpy() for name in SOUND_TENSORS)
                         if all(name in tensors for name in SOUND_TENSORS) else (None, None))
        return cls(small.astype(np.float32) / 255, large.astype(np.uint8), geometry, sounds,
                   shows)

    @classmethod
    def of_file(cls, path) -> "MouthBank | None":
        """The bank stored in a learnt generator's file `path`, or None."""
        return cls.from_tensors(load_weights(path)[0])

    def choose(self, crops: torch.Tensor, masks: torch.Tensor,
               visemes: np.ndarray | None = None) -> list[int | None]:
        """Per crop of `crops` (N, 3, S, S) in [0, 1] with its mouth region `masks`
        (N, 1, S, S) in [0, 1] and the new track's viseme weights there `visemes` (N, 7)
        (None: not read): the row of the exemplar to draw (module docstring), or None
        when even the closest one is further than `MAX_MISMATCH` from the crop."""
        error, weight = self._crop_error(crops, masks)
        if visemes is not None and self.sounds is not None:
            heard = np.abs(np.asarray(visemes, np.float32)[:, None] - self.sounds[None])
            best = self.shows[heard.sum(-1).argmin(1)]
        else:
            best = error.argmin(1)
        fits = (weight > 0) & (error.min(1) <= MAX_MISMATCH ** 2)
        return [int(b) if ok else None for b, ok in zip(best, fits)]

    def _crop_error(self, crops: torch.Tensor, masks: torch.Tensor
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(mean squared difference (N, K) of crops (N, 3, S, S) from every exemplar's
        `small`, both blurred by `MATCH_BLUR`, over their mouth regions `masks`
        (N, 1, S, S), the regions' weights (N,))."""
        small = self.small_on(crops.device, blurred=True).to(crops.dtype).flatten(2)  # (K, 3, P)
        crops = _as_matched(crops)
        mask, crops = masks.flatten(1), crops.flatten(2)                     # (N, P), (N, 3, P)
        weight = mask.sum(1) * 3                                              # (N,)
        error = (torch.einsum("np,kp->nk", mask, (small ** 2).sum(1))
                 - 2 * torch.einsum("ncp,kcp->nk", crops * mask[:, None], small)
                 + ((crops ** 2).sum(1) * mask).sum(1)[:, None])
        error = (error.clamp_min(0) / weight.clamp_min(1e-6)[:, None]).cpu().numpy()
        return error, weight.cpu().numpy()

    def small_on(self, device: torch.device, blurred: bool = False) -> torch.Tensor:
        """`small` as a tensor on `device` (`blurred`: by `MATCH_BLUR`, as matched), made
        once per device."""
        key = (str(device), blurred)
        if key not in self._on_device:
            small = torch.from_numpy(self.small).to(device)
            self._on_device[key] = _as_matched(small) if blurred else small
        return self._on_device[key]

    def exemplar(self, row: int, box: np.ndarray) -> Exemplar:
        """The exemplar of `row` at its own size, drawn on a frame of crop box `box` (4,) px."""
        return Exemplar(self.large[row].astype(np.float32) / 255, bank_box(box, self.geometry))
