"""Mouth keypoints of plain footage: real faces by the landmark model, else the parser.

`locate_footage` is what `sync` without keypoints runs. With the landmark model installed
(`landmarks.landmark_model_available`) it follows one real face through the shot
(`locate_faces`); when no real face is found on any frame (drawn or stylised footage), or
the model is not installed, the face parser locates the mouth (`locate.locate_mouths`), and
a note says which.

`locate_faces`: per frame the face nearest the last one found (the largest on the first
whole-frame search: one character per shot without a keypoint file), its 68 landmarks
mapped to the 25 mouth points, its face box and a confidence; a frame without a face, or
whose confidence is below `landmarks.MIN_CONFIDENCE`, has no mouth, and why is kept
(`LocatedShot.reasons`).
Identical frames get identical points (`repeats`); points are smoothed as the parser's are
(`locate.smooth_points`).

Coordinates are frame pixels (x, y), y down; frames are read as display pixels (H, W, 3)
uint8 RGB.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import FrameError, InputError
from ..preprocess.frames import read_frame_raw
from ..preprocess.keypoints import N_MOUTH_KEYPOINTS, KeypointTrack
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from ..pipeline.pixels import to_display
from .landmarks import (FULL_FACE_SCORE, FULL_MOUTH_TEXTURE, MIN_CONFIDENCE, LandmarkModel,
                        face_box, landmark_model_available, min_face_px,
                        mouth_from_landmarks)
from . import LOCATORS
from .locate import SMOOTH_FRAMES, smooth_points
from .repeats import FrameDigests, hold_repeats

NO_FACE = "no face found"
WEAK_FACE = "face not confident"
UNCLEAR_MOUTH = "mouth not clear (covered or blurred)"
PARSER_MISSED = "mouth not found by the face parser"
READ_AHEAD = 4                # frames read ahead on worker threads
MISSING_NOTE = ("the face landmark model is not installed (pip install dlib-bin "
                "face-recognition-models, or the add-on's dependency installer): the face "
                "parser, trained on synthetic heads only, located the mouth")
NO_REAL_FACE_NOTE = ("no real face found on any frame: the face parser located the mouth "
                     "(drawn or stylised footage)")


@dataclass
class LocatedShot:
    """Mouth keypoints of one character over a shot, and why frames have none.

    track: points (F, 1, 25, 2) frame px, visible (F, 1, 25), boxes (F, 1, 4) face boxes,
    frames 0..F-1. reasons: frame index -> why it has no mouth (invisible frames only).
    confidence: (F,) float32 in [0, 1] (0 where no face). faces: frames where a face was
    found at any confidence. source: "landmarks" or "parser". notes: for the report.
    """

    track: KeypointTrack
    reasons: dict[int, str] = field(default_factory=dict)
    confidence: np.ndarray | None = None
    faces: int = 0
    source: str = "landmarks"
    notes: list[str] = field(default_factory=list)


def locate_footage(frame_paths: Sequence[str | os.PathLike], parser,
                   progress: ProgressFn = no_progress,
                   should_cancel: CancelFn = never_cancel,
                   model: LandmarkModel | None = None, locator: str = "auto") -> LocatedShot:
    """The mouth of one character on plain footage (see the module docstring). parser: the
    face parser (`models.parser.load_parser`), used only when no real face is found; model:
    the landmark model (default: loaded when installed); locator: one of `LOCATORS`."""
    if locator not in LOCATORS:
        raise InputError(f"locator {locator!r}: use one of {', '.join(LOCATORS)}.")
    if locator == "faces" and model is None and not landmark_model_available():
        raise InputError("--locator faces needs the face landmark model: pip install dlib-bin "
                         "face-recognition-models (or the add-on's dependency installer).")
    if model is None and locator != "parser" and landmark_model_available():
        model = LandmarkModel.load()
    notes = []
    if locator == "faces":
        return locate_faces(frame_paths, model, progress, should_cancel)
    if locator == "parser":
        notes.append("--locator parser: the face parser located the mouth")
    elif model is not None:
        shot = locate_faces(frame_paths, model, progress, should_cancel)
        if shot.faces:
            return shot
        notes.append(NO_REAL_FACE_NOTE)
    else:
        notes.append(MISSING_NOTE)
    from .locate import locate_mouths

    track = locate_mouths(frame_paths, parser, progress, should_cancel)
    hidden = np.flatnonzero(~track.visible[:, 0].all(axis=1))
    return LocatedShot(track, {int(i): PARSER_MISSED for i in hidden}, source="parser",
                       notes=notes)


def locate_faces(frame_paths: Sequence[str | os.PathLike], model: LandmarkModel,
                 progress: ProgressFn = no_progress,
                 should_cancel: CancelFn = never_cancel) -> LocatedShot:
    """One real face's mouth on every frame of `frame_paths` (F files, one size) by the
    landmark `model`. progress(done, total, message) counts frames; should_cancel is polled
    per frame (raises `Cancelled`). Raises InputError on an empty list, FrameError on
    unreadable frames or frames of another size."""
    paths = list(frame_paths)
    if not paths:
        raise InputError("no frames to locate faces in: the frame list is empty.")
    n = len(paths)
    points = np.zeros((n, N_MOUTH_KEYPOINTS, 2), np.float32)
    boxes = np.zeros((n, 4), np.float32)
    visible = np.zeros(n, bool)
    confidence = np.zeros(n, np.float32)
    reasons: list[str | None] = [None] * n
    found = np.zeros(n, bool)                    # a face, at any confidence
    digests = FrameDigests(n)
    most, shape, last = (1, 0), None, None
    with _Reader(paths) as reader:
        for i in range(n):
            check_cancel(should_cancel)
            image = reader.next()
            if shape is None:
                shape = image.shape[:2]
                boxes[:] = (0.0, 0.0, float(shape[1]), float(shape[0]))
            elif image.shape[:2] != shape:
                raise FrameError(f"frame '{paths[i]}' is {image.shape[1]}x{image.shape[0]}, "
                                 f"the first frame {shape[1]}x{shape[0]}: all frames of a "
                                 "shot must have one size.")
            digests.add(i, image)
            if i and digests.digests[i] == digests.digests[i - 1]:     # a repeat: the same
                for array in (points, boxes, visible, confidence, found):
                    array[i] = array[i - 1]
                reasons[i] = reasons[i - 1]
            else:
                face = model.find(image, last)
                last = last if face is None else face.rect       # kept while it is lost
                if face is None:
                    reasons[i] = NO_FACE
                else:
                    found[i] = True
                    most = max(most, (face.found, -i))
                    confidence[i] = face.confidence
                    if face.confidence >= MIN_CONFIDENCE:
                        points[i] = mouth_from_landmarks(face.landmarks)
                        boxes[i] = face_box(face, shape)
                        visible[i] = True
                    else:
                        weak = face.score / FULL_FACE_SCORE < face.mouth / FULL_MOUTH_TEXTURE
                        reasons[i] = WEAK_FACE if weak else UNCLEAR_MOUTH
            progress(i + 1, n, f"finding the face: frame {i + 1}/{n}")
    points = smooth_points(points, visible, SMOOTH_FRAMES)
    hold_repeats(digests.same_as_previous(), points)
    notes = []
    if most[0] > 1:
        notes.append(f"{most[0]} faces on frame {-most[1]}: the largest (then the one nearest "
                     "it) is lip-synced; the others are left unchanged (a keypoint file "
                     "gives one character per face)")
    faces = int(found.sum())
    if faces and visible.sum() < n:
        notes.append(f"faces narrower than {min_face_px(shape):.0f} px are not looked for "
                     "on a whole frame")
    vis = np.repeat(visible[:, None, None], N_MOUTH_KEYPOINTS, axis=2)
    track = KeypointTrack(points[:, None], vis, boxes[:, None], np.arange(n, dtype=np.int64))
    return LocatedShot(track, {i: r for i, r in enumerate(reasons) if r is not None},
                       confidence, faces, "landmarks", notes)


class _Reader:
    """The frames in order as display pixels, READ_AHEAD read ahead on two threads."""

    def __init__(self, paths: list):
        self.paths, self.index = paths, 0
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="lipsync-faces")
        self.pending: deque[Future] = deque()

    def __enter__(self) -> "_Reader":
        return self

    def __exit__(self, *exc) -> None:
        for future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def next(self) -> np.ndarray:
        """The next frame (H, W, 3) uint8 RGB."""
        while len(self.pending) < READ_AHEAD and self.index + len(self.pending) < len(self.paths):
            path = self.paths[self.index + len(self.pending)]
            self.pending.append(self.pool.submit(lambda p=path: to_display(read_frame_raw(p))))
        self.index += 1
        return self.pending.popleft().result()
