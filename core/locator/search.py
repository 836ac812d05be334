"""Finding a mouth on one frame with the face parser: the whole-frame search, the search
near a lost mouth, and the crops parsed at given boxes that tracking needs.

The parser is fully convolutional, so a search runs it on the whole frame resized at
several scales (crop sides `SEARCH_SIDES` of the frame's shorter side, in steps of
`SEARCH_STEP`, each mapped to the parser's input size). Peaks of the lip probability over
a mouth-sized window are candidates; each is verified by cropping as the factory did
(`crop.py`: a square `CROP_MOUTH_WIDTHS` mouth widths wide, centred `CROP_UP_SHIFT` sides
above the mouth), parsing, and cropping again at the mouth found there. The parser,
trained at one scale only, also finds "lips" in eyes, hairlines and chins cut at other
scales, so the winner is the crop that looks most like a face around a mouth
(`face_score`: the mouth, both eyes above it, the nose), averaged over a few shifted and
scaled crops.

Coordinates are frame pixels (x, y), y down, pixel centres at integers; crops are
(S, S, 3) uint8 RGB at the parser's `config.size` S; probabilities are (12, S, S) float32
softmax outputs of the parser (classes in `models.parser.CLASS_NAMES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from ..models.parser import CLASS_NAMES, FaceParser
from ..preprocess.keypoints import CENTRE, LEFT_CORNER, RIGHT_CORNER
from ..pipeline.crop import CROP_MOUTH_WIDTHS, CROP_UP_SHIFT, crop
from .shape import ACCEPT, LIP_CLASSES, WIDTH_SHARE, mouth_keypoints

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
BATCH = 16                   # crops per parser pass (and frames per tracking batch)
MOVE_LIMIT = 0.08            # one mouth's boxes: centres at most this share of a side apart
SCALE_LIMIT = 1.25           # ... and sides within this factor (tracking parses again past)
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


class MouthFinder:
    """The face parser at work on frames: crops parsed at given boxes into `Mouth`es,
    and searches on whole frames or around a lost mouth."""

    def __init__(self, parser: FaceParser):
        self.parser = parser
        self.size = parser.config.size
        self.device = next(parser.parameters()).device

    def parse_boxes(self, images: list[np.ndarray], boxes: list[np.ndarray],
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

    def search(self, image: np.ndarray) -> Mouth | None:
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

    def search_near(self, image: np.ndarray, last: Mouth, side: float) -> Mouth | None:
        """The most confident mouth near `last` (whose crop side is about `side` px), at
        about its size, or None."""
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
        found = self.parse_boxes([image] * len(boxes), boxes, least=0.0)
        boxes = []
        for mouth in sorted((m for m in found if m is not None), key=lambda m: -m.score):
            box = box_from_mouth(mouth.points)
            if not any(_same_box(box, other) for other in boxes):
                boxes.append(box)
        found = [m for m in self.parse_boxes([image] * len(boxes), boxes) if m is not None]
        finalists = sorted(found, key=lambda m: -m.face)[:FINALISTS]
        if not finalists:
            return None
        faces = self.steady_faces(image, finalists)
        best = int(np.argmax(faces))
        return replace(finalists[best], face=faces[best])

    def steady_faces(self, image: np.ndarray, mouths: list[Mouth]) -> list[float]:
        """Mean `face_score` of each mouth over its own crop and the JITTER-ed ones: one
        crop can fool the parser, but a face stays a face when the crop moves a little."""
        boxes = [b for m in mouths for b in _jitter(box_from_mouth(m.points))]
        found = self.parse_boxes([image] * len(boxes), boxes)
        n = len(JITTER)
        return [(m.face + sum(f.face for f in found[k * n:(k + 1) * n] if f is not None))
                / (1 + n) for k, m in enumerate(mouths)]


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
