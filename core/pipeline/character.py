"""One character of a shot: its keypoints, its audio, and what the networks make of it.

`CharacterTrack` is the input (keypoints per frame and the audio it speaks).
`CharacterState` follows it through a streamed shot: per frame it keeps the model-size
crop, its S20 passes and keypoints for as long as a 5-frame group needs them, and turns a
chunk of frames into generated mouth crops and their parser-refined masks.

Re-voicing (`revoice`): when the input's mouth already speaks other words, the generator's
source (passes and lip contours) is not each frame's own mouth but the reference frame's,
the shot's most closed mouth, cropped where each frame's crop lies relative to its face box
(so it follows the head). Each frame's own crop still gives the parser's mask, the skin's
colour and everything outside the mouth; the lips' colour comes from the rest crop. A
re-voiced character's crop boxes hold still (`crop.steady_crop_boxes`, the framing
training used), and pixels may also change in the rest mouth's region carried into each
frame (`region_points`). 'auto' (the default) re-voices a character whose lips already
move as in speech (results: docs/evaluation.md).

The identity reference is the shot's most closed mouth (`reference_frame`); a warping
generator takes each frame's own crop and pixels when its mouth is at rest (not speaking,
not re-voiced): they lie exactly where the face is, a rest frame's a pixel off.

The crops are cut at `pass_side` of the networks' side (the side the passes were made at
in training) and shrunk to the networks' side; the generated crop is finished in `finish`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import torch

from ..audio import AudioTiming, mfcc, shot_audio
from ..errors import InputError
from ..models.config import pass_side
from ..models.detail import DetailNet
from ..models.visemes import read_visemes
from ..preprocess.config import PreprocessConfig
from ..preprocess.gradient import gradient_map
from ..preprocess.keypoints import Face, KeypointTrack, contour_heights
from ..preprocess.mouth_blur import mouth_blur_picture
from .region import jaw_face
from .crop import box_to_crop, crop, crop_boxes, steady_crop_boxes
from .bank import Exemplar
from .models import LipSyncModels
from .native import NativeWarp
from .networks import run_networks
from .own_mouths import plan_sources
from .whole_mouths import WholeMouths

NO_MOUTH = "mouth not visible in the keypoints"
SPEAKING_SPREAD = 0.05   # lip-height std (mouth widths) above which the input already speaks
                         # (between the factory's neutral and speaking renders)


@dataclass
class CharacterTrack:
    """A character to lip-sync over the F frames of a shot.

    name: shown in reports; keypoints: a track with F frames and one character
    (points (F, 1, 25, 2) frame px, visible (F, 1, 25), boxes (F, 1, 4) face boxes);
    samples: (N,) float32 mono audio at `FRONT_END.sample_rate` whose time 0 is the shot's
    first frame; reasons: frame index -> why that frame has no mouth (from the locator;
    frames not named are reported as `NO_MOUTH`); weights: a generator learnt for this
    character (Learn Character) to use in place of the run's, or None; own_mouths: the
    frames are footage of a real face, so a re-voiced mouth is taken from the shot's own
    frames (`own_mouths`).
    """

    name: str
    keypoints: KeypointTrack
    samples: np.ndarray
    reasons: dict[int, str] = field(default_factory=dict)
    weights: Path | None = None
    own_mouths: bool = False

    def visible(self) -> np.ndarray:
        """(F,) bool: frames whose whole mouth is visible."""
        return self.keypoints.visible[:, 0].all(axis=1)


@dataclass
class Generated:
    """One generated frame of one character: crop px -> frame via `box`."""

    box: np.ndarray        # (4,) crop box, frame px
    rgb: np.ndarray        # (S', S', 3) float32 sRGB in [0, 1]: S' = S, or a warping
                           # generator's parts' side (`GeneratorConfig.out_size`)
    keep: np.ndarray       # (S, S) float32, 1 = the generated pixel is used: an RGB
                           # generator's, or a warp of another frame's, the parser's face
                           # probability near the mouth (`near_mouth`); a bank's,
                           # `bank_keep`; else 1
    regions: list[np.ndarray]   # (25, 2) keypoint sets, frame px, whose mouth regions
                                # together are where pixels may change (`region_points`)
    face: np.ndarray       # (4,) the face box (x0, y0, x1, y1), frame px: nothing changes
                           # outside it (a bank's mouth's: down to its jaw, `jaw_face`)
    warp: NativeWarp | None = None   # a warping generator's parts: `rgb` is then its
                                     # synthesised colour, applied with the warped
                                     # reference frame at frame resolution (`native`)
    exemplar: Exemplar | None = None   # a mouth drawn whole for this frame: a learnt
                                       # character's (`bank`), or another frame's of the
                                       # shot (`own_mouths`); None: the generated one
    detail: DetailNet | None = None    # restores the edges of `rgb` scaled to the frame
                                       # (`models.detail`); None: bicubic only


class CharacterState:
    """Per-character work of a streamed shot of `n_frames` frames with the shot's `timing`
    (`revoice`: 'auto' | 'on' | 'off', see the module docstring; `self.revoice` says
    whether it is re-voiced)."""

    def __init__(self, track: CharacterTrack, n_frames: int, timing: AudioTiming,
                 models: LipSyncModels, refine: bool = True, revoice: str = "auto",
                 sharpen: bool = True):
        if track.keypoints.n_frames != n_frames:
            raise InputError(f"character '{track.name}': its keypoints cover "
                             f"{track.keypoints.n_frames} frames, the shot has {n_frames}.")
        self.track, self.n_frames, self.timing = track, n_frames, timing
        self.models, self.refine, self.sharpen = models, refine, sharpen
        self.size, self.pass_side = models.size, pass_side(models.size)
        self.visible = track.visible()
        self.config = PreprocessConfig(blur_fraction=models.blur_fraction)
        self.boxes = (crop_boxes(track.keypoints.points[:, 0], self.visible)
                      if self.visible.any() else None)
        self.notes: list[str] = []
        self.at_rest = self.speaking_spread() <= SPEAKING_SPREAD   # not moving as in speech
        self.revoice = self.active and self._choose_revoice(revoice)
        self.rest_index = self.reference_frame() if self.revoice else None
        self.own_reference = models.generator.warps and self.at_rest and not self.revoice
        if self.revoice:
            kp = track.keypoints
            self.boxes = steady_crop_boxes(kp.points[:, 0], self.visible, kp.boxes[:, 0],
                                           self.rest_index)
        self.samples, note = shot_audio(track.samples, timing, n_frames,
                                        f"character '{track.name}'")
        self.notes += [note] if note else []
        self.mfcc = mfcc(self.samples, timing.front_end)         # (M, T)
        self.reference: torch.Tensor | None = None               # (3, S, S)
        self.large = models.generator.config.scale == 2      # its parts come at 2S
        self.reference_large: torch.Tensor | None = None         # scale 2: (3, 2S, 2S)
        self.crops_large: dict[int, np.ndarray] = {}   # scale 2, own reference: (2S, 2S, 3)
        self.reference_pixels: tuple[np.ndarray, np.ndarray] | None = None  # (display, box)
        self.rest: tuple[np.ndarray, int] | None = None          # revoice: (display, index)
        self.crops: dict[int, np.ndarray] = {}                   # i -> (S, S, 3) uint8
        self.rest_crops: dict[int, np.ndarray] = {}              # revoice: i -> (S, S, 3) uint8
        self.passes: dict[int, np.ndarray] = {}                  # i -> (4, S, S) float32
        self.points: dict[int, np.ndarray] = {}                  # i -> (25, 2) crop px
        self.whole = WholeMouths(models, self.boxes, self._own_sources())

    def _own_sources(self) -> np.ndarray | None:
        """Per frame the shot's frame whose mouth it shows (`own_mouths.plan_sources`), or
        None: not real footage re-voiced, or a learnt bank."""
        if (not (self.active and self.track.own_mouths and self.revoice)
                or self.models.bank is not None):
            return None
        kp = self.track.keypoints
        sources, note = plan_sources(kp.points[:, 0], kp.boxes[:, 0], self.visible,
                                     self.heard)
        self.notes.append(f"character '{self.track.name}': {note}")
        return sources

    def speaking_spread(self) -> float:
        """The input's lip-height standard deviation over its visible frames, in mouth
        widths (outer contour): how much the mouth already moves (0 with under 2 frames)."""
        heights = contour_heights(self.track.keypoints.points[self.visible, 0])
        return float(heights.std()) if heights.size >= 2 else 0.0

    def _choose_revoice(self, mode: str) -> bool:
        """Whether to re-voice under `mode`; a note says what 'auto' chose, or that 'off'
        keeps a mouth that already speaks."""
        if mode == "on":
            return True
        if self.at_rest:
            return False
        moving = (f"character '{self.track.name}': its mouth already moves in the frames "
                  f"(lip height varies {self.speaking_spread():.2f} of its width)")
        if mode == "auto":
            self.notes.append(f"{moving}, so it was re-voiced from its most closed mouth "
                              "(Re-voice 'Off' in the panel, --revoice off on the command "
                              "line, keeps each frame's own mouth shape as the source)")
            return True
        self.notes.append(f"{moving}; if the shot already speaks other words, re-voice it "
                          "(Re-voice 'Auto' or 'On' in the panel, --revoice auto|on on the "
                          "command line)")
        return False

    @property
    def active(self) -> bool:
        """Whether the mouth is visible on any frame (else every frame passes through)."""
        return self.boxes is not None

    def reference_frame(self) -> int:
        """The identity reference's frame: the visible frame whose lips are the most closed
        (outer contour height, the earliest of equals). The generator learnt from neutral
        references, so a shot whose mouth already speaks must not lend it an open one."""
        heights = contour_heights(self.track.keypoints.points[:, 0])
        return int(np.argmin(np.where(self.visible, heights, np.inf)))

    def set_reference(self, display: np.ndarray, index: int) -> None:
        """Identity reference: the crop of frame `index` (display pixels (H, W, 3) uint8),
        also the re-voicing source."""
        image = self._crop(display, index)[0]
        self.reference = torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32) / 255)
        if self.large:
            large = self._crop_large(display, index)
            self.reference_large = torch.from_numpy(large.transpose(2, 0, 1)
                                                    .astype(np.float32) / 255)
        self.reference_pixels = (display, self.boxes[index])
        if self.revoice:
            self.rest = (display, index)

    def add(self, index: int, display: np.ndarray) -> None:
        """Crop frame `index` and compute its passes (display pixels (H, W, 3) uint8)."""
        if not self.active:
            return
        if self.revoice and self.visible[index]:
            if self.rest is None:
                raise RuntimeError("re-voicing needs set_reference before add")
            rest, at = self.rest
            self.crops[index] = self._crop(display, index)[0]
            (self.rest_crops[index], blur, grad,
             self.points[index]) = self._crop(rest, at, True, self._rest_box(index))
        else:
            self.crops[index], blur, grad, self.points[index] = self._crop(display, index, True)
        if self.large and self.own_reference and self.visible[index]:
            self.crops_large[index] = self._crop_large(display, index)
        self.passes[index] = np.concatenate([blur.transpose(2, 0, 1), grad[None]]
                                            ).astype(np.float32) / 255

    def region_points(self, index: int) -> list[np.ndarray]:
        """Keypoint sets (25, 2) frame px of frame `index` whose mouth regions
        (`core.region`) together are where the output may differ from the input: the
        frame's own mouth, and when re-voiced also the rest mouth carried into the frame by
        the face boxes (the generated mouth takes its size and place, which a narrower
        speaking mouth's region would clip)."""
        own = self.track.keypoints.points[index, 0]
        face_map = self._face_map(index, self.rest_index) if self.revoice else None
        if face_map is None:
            return [own]
        here, there, scale = face_map
        carried = (self.track.keypoints.points[self.rest_index, 0] - there) / scale + here
        return [own, carried.astype(np.float32)]

    def _rest_box(self, index: int) -> np.ndarray:
        """(4,) the crop box of frame `index` carried into the rest frame by the two face
        boxes (offset from the face's top-left corner, scaled by the face widths); the rest
        frame's own box when a face box is degenerate."""
        at = self.rest[1]
        face_map = self._face_map(index, at)
        if face_map is None:
            return self.boxes[at]
        here, there, scale = face_map
        corners = (self.boxes[index].reshape(2, 2) - here) * scale + there
        return corners.reshape(4).astype(np.float32)

    def _face_map(self, index: int, at: int) -> tuple[np.ndarray, np.ndarray, float] | None:
        """How frame `index`'s pixels carry into frame `at`'s by their face boxes:
        p_at = (p_index - here) * scale + there, with here and there (2,) the face boxes'
        top-left corners and scale their width ratio; None when a face box is degenerate."""
        boxes = self.track.keypoints.boxes
        here, there = boxes[index, 0], boxes[at, 0]
        width_here, width_there = here[2] - here[0], there[2] - there[0]
        if min(width_here, width_there) < 1:
            return None
        return here[:2], there[:2], float(width_there / width_here)

    def crop_frame(self, display: np.ndarray, index: int) -> np.ndarray:
        """(S, S, 3) uint8: the model-size crop of `display` (another render of frame
        `index`, (H, W, 3) uint8) at frame `index`'s crop box."""
        return self._crop(display, index)[0]

    def _crop_large(self, display: np.ndarray, index: int) -> np.ndarray:
        """(2S, 2S, 3) uint8: frame `index`'s crop at a scale-2 generator's parts side, cut
        straight from `display` (as training cuts it from the full frames)."""
        return crop(display, self.boxes[index], 2 * self.size)

    def _crop(self, display: np.ndarray, index: int, with_passes: bool = False,
              box: np.ndarray | None = None):
        """The model-size crop of frame `index` (its `box`, default its crop box), and with
        `with_passes` its blur picture, gradient map and keypoints (crop px)."""
        box = self.boxes[index] if box is None else box
        big = crop(display, box, self.pass_side)
        size = self.size
        image = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
        if not with_passes:
            return (image,)
        kp = self.track.keypoints
        points = box_to_crop(kp.points[index, 0], box, self.pass_side)
        faces = []
        if self.visible[index]:
            face_box = box_to_crop(kp.boxes[index, 0].reshape(2, 2), box,
                                   self.pass_side).reshape(4)
            faces = [Face(points, kp.visible[index, 0], _inside(face_box, self.pass_side))]
        blur = mouth_blur_picture(big, faces, self.config)
        grad = np.rint(gradient_map(blur, self.config) * 255).astype(np.uint8)
        blur = cv2.resize(blur, (size, size), interpolation=cv2.INTER_AREA)
        grad = cv2.resize(grad, (size, size), interpolation=cv2.INTER_AREA)
        return image, blur, grad, points * (size / self.pass_side)

    def forget_before(self, index: int) -> None:
        """Drop per-frame data of frames before `index` (no longer needed by any group)."""
        for store in (self.crops, self.rest_crops, self.passes, self.points,
                      self.crops_large):
            for i in [i for i in store if i < index]:
                del store[i]

    @torch.no_grad()
    def generate(self, indices: list[int], batch: int) -> dict[int, Generated]:
        """Generated mouth crops of the frames `indices` whose mouth is visible; frames
        up to 2 after the last index must have been added (or be past the shot's end)."""
        todo = [i for i in indices if self.active and self.visible[i]]
        out: dict[int, Generated] = {}
        for start in range(0, len(todo), batch):
            part = todo[start:start + batch]
            rgb, keep, parts, exemplars = run_networks(self, part)
            for k, i in enumerate(part):
                warp = None if parts is None else NativeWarp(
                    parts.flow[k].permute(1, 2, 0).float().cpu().numpy(),
                    parts.blend[k, 0].float().cpu().numpy(),
                    *((None, self.boxes[i]) if self.own_reference else self.reference_pixels))
                regions, face = self.region_points(i), self.track.keypoints.boxes[i, 0]
                if exemplars[k] is not None and exemplars[k].whole:   # a learnt jaw may
                    face = jaw_face(face, regions)    # drop below the face box; footage's
                                                      # box holds the chin
                out[i] = Generated(self.boxes[i], rgb[k], keep[k], regions, face, warp,
                                   exemplars[k], self.models.detail if self.sharpen else None)
        return out

    @cached_property
    def heard(self) -> np.ndarray | None:
        """The track's viseme weights (n_frames, 7) as the models' viseme reader reads its
        speech, None without a reader."""
        reader = self.models.reader
        return None if reader is None else read_visemes(reader, self.samples, self.timing,
                                                        self.n_frames)


def _inside(box: np.ndarray, side: int) -> tuple[float, float, float, float]:
    """A face box clipped to a crop of `side` px (the whole crop when too little is left)."""
    x0, y0 = max(float(box[0]), 0.0), max(float(box[1]), 0.0)
    x1, y1 = min(float(box[2]), float(side)), min(float(box[3]), float(side))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return (0.0, 0.0, float(side), float(side))
    return (x0, y0, x1, y1)
