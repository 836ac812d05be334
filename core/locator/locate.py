"""Mouth keypoints from the face parser, for shots that come without keypoints.

`locate_mouths` follows one character (the most confident mouth) through a shot and
returns a `KeypointTrack` in the 25-point topology of `preprocess.keypoints`:

1. Search (`search`): the parser runs on the whole frame at several scales; of the
   places that look like lips, the winner is the crop that looks most like a face around
   a mouth (`face_score`: the mouth, both eyes above it, the nose).
2. Track: every frame is cropped at the previous mouth's box (in batches, one parser pass
   per frame; a second pass for frames whose mouth moved or changed size too much), and
   the keypoints are read off the parser's output (`mouth_keypoints`). A frame without a
   mouth is invisible; the next frames are searched near the last mouth, then on whole
   frames (less and less often while nothing is found, tracking back over the skipped
   frames once found). A track whose crops look little like a face is checked by a new
   search now and then, and moves to a clearly better mouth (re-tracked backwards).
3. Smooth: a 3-frame median of the points within each run of visible frames; a frame whose
   pixels equal the previous frame's takes that frame's mouth (`repeats`: a still never
   looks like it speaks).

Its accuracy against the projected mesh keypoints is checked by the module's tests on the
factory's held-out clips (figures: docs/experiments.md).

Coordinates are frame pixels (x, y), y down, pixel centres at integers.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Sequence

import numpy as np
import torch

from ..errors import FrameError, InputError
from ..models.parser import FaceParser
from ..preprocess.frames import read_frame_raw
from ..preprocess.keypoints import (CENTRE, N_MOUTH_KEYPOINTS, KeypointTrack,
                                    face_box_from_keypoints)
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from ..pipeline.crop import CROP_MOUTH_WIDTHS
from .repeats import FrameDigests, hold_repeats
from .search import BATCH, MOVE_LIMIT, SCALE_LIMIT, Mouth, MouthFinder, box_from_mouth
from ..pipeline.pixels import to_display

WIDTH_FRAMES = 9             # the crop side follows the median width of so many frames
LOST_NEAR = 4                # frames searched near the last mouth before a full search
SEARCH_GAP = 16              # while nothing is found, whole-frame searches this far apart
DOUBT = 1.0                  # a track whose batch's mean face score is lower is checked
RECHECK_FRAMES = 64          # ... by a whole-frame search at most every so many frames
SWITCH_MARGIN = 0.05         # ... and moves to a mouth elsewhere scoring this much more
NEAR_SHARE = 0.25            # mouths closer than this share of a crop side are one
SMOOTH_FRAMES = 3            # median of the points over this many frames


def locate_mouths(frame_paths: Sequence[str | os.PathLike], parser: FaceParser,
                  progress: ProgressFn = no_progress,
                  should_cancel: CancelFn = never_cancel) -> KeypointTrack:
    """Mouth keypoints of one character (the most confident mouth) on every frame.

    frame_paths: the shot's F frame files in order (any format `read_frame_raw` reads,
    all of one size). parser: the face parser (`models.parser.load_parser`; it is put in
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
    track = _to_track(mouths, frames.shape)
    hold_repeats(frames.digests.same_as_previous(), track.points, track.visible, track.boxes)
    return track


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
        self.frames, self.finder = frames, MouthFinder(parser)
        self.progress, self.should_cancel = progress, should_cancel
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
                mouth = self.finder.search_near(self.frames.get(i), last, self._side(last))
                self._keep(i, mouth)
                last, misses = (mouth, 0) if mouth is not None else (last, misses + 1)
                i += 1
            else:                                                # whole frames, less often
                if since_search is None or since_search >= gap:
                    mouth = self.finder.search(self.frames.get(i))
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

    def _side(self, mouth: Mouth) -> float:
        return CROP_MOUTH_WIDTHS * float(np.median(self.widths)) if self.widths else \
            CROP_MOUTH_WIDTHS * mouth.width

    def _track(self, indices: list[int], last: Mouth) -> list[Mouth | None]:
        """Mouths of frames `indices`, each cropped at the box of `last`; frames whose
        mouth moved or changed size too much are parsed again at their own box."""
        box = box_from_mouth(last.points, self._side(last))
        images = [self.frames.get(i) for i in indices]
        found = self.finder.parse_boxes(images, [box] * len(images))
        again = [k for k, m in enumerate(found) if m is not None and _off(m, box)]
        if again:
            boxes = [box_from_mouth(found[k].points, self._redo_side(found[k], box))
                     for k in again]
            redo = self.finder.parse_boxes([images[k] for k in again], boxes)
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
        again; a mouth elsewhere that looks clearly more like one (`steady_faces`)
        replaces it there and on the frames before it (tracked backwards) and is
        returned; None when the track stays."""
        image = self.frames.get(i)
        found = self.finder.search(image)
        if found is None or _near(found, last):
            return None
        if found.face < self.finder.steady_faces(image, [last])[0] + SWITCH_MARGIN:
            return None
        self._keep(i, found)
        self._track_back(i, found, untried=False)
        return found


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
        self.digests = FrameDigests(len(paths))
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
        image = to_display(read_frame_raw(self.paths[i]))
        self.digests.add(i, image)
        return image

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
