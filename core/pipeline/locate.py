"""Mouth keypoints from the face parser, for shots that come without keypoints.

`locate_mouths` follows one character (the most confident mouth) through a shot and
returns a `KeypointTrack` in the 25-point topology of `preprocess.keypoints`:

1. Search: the parser is fully convolutional, so it runs on the whole frame resized at
   several scales (crop sides `SEARCH_SIDES` of the frame's shorter side, in steps of
   `SEARCH_STEP`, each mapped to the parser's input size). Peaks of the lip probability
   over a mouth-sized window are candidates; each is verified by cropping as the factory
   did (`crop.py`: a square `CROP_MOUTH_WIDTHS` mouth widths wide, centred `CROP_UP_SHIFT`
   sides above the mouth), parsing, and cropping again at the mouth found there. The
   parser, trained at one scale only, also finds "lips" in eyes, hairlines and chins cut
   at other scales, so the winner is the crop that looks most like a face around a mouth
   (`face_score`: the mouth, both eyes above it, the nose), averaged over a few shifted
   and scaled crops.
2. Track: every frame is cropped at the previous mouth's box (in batches, one parser pass
   per frame; a second pass for frames whose mouth moved or changed size too much), and
   the keypoints are read off the parser's output (`mouth_keypoints`). A frame without a
   mouth is invisible; the next frames are searched near the last mouth, then on whole
   frames (less and less often while nothing is found, tracking back over the skipped
   frames once found). A track whose crops look little like a face is checked by a new
   search now and then, and moves to a clearly better mouth (re-tracked backwards).
3. Smooth: a 3-frame median of the points within each run of visible frames.

Measured on the factory's held-out clips (128 px frames, see the module's tests): centre
within ~0.13 mouth widths of the projected mesh centre, width within ~15 %, ~100 frames/s
tracking on one CPU thread after a ~1 s search.

Coordinates are frame pixels (x, y), y down, pixel centres at integers; crops are
(S, S, 3) uint8 RGB at the parser's `config.size` S; probabilities are (12, S, S) float32
softmax outputs of the parser (classes in `models.parser.CLASS_NAMES`).
"""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Sequence

import cv2
import numpy as np
import torch

from ..errors import FrameError, InputError
from ..models.parser import CLASS_NAMES, FaceParser
from ..preprocess.frames import read_frame_raw
from ..preprocess.keypoints import (CENTRE, LEFT_CORNER, N_MOUTH_KEYPOINTS,
                                    RIGHT_CORNER, KeypointTrack, face_box_from_keypoints)
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from .crop import CROP_MOUTH_WIDTHS, CROP_UP_SHIFT, crop
from .mouth_shape import ACCEPT, LIP_CLASSES, WIDTH_SHARE, mouth_keypoints
from .pixels import to_display

NOSE = CLASS_NAMES.index("nose")
EYE_CLASSES = (CLASS_NAMES.index("left eye"), CLASS_NAMES.index("right eye"))
SEARCH_SIDES = (0.12, 1.0)   # crop sides searched, share of the frame's shorter side
SEARCH_MIN_PX = 24           # ... and at least so many px (a mouth ~9 px wide)
SEARCH_STEP = 2 ** (1 / 3)   # ratio between neighbouring search scales
FINALISTS = 3                # best places checked again at JITTER-ed crops
JITTER = ((0.9, 0.0), (1.1, 0.0), (1.0, -0.06), (1.0, 0.06))  # (scale, x shift in sides)
FACE_WEIGHTS = (1.0, 0.4)    # eyes and nose against the mouth score, see `face_score`
PEAKS_PER_SCALE = 3          # places taken per search scale
PEAK_THRESHOLD = 0.3         # least mean lip probability over a mouth-sized window
NEAR_SCALES = (0.8, 1.0, 1.25)  # a lost mouth is searched at these sides x its last side
NEAR_REGION = 2.5            # ... in a square this many crop sides wide around it
BATCH = 16                   # frames per parser pass while tracking
MOVE_LIMIT = 0.08            # a second pass when the mouth moved more (share of crop side)
SCALE_LIMIT = 1.25           # ... or its width changed by more than this factor
WIDTH_FRAMES = 9             # the crop side follows the median width of so many frames
LOST_NEAR = 4                # frames searched near the last mouth before a full search
SEARCH_GAP = 16              # while nothing is found, whole-frame searches this far apart
DOUBT = 1.0                  # a track whose batch's mean face score is lower is checked
RECHECK_FRAMES = 64          # ... by a whole-frame search at most every so many frames
SWITCH_MARGIN = 0.05         # ... and moves to a mouth elsewhere scoring this much more
NEAR_SHARE = 0.25            # mouths closer than this share of a crop side are one
SMOOTH_FRAMES = 3            # median of the points over this many frames
PASS_SIDE = 1.5              # crops are cut at this x the parser size, then shrunk (as
                             # the factory's 96 px crops were to 64 px for training)



@dataclass(frozen=True)
class Mouth:
    """One found mouth: keypoints (25, 2) float32 frame px, `mouth_keypoints`' score in
    [0, 1] and `face_score` of its crop."""

    points: np.ndarray
    score: float
    face: float

    @property
    def width(self) -> float:
        return float(np.linalg.norm(self.points[RIGHT_CORNER] - self.points[LEFT_CORNER]))


def locate_mouths(frame_paths: Sequence[str | os.PathLike], parser: FaceParser,
                  progress: ProgressFn = no_progress,
                  should_cancel: CancelFn = never_cancel) -> KeypointTrack:
    """Mouth keypoints of one character (the most confident mouth) on every frame.

    frame_paths: the shot's F frame files in order (any format `read_frame_raw` reads,
    all of one size). parser: the face parser (`train.parser.load_parser`; it is put in
    eval mode; any device). progress(done, total, message) counts frames; should_cancel
    is polled between parser passes (raises `Cancelled`).
    Returns a track with points (F, 1, 25, 2) frame px, visible (F, 1, 25) (all or none
    of a frame's points), face boxes from `face_box_from_keypoints`, frames 0..F-1
    (index into `frame_paths`). Frames where no mouth is found (before it first shows,
    while it is gone) are invisible, their points 0. Raises InputError on an empty list
    or another model, FrameError on unreadable frames or frames of another size.
    """
    paths = list(frame_paths)
    if not paths:
        raise InputError("no frames to locate mouths in: the frame list is empty.")
    if not isinstance(parser, FaceParser):
        raise InputError(f"locate_mouths needs a FaceParser, got {type(parser).__name__}")
    parser.eval()
    with _Frames(paths) as frames, torch.inference_mode():
        mouths = _Tracker(frames, parser, progress, should_cancel).run()
    return _to_track(mouths, frames.shape)


def box_from_mouth(points: np.ndarray, side: float | None = None) -> np.ndarray:
    """The factory's crop box (4,) float32 (x0, y0, x1, y1) for one frame's keypoints
    (25, 2) px: `CROP_MOUTH_WIDTHS` mouth widths wide (or `side` px), centred
    `CROP_UP_SHIFT` sides above the mouth centre (as `crop.crop_boxes`, unsmoothed)."""
    if side is None:
        side = CROP_MOUTH_WIDTHS * float(np.hypot(*(points[RIGHT_CORNER] - points[LEFT_CORNER])))
    cx, cy = float(points[CENTRE][0]), float(points[CENTRE][1]) - CROP_UP_SHIFT * side
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32)


def face_score(probs: np.ndarray, mouth_score: float) -> float:
    """How much a parsed crop looks like a mouth in a face: `mouth_score` (from
    `mouth_keypoints`) plus the eyes (twice the geometric mean of the eye probability in
    the top-left and top-right 40 % of the crop: both eyes, where a face has them) and
    the nose (mean nose probability above the mouth), weighted by FACE_WEIGHTS.

    The parser was trained on crops at one scale only, so it finds lips in eyes,
    hairlines and chins cut at other scales; the eyes and nose tell the real mouth apart.
    The weights are a logistic fit over the search candidates on 4 frames of each of the
    factory's 17 training and validation clips with full frames: the best-scoring one is
    right on 67 of 68 of those frames and 38 of 43 held-out ones, against 55 and 25 for
    the mouth score alone. probs: (12, S, S) of the crop; returns about 0.5-1.5.
    """
    size = probs.shape[-1]

    def mean(p, y0, y1, x0, x1):
        return float(p[int(y0 * size):int(y1 * size), int(x0 * size):int(x1 * size)].mean())

    eyes = probs[EYE_CLASSES[0]] + probs[EYE_CLASSES[1]]
    eye = 2.0 * math.sqrt(mean(eyes, 0.0, 0.4, 0.05, 0.45) * mean(eyes, 0.0, 0.4, 0.55, 0.95))
    nose = mean(probs[NOSE], 0.2, 0.6, 0.35, 0.65)
    return mouth_score + FACE_WEIGHTS[0] * eye + FACE_WEIGHTS[1] * nose


def smooth_points(points: np.ndarray, visible: np.ndarray,
                  frames: int = SMOOTH_FRAMES) -> np.ndarray:
    """Median of each point over `frames` frames (odd), within runs of visible frames.

    points: (F, 25, 2) float32 px; visible: (F,) bool. Invisible frames are left as they
    are and never mixed into visible ones; a run's ends use a shorter window.
    """
    out = points.copy()
    half = frames // 2
    n = len(points)
    for i in np.flatnonzero(visible):
        lo, hi = i, i
        while lo > i - half and lo > 0 and visible[lo - 1]:
            lo -= 1
        while hi < i + half and hi < n - 1 and visible[hi + 1]:
            hi += 1
        k = min(i - lo, hi - i)                    # symmetric window, shorter at run ends
        out[i] = np.median(points[i - k:i + k + 1], axis=0)
    return out


class _Tracker:
    """Walks the frames once: search until a mouth is found, then track it; when it is
    lost, search near where it was, then on whole frames again."""

    def __init__(self, frames: "_Frames", parser: FaceParser, progress: ProgressFn,
                 should_cancel: CancelFn):
        self.frames, self.parser = frames, parser
        self.progress, self.should_cancel = progress, should_cancel
        self.size = parser.config.size
        self.device = next(parser.parameters()).device
        self.mouths: list[Mouth | None] = [None] * len(frames)
        self.tried = np.zeros(len(frames), bool)     # frames something looked at
        self.widths: deque[float] = deque(maxlen=WIDTH_FRAMES)

    def run(self) -> list[Mouth | None]:
        n = len(self.frames)
        i, last, misses, since_search, gap, checked = 0, None, 0, None, 1, -RECHECK_FRAMES
        while i < n:
            check_cancel(self.should_cancel)
            if last is not None and misses == 0:                 # tracking, in batches
                batch = list(range(i, min(i + BATCH, n)))
                faces = []
                for j, mouth in zip(batch, self._track(batch, last)):
                    self._keep(j, mouth)
                    i = j + 1
                    if mouth is None:                   # the frames after it: look near
                        misses = 1
                        break
                    last = mouth
                    faces.append(mouth.face)
                if faces and np.mean(faces) < DOUBT and i - checked >= RECHECK_FRAMES:
                    checked, j = i, i - 1 - misses                 # j: the last one found
                    better = self._recheck(j, last)
                    if better is not None:
                        last, misses, i = better, 0, j + 1
            elif last is not None and misses <= LOST_NEAR:        # lost: look near it
                mouth = self._search_near(self.frames.get(i), last)
                self._keep(i, mouth)
                last, misses = (mouth, 0) if mouth is not None else (last, misses + 1)
                i += 1
            else:                                                # whole frames, less often
                if since_search is None or since_search >= gap:
                    mouth = self._search(self.frames.get(i))
                    if mouth is None:
                        since_search, gap = 0, min(2 * gap, SEARCH_GAP)
                    else:
                        self.widths.clear()
                        self._keep(i, mouth)
                        self._track_back(i, mouth, untried=True)
                        last, misses, since_search, gap = mouth, 0, None, 1
                    self.tried[i] = True
                i += 1
                since_search = None if since_search is None else since_search + 1
            self.progress(i, n, f"locating the mouth: frame {i}/{n}")
        return self.mouths

    def _keep(self, i: int, mouth: Mouth | None) -> None:
        self.mouths[i], self.tried[i] = mouth, True
        if mouth is not None:
            self.widths.append(mouth.width)

    # -- tracking ---------------------------------------------------------------------

    def _side(self, mouth: Mouth) -> float:
        return CROP_MOUTH_WIDTHS * float(np.median(self.widths)) if self.widths else \
            CROP_MOUTH_WIDTHS * mouth.width

    def _track(self, indices: list[int], last: Mouth) -> list[Mouth | None]:
        """Mouths of frames `indices`, each cropped at the box of `last`; frames whose
        mouth moved or changed size too much are parsed again at their own box."""
        box = box_from_mouth(last.points, self._side(last))
        images = [self.frames.get(i) for i in indices]
        found = self._parse_boxes(images, [box] * len(images))
        again = [k for k, m in enumerate(found) if m is not None and _off(m, box)]
        if again:
            boxes = [box_from_mouth(found[k].points, self._redo_side(found[k], box))
                     for k in again]
            redo = self._parse_boxes([images[k] for k in again], boxes)
            for k, m in zip(again, redo):
                if m is not None:
                    found[k] = m
        return found

    def _redo_side(self, mouth: Mouth, box: np.ndarray) -> float:
        side = float(box[2] - box[0])
        ratio = CROP_MOUTH_WIDTHS * mouth.width / side
        return side if 1 / SCALE_LIMIT <= ratio <= SCALE_LIMIT else side * ratio

    def _track_back(self, start: int, mouth: Mouth, untried: bool) -> None:
        """Track backwards from `mouth` on frame `start` until the mouth is lost, over
        the frames nothing looked at yet (`untried`), or over all earlier frames."""
        i, last = start, mouth
        while i > 0:
            batch = list(range(i - 1, max(i - 1 - BATCH, -1), -1))
            if untried:
                batch = batch[:int(np.argmax(self.tried[batch]))] if self.tried[batch].any() \
                    else batch
            if not batch:
                return
            for j, found in zip(batch, self._track(batch, last)):
                self.tried[j] = True
                if found is None:
                    return
                self.mouths[j], last, i = found, found, j

    def _recheck(self, i: int, last: Mouth) -> Mouth | None:
        """A track whose crops look little like a face (mean `face_score` below DOUBT)
        may follow an eye or a nostril: search frame `i` (where the track found `last`)
        again; a mouth elsewhere that looks clearly more like one (`_steady_faces`)
        replaces it there and on the frames before it (tracked backwards) and is
        returned; None when the track stays."""
        image = self.frames.get(i)
        found = self._search(image)
        if found is None or _near(found, last):
            return None
        if found.face < self._steady_faces(image, [last])[0] + SWITCH_MARGIN:
            return None
        self._keep(i, found)
        self._track_back(i, found, untried=False)
        return found

    def _parse_boxes(self, images: list[np.ndarray], boxes: list[np.ndarray],
                     least: float = ACCEPT) -> list[Mouth | None]:
        """Crop each image at its box, parse in one batch, read the mouths back to frame
        px; None where there is none or its score is below `least`."""
        if not boxes:
            return []
        crops = np.stack([_cut(image, box, self.size) for image, box in zip(images, boxes)])
        out = []
        for p, box in zip(self._probs(crops), boxes):
            found = mouth_keypoints(p)
            if found is None or found[1] < least:
                out.append(None)
            else:
                out.append(Mouth(_crop_to_frame(found[0], box, self.size), found[1],
                                 face_score(p, found[1])))
        return out

    def _probs(self, images: np.ndarray) -> np.ndarray:
        """(N, h, w, 3) uint8 -> (N, 12, h, w) float32 softmax (h, w multiples of 8)."""
        x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        x = x.to(self.device, torch.float32) / 255.0
        out = [torch.softmax(self.parser(x[k:k + BATCH])[0], dim=1)
               for k in range(0, len(x), BATCH)]
        return torch.cat(out).float().cpu().numpy()

    # -- search -----------------------------------------------------------------------

    def _search(self, image: np.ndarray) -> Mouth | None:
        """The most confident mouth on a whole frame, or None."""
        h, w = image.shape[:2]
        short = min(h, w)
        lo = max(SEARCH_SIDES[0] * short, min(SEARCH_MIN_PX, short))
        hi = SEARCH_SIDES[1] * short
        count = max(1, int(math.ceil(math.log(hi / lo) / math.log(SEARCH_STEP))) + 1)
        sides = np.geomspace(lo, hi, count)
        candidates = []
        for side in sides:
            candidates += self._blobs(image, float(side))
        return self._verify(image, candidates)

    def _search_near(self, image: np.ndarray, last: Mouth) -> Mouth | None:
        """The most confident mouth near `last`, at about its size, or None."""
        side = self._side(last)
        centre = box_from_mouth(last.points, side).reshape(2, 2).mean(axis=0)
        candidates = []
        for scale in NEAR_SCALES:
            half = NEAR_REGION * side * scale / 2
            region = np.array([centre[0] - half, centre[1] - half,
                               centre[0] + half, centre[1] + half], np.float32)
            pixels = int(round(NEAR_REGION * self.size / 8)) * 8
            patch = crop(image, region, pixels)
            for blob in self._blobs(patch, side * scale * pixels / (2 * half)):
                score, (x, y), s = blob
                f = 2 * half / pixels
                candidates.append((score, (region[0] + x * f, region[1] + y * f), s * f))
        return self._verify(image, candidates)

    def _blobs(self, image: np.ndarray, side: float) -> list[tuple[float, tuple, float]]:
        """Places that look like a mouth when `side` px of `image` are resized to the
        parser's size: peaks of the lip probability averaged over a mouth-sized window,
        as (score, mouth centre (x, y) image px, crop side image px), best first."""
        h, w = image.shape[:2]
        f = self.size / side
        nh, nw = max(8, int(round(h * f))), max(8, int(round(w * f)))
        small = cv2.resize(image, (nw, nh),
                           interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
        small = np.pad(small, ((0, -nh % 8), (0, -nw % 8), (0, 0)), mode="edge")
        probs = self._probs(small[None])[0][:, :nh, :nw]
        lips = self.size / CROP_MOUTH_WIDTHS / WIDTH_SHARE                 # visible width, px
        window = (max(1, int(round(lips))), max(1, int(round(lips / 3))))
        score = cv2.blur(probs[list(LIP_CLASSES)].sum(axis=0), window)
        out = []
        for _ in range(PEAKS_PER_SCALE):
            y, x = np.unravel_index(int(np.argmax(score)), score.shape)
            if score[y, x] < PEAK_THRESHOLD:
                break
            out.append((float(score[y, x]), ((x + 0.5) / f - 0.5, (y + 0.5) / f - 0.5), side))
            score[max(0, y - window[0] // 2):y + window[0] // 2 + 1,
                  max(0, x - window[0]):x + window[0] + 1] = 0.0
        return out

    def _verify(self, image: np.ndarray, candidates: list) -> Mouth | None:
        """Crop at each candidate, parse, crop again at the mouth found there; the one
        that looks most like a mouth in a face (`face_score`), or None."""
        if not candidates:
            return None
        boxes = []
        for _, (x, y), side in candidates:
            cy = y - CROP_UP_SHIFT * side
            boxes.append(np.array([x - side / 2, cy - side / 2, x + side / 2, cy + side / 2],
                                  np.float32))
        found = self._parse_boxes([image] * len(boxes), boxes, least=0.0)
        boxes = []
        for mouth in sorted((m for m in found if m is not None), key=lambda m: -m.score):
            box = box_from_mouth(mouth.points)
            if not any(_same_box(box, other) for other in boxes):
                boxes.append(box)
        found = [m for m in self._parse_boxes([image] * len(boxes), boxes) if m is not None]
        finalists = sorted(found, key=lambda m: -m.face)[:FINALISTS]
        if not finalists:
            return None
        faces = self._steady_faces(image, finalists)
        best = int(np.argmax(faces))
        return replace(finalists[best], face=faces[best])

    def _steady_faces(self, image: np.ndarray, mouths: list[Mouth]) -> list[float]:
        """Mean `face_score` of each mouth over its own crop and the JITTER-ed ones: one
        crop can fool the parser, but a face stays a face when the crop moves a little."""
        boxes = [b for m in mouths for b in _jitter(box_from_mouth(m.points))]
        found = self._parse_boxes([image] * len(boxes), boxes)
        n = len(JITTER)
        return [(m.face + sum(f.face for f in found[k * n:(k + 1) * n] if f is not None))
                / (1 + n) for k, m in enumerate(mouths)]


def _off(mouth: Mouth, box: np.ndarray) -> bool:
    """Whether `mouth` sits too far from where `box` expects it, or at another size."""
    side = float(box[2] - box[0])
    own = box_from_mouth(mouth.points)
    shift = np.hypot(*((own[:2] + own[2:]) / 2 - (box[:2] + box[2:]) / 2)) / side
    ratio = float(own[2] - own[0]) / side
    return shift > MOVE_LIMIT or not 1 / SCALE_LIMIT <= ratio <= SCALE_LIMIT


def _near(a: Mouth, b: Mouth) -> bool:
    """Whether two mouths are one (centres within NEAR_SHARE of a crop side)."""
    side = CROP_MOUTH_WIDTHS * max(a.width, b.width, 1e-6)
    return float(np.hypot(*(a.points[CENTRE] - b.points[CENTRE]))) < NEAR_SHARE * side


def _jitter(box: np.ndarray) -> list[np.ndarray]:
    """`box` scaled about its centre and shifted sideways as in JITTER."""
    centre, side = (box[:2] + box[2:]) / 2, float(box[2] - box[0])
    out = []
    for scale, shift in JITTER:
        half = side * scale / 2
        cx, cy = centre[0] + shift * side, centre[1]
        out.append(np.array([cx - half, cy - half, cx + half, cy + half], np.float32))
    return out


def _same_box(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two crop boxes frame the same mouth (centres within MOVE_LIMIT of a side,
    sides within SCALE_LIMIT)."""
    side = float(a[2] - a[0])
    shift = np.hypot(*((a[:2] + a[2:]) / 2 - (b[:2] + b[2:]) / 2)) / side
    ratio = float(b[2] - b[0]) / side
    return shift <= MOVE_LIMIT and 1 / SCALE_LIMIT <= ratio <= SCALE_LIMIT


def _cut(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """The parser's input for `box`: cut at PASS_SIDE x size, shrunk by pixel area (as the
    factory's crops were) -> (size, size, 3) uint8."""
    big = crop(image, box, int(round(PASS_SIDE * size)))
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def _crop_to_frame(points: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Points (..., 2) in `_cut` crop px -> frame px."""
    big = int(round(PASS_SIDE * size))
    side = float(box[2] - box[0])
    in_big = (np.asarray(points, np.float64) + 0.5) * (big / size) - 0.5
    return (np.asarray(box[:2], np.float64) + in_big * side / big).astype(np.float32)


def _to_track(mouths: list[Mouth | None], shape: tuple[int, int]) -> KeypointTrack:
    n = len(mouths)
    points = np.zeros((n, N_MOUTH_KEYPOINTS, 2), np.float32)
    visible = np.array([m is not None for m in mouths])
    for i, m in enumerate(mouths):
        if m is not None:
            points[i] = m.points
    points = smooth_points(points, visible, SMOOTH_FRAMES)
    boxes = np.zeros((n, 1, 4), np.float32)
    h, w = shape
    boxes[:] = (0.0, 0.0, float(w), float(h))
    for i in np.flatnonzero(visible):
        try:
            boxes[i, 0] = face_box_from_keypoints(points[i], shape)
        except InputError:                      # the mouth lies outside the frame
            visible[i] = False
    vis = np.repeat(visible[:, None, None], N_MOUTH_KEYPOINTS, axis=2)
    return KeypointTrack(points[:, None], vis, boxes, np.arange(n, dtype=np.int64))


class _Frames:
    """The shot's frames as display pixels, read ahead (a batch) on two threads; those up
    to SEARCH_GAP behind the last one asked for are kept (the frames skipped between two
    searches are tracked back), older ones are read again when asked for."""

    def __init__(self, paths: list):
        self.paths = paths
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="lipsync-locate")
        self.pending: dict[int, Future] = {}
        first = self._read(0)
        self.cache: dict[int, np.ndarray] = {0: first}
        self.shape = first.shape[:2]

    def __len__(self) -> int:
        return len(self.paths)

    def __enter__(self) -> "_Frames":
        return self

    def __exit__(self, *exc) -> None:
        for future in self.pending.values():
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _read(self, i: int) -> np.ndarray:
        return to_display(read_frame_raw(self.paths[i]))

    def get(self, i: int) -> np.ndarray:
        """Frame `i` (H, W, 3) uint8 RGB; reads ahead the next ones."""
        for j in range(i, min(i + BATCH + 1, len(self.paths))):
            if j not in self.cache and j not in self.pending:
                self.pending[j] = self.pool.submit(self._read, j)
        if i not in self.cache:
            self.cache[i] = self.pending.pop(i).result()
        image = self.cache[i]
        if image.shape[:2] != self.shape:
            raise FrameError(f"frame '{self.paths[i]}' is {image.shape[1]}x{image.shape[0]}, "
                             f"the first frame {self.shape[1]}x{self.shape[0]}: all frames of "
                             "a shot must have one size.")
        for j in [j for j in self.cache if not i - SEARCH_GAP <= j <= i + BATCH]:
            del self.cache[j]
        for j in [j for j in self.pending if not i <= j <= i + BATCH]:
            self.pending.pop(j).cancel()
        return image
