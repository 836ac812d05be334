"""A real speaker's own mouths for a new track (Video Rewrite): each frame of re-voiced
footage takes its mouth from another frame of the same shot, chosen by the new sound.

Footage of a person speaking holds their lips, teeth and tongue at the frame's own
resolution, in the shapes they took while speaking; a generator that learnt from rendered
heads draws neither. Per frame, `choose_sources` picks the frame of the shot whose mouth
shape (`mouth_shapes`: inner-lip opening and width) is closest to the shape the new track
asks for there (`wanted_shapes`, from the viseme reader's weights), whose head pose (roll,
turn) is close to the frame's own, and which continues the frame picked before: a run of
consecutive source frames keeps the speaker's own motion between shapes (a Viterbi search
over the candidates, `SWITCH` the cost of a jump). The picked frame's mouth is then drawn
as a learnt bank's mouth is (`bank.Exemplar`: the jaw region, by whole pixels, in the
frame's light).

`usable` says whether a shot's mouths are varied enough to be worth it (a still or a shot
that never opens its mouth keeps the generator's mouths).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..preprocess.keypoints import INNER, LEFT_CORNER, RIGHT_CORNER, contour_heights
from ..speech.visemes import VISEMES, jaw_open
from .region import FOOTAGE_JAW
from .bank import SIDE_RANGE, Exemplar, bank_box, cut_exemplar, spread

MAX_CANDIDATES = 1500   # source frames weighed at most (evenly over the shot's visible ones)
MIN_OPEN_SPAN = 0.15    # inner-lip opening (mouth widths) the shot's mouths must span
FULL_OPEN = 0.95        # the shot's mouths' quantile of opening a fully open sound asks for
ROUND_WIDTH = -0.20     # mouth width asked by a round sound, share of the shot's median ...
WIDE_WIDTH = 0.08       # ... and by a wide one
OPEN_TOLERANCE = 0.03   # opening (mouth widths) that costs 1
WIDTH_TOLERANCE = 0.08  # width (share of the median) that costs 1
ROLL_TOLERANCE = 0.05   # head roll (radians, about 3 degrees) that costs 1
TURN_TOLERANCE = 0.04   # mouth offset from the face box's middle (face widths) that costs 1
SWITCH = 4.0            # the cost of a source frame that does not follow the last one
HOLD = 1.0              # the cost of showing the same source frame again


def mouth_shapes(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(F, 4) float32 per frame of mouth keypoints `points` (F, 25, 2) px and face boxes
    `boxes` (F, 4) px: inner-lip opening (mouth widths), mouth width (face widths), roll
    (radians, the corners' line) and turn (the mouth's middle from the face box's middle,
    face widths)."""
    points = np.asarray(points, np.float64)
    boxes = np.asarray(boxes, np.float64)
    face = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-6)
    corners = points[:, RIGHT_CORNER] - points[:, LEFT_CORNER]
    width = np.linalg.norm(corners, axis=1) / face
    roll = np.arctan2(corners[:, 1], corners[:, 0])
    turn = (points[:, :, 0].mean(axis=1) - (boxes[:, 0] + boxes[:, 2]) / 2) / face
    return np.stack([contour_heights(points, INNER), width, roll, turn], 1).astype(np.float32)


def usable(shapes: np.ndarray, visible: np.ndarray) -> bool:
    """Whether the visible frames' mouths (`mouth_shapes` (F, 4), `visible` (F,) bool)
    span at least `MIN_OPEN_SPAN` of inner-lip opening (between their 5 % and 95 %)."""
    opening = shapes[np.asarray(visible, bool), 0]
    if opening.size < 2:
        return False
    low, high = np.quantile(opening, [0.05, 0.95])
    return bool(high - low >= MIN_OPEN_SPAN)


def wanted_shapes(visemes: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """(F, 2) the inner-lip opening and mouth width (`mouth_shapes` units) the viseme
    weights `visemes` (F, 7) ask for, in the scale of the candidates' `shapes` (K, 4).
    Opening: the mean of two maps of the sound's `jaw_open`, in proportion (a fully open
    sound opens as far as their `FULL_OPEN` quantile) and by rank (the track's n-th
    quantile of opening asks for theirs: the shot's whole range is used). A round sound
    narrows their median width by `ROUND_WIDTH`, a wide one widens it by `WIDE_WIDTH`."""
    weights = np.asarray(visemes, np.float32)
    sound = jaw_open(weights)
    ranks = (np.argsort(np.argsort(sound, kind="stable")) + 0.5) / len(sound)
    opening = (sound * np.quantile(shapes[:, 0], FULL_OPEN)
               + np.quantile(shapes[:, 0], ranks)) / 2
    width = float(np.median(shapes[:, 1]))
    shape = (1 + ROUND_WIDTH * weights[:, VISEMES.index("round")]
             + WIDE_WIDTH * weights[:, VISEMES.index("wide")])
    return np.stack([opening, shape * width], 1).astype(np.float32)


def plan_sources(points: np.ndarray, boxes: np.ndarray, visible: np.ndarray,
                 heard: np.ndarray | None) -> tuple[np.ndarray | None, str]:
    """(per frame the frame whose mouth it shows (`choose_sources`) or None, a note for the
    report saying which) of a re-voiced real face: mouth keypoints `points` (F, 25, 2) px,
    face boxes `boxes` (F, 4) px, `visible` (F,) bool; `heard`: the new track's viseme
    weights (F, 7), None without a viseme reader."""
    shapes = mouth_shapes(points, boxes)
    if heard is None or not usable(shapes, visible):
        why = ("the models folder has no viseme reader" if heard is None
               else "its mouth barely opens in the shot")
        return None, f"drawn by the generator, not with the speaker's own mouths ({why})"
    return (choose_sources(shapes, visible, heard),
            "re-voiced with the speaker's own mouths, taken from the shot's frames and "
            "chosen by the sound")


def choose_sources(shapes: np.ndarray, visible: np.ndarray, visemes: np.ndarray
                   ) -> np.ndarray:
    """(F,) int: per frame the frame of the shot whose mouth it shows, -1 where the frame
    is not visible. shapes: (F, 4) `mouth_shapes`; visible: (F,) bool; visemes: (F, 7) the
    new track's viseme weights per frame (module docstring)."""
    visible = np.asarray(visible, bool)
    sources = np.full(len(visible), -1, np.int64)
    candidates = np.array(sorted(spread(np.flatnonzero(visible), MAX_CANDIDATES)), np.int64)
    if len(candidates) == 0:
        return sources
    own = shapes[candidates]                                                # (K, 4)
    wanted = wanted_shapes(visemes, own)                                    # (F, 2)
    follows = np.r_[False, np.diff(candidates) == 1]        # candidate k continues k - 1
    steps = np.flatnonzero(visible)
    back = np.empty((len(steps), len(candidates)), np.int32)
    total = np.zeros(len(candidates))
    for n, t in enumerate(steps):
        if n == 0:
            came = np.arange(len(candidates))
        else:
            options = np.stack([total + HOLD,                                 # the same
                                np.where(follows, np.r_[np.inf, total[:-1]], np.inf),
                                np.full_like(total, total.min() + SWITCH)])   # a jump
            pick = options.argmin(0)
            came = np.where(pick == 0, np.arange(len(candidates)),
                            np.where(pick == 1, np.arange(len(candidates)) - 1,
                                     int(total.argmin())))
            total = options.min(0)
        back[n] = came
        total = total + _cost(own, wanted[t], shapes[t])
    k = int(total.argmin())
    for n in range(len(steps) - 1, -1, -1):
        sources[steps[n]] = candidates[k]
        k = int(back[n, k])
    return sources


def _cost(own: np.ndarray, wanted: np.ndarray, here: np.ndarray) -> np.ndarray:
    """(K,) how far candidates' shapes `own` (K, 4) are from the `wanted` (2,) opening and
    width and the frame's own roll and turn (`here` (4,))."""
    return (((own[:, 0] - wanted[0]) / OPEN_TOLERANCE) ** 2
            + ((own[:, 1] - wanted[1]) / (WIDTH_TOLERANCE * max(wanted[1], 1e-6))) ** 2
            + ((own[:, 2] - here[2]) / ROLL_TOLERANCE) ** 2
            + ((own[:, 3] - here[3]) / TURN_TOLERANCE) ** 2)


class OwnMouths:
    """The shot's own mouths of one re-voiced character: per frame the frame whose mouth it
    shows (`sources` (F,) int, -1: none), cut from that frame's display pixels, which
    `read` (frame index -> (H, W, 3) uint8) gives; the last `KEEP_READ` reads are kept.
    `boxes`: (F, 4) the character's crop boxes px."""

    KEEP_READ = 8

    def __init__(self, sources: np.ndarray, boxes: np.ndarray,
                 read: Callable[[int], np.ndarray]):
        self.sources, self.boxes, self.read = sources, boxes, read
        self._read: dict[int, np.ndarray] = {}

    def display(self, index: int) -> np.ndarray:
        """Frame `index`'s display pixels (H, W, 3) uint8, read once while recent."""
        if index not in self._read:
            if len(self._read) >= self.KEEP_READ:
                del self._read[next(iter(self._read))]
            self._read[index] = self.read(index)
        return self._read[index]

    def exemplar(self, index: int) -> tuple[np.ndarray, Exemplar] | None:
        """(the source frame's display (H, W, 3) uint8, its mouth drawn on frame `index`
        as a bank's `Exemplar`, cut by whole pixels at its own side), or None."""
        source = int(self.sources[index])
        if source < 0:
            return None
        display = self.display(source)
        big = bank_box(self.boxes[source])
        side = int(np.clip(round(float(big[2] - big[0])), *SIDE_RANGE))
        pixels = cut_exemplar(display, self.boxes[source], side).astype(np.float32) / 255
        return display, Exemplar(pixels, bank_box(self.boxes[index]), FOOTAGE_JAW, False)
