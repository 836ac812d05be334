"""Real faces: dlib's face detector and 68-point landmarks, mapped to the 25-point mouth.

The model is optional: `dlib` (the `dlib-bin` wheel) runs it and `face_recognition_models`
carries its weights (`shape_predictor_68_face_landmarks.dat`), both from the package index,
nothing downloaded at run time. `landmark_model_available` says whether both are there
without importing them; `LandmarkModel.load` imports and loads them.

One frame (`LandmarkModel.find`): the HOG face detector runs on the frame shrunk so that a
face of `MIN_FACE_SHARE` of the shorter side is the detector's own window, or, while a face
is followed, on a small crop around the last face box (`CROP_FACE_SIDES` box sides, shrunk so
the face is `TRACK_FACE_PX` wide). Of the faces found, the one nearest the last one is kept,
else the largest. The shape predictor then places the 68 landmarks (iBUG 300-W order: jaw
0-16, brows 17-26, nose 27-35, eyes 36-47, outer lips 48-59 from the image-left corner over
the upper lip, inner lips 60-67 likewise).

Confidence (`Face.confidence`, in [0, 1]): the smaller of the detector's (its score over
`FULL_FACE_SCORE`) and the mouth's (`mouth_texture` over `FULL_MOUTH_TEXTURE`): a mouth
covered by a flat patch has no edges and scores near 0.

Coordinates are frame pixels (x, y), y down, pixel centres at integers; images are
(H, W, 3) uint8 RGB.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError
from ..preprocess.keypoints import N_CONTOUR, N_MOUTH_KEYPOINTS

MODULES = ("dlib", "face_recognition_models")   # import names the model needs
PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
DETECTOR_WINDOW = 80          # px: the side of the HOG detector's window (its least face)
MIN_FACE_SHARE = 0.15         # least face found by a whole-frame search, share of short side
TRACK_FACE_PX = 100           # a followed face is shrunk to about this width, px
CROP_FACE_SIDES = 2.0         # ... in a crop this many face box sides wide around the last
FACE_SCORE = 0.1              # least detector score of a face (its own default is 0)
FULL_FACE_SCORE = 1.0         # detector score counted as full confidence
FULL_MOUTH_TEXTURE = 1.0      # mouth texture counted as full confidence
MIN_CONFIDENCE = 0.4          # below it a frame has no mouth
FACE_MARGIN = 0.1             # the face box: the landmarks' box grown by this share a side
OUTER_LIPS = np.arange(48, 60)
INNER_LIPS = np.arange(60, 68)


def landmark_model_available() -> bool:
    """Whether `dlib` and `face_recognition_models` can be imported (found, not imported)."""
    for name in MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


@dataclass(frozen=True, eq=False)
class Face:
    """One face found on a frame.

    landmarks: (68, 2) float32 frame px; rect: (4,) float32 the detector's box
    (x0, y0, x1, y1) px; score: the detector's score (> FACE_SCORE); mouth: `mouth_texture`
    (>= 0); found: how many faces the search found (this one kept); confidence in [0, 1]
    (see the module docstring).
    """

    landmarks: np.ndarray
    rect: np.ndarray
    score: float
    mouth: float
    found: int = 1

    @property
    def confidence(self) -> float:
        return float(min(self.score / FULL_FACE_SCORE, self.mouth / FULL_MOUTH_TEXTURE, 1.0))


class LandmarkModel:
    """dlib's HOG face detector and 68-point shape predictor (`load` builds one)."""

    def __init__(self, detector, predictor, dlib_module):
        self.detector, self.predictor, self.dlib = detector, predictor, dlib_module

    @classmethod
    def load(cls) -> "LandmarkModel":
        """Import dlib and load the predictor shipped by `face_recognition_models` (located
        without importing that package, whose import needs the retired pkg_resources).
        Raises InputError naming the missing package."""
        if not landmark_model_available():
            raise InputError("the face landmark model is not installed: pip install dlib-bin "
                             "face-recognition-models (see requirements.txt)")
        import dlib

        spec = importlib.util.find_spec("face_recognition_models")
        folder = list(spec.submodule_search_locations or [])[0]
        path = os.path.join(folder, "models", PREDICTOR_FILE)
        if not os.path.isfile(path):
            raise InputError(f"the face landmark weights are missing ({path}): reinstall "
                             "face-recognition-models")
        return cls(dlib.get_frontal_face_detector(), dlib.shape_predictor(path), dlib)

    def find(self, image: np.ndarray, last: np.ndarray | None = None) -> Face | None:
        """The face on `image` (H, W, 3) uint8 RGB: searched near `last` ((4,) face rect px
        of the previous frame) when given, else on the whole frame; the one nearest `last`,
        else the largest. None when no face scores FACE_SCORE."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"LandmarkModel.find needs (H, W, 3) uint8 RGB, got "
                             f"{image.shape} {image.dtype}")
        found = self._near(image, last) if last is not None else []
        if not found:
            found = self._detect(image, (0, 0), min_face_px(image.shape))
        if not found:
            return None
        rect, score = _pick(found, last)
        landmarks = self._shape(image, rect)
        return Face(landmarks, rect, score, mouth_texture(image, landmarks), len(found))

    def _near(self, image: np.ndarray, last: np.ndarray) -> list[tuple[np.ndarray, float]]:
        h, w = image.shape[:2]
        side = max(float(last[2] - last[0]), float(last[3] - last[1]), 1.0)
        cx, cy = (last[0] + last[2]) / 2, (last[1] + last[3]) / 2
        half = CROP_FACE_SIDES * side / 2
        x0, y0 = max(int(cx - half), 0), max(int(cy - half), 0)
        x1, y1 = min(int(np.ceil(cx + half)), w), min(int(np.ceil(cy + half)), h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return []
        return self._detect(image[y0:y1, x0:x1], (x0, y0), side * DETECTOR_WINDOW / TRACK_FACE_PX)

    def _detect(self, image: np.ndarray, offset: tuple[int, int],
                least_px: float) -> list[tuple[np.ndarray, float]]:
        """Faces (rect (4,) px in the frame, score) on `image` shrunk so a face `least_px`
        wide fills the detector's window (never enlarged)."""
        scale = min(DETECTOR_WINDOW / max(least_px, 1.0), 1.0)
        small = image if scale == 1.0 else cv2.resize(
            image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rects, scores, _ = self.detector.run(np.ascontiguousarray(small), 0, FACE_SCORE)
        out = []
        for r, s in zip(rects, scores):
            if s < FACE_SCORE:
                continue
            box = np.array([r.left(), r.top(), r.right() + 1, r.bottom() + 1], np.float32)
            out.append((box / scale + np.array(offset * 2, np.float32), float(s)))
        return out

    def _shape(self, image: np.ndarray, rect: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = (int(round(float(v))) for v in rect)
        shape = self.predictor(image, self.dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
        return np.array([(p.x, p.y) for p in shape.parts()], np.float32)


def min_face_px(shape: tuple[int, ...]) -> float:
    """The least face width (px) a whole-frame search finds on a frame of `shape` (H, W, ...):
    MIN_FACE_SHARE of the shorter side, and never below the detector's window."""
    return max(MIN_FACE_SHARE * min(shape[0], shape[1]), float(DETECTOR_WINDOW))


def _pick(found: list[tuple[np.ndarray, float]],
          last: np.ndarray | None) -> tuple[np.ndarray, float]:
    if last is not None:
        centre = (last[:2] + last[2:]) / 2
        return min(found, key=lambda f: float(np.hypot(*((f[0][:2] + f[0][2:]) / 2 - centre))))
    return max(found, key=lambda f: float(f[0][2] - f[0][0]))


def mouth_texture(image: np.ndarray, landmarks: np.ndarray) -> float:
    """How much the lips look like lips: the mean gradient magnitude (Sobel, grey) inside the
    outer lip contour over the mean over the landmarks' box; >= 0, about 1 or more for a
    real mouth, near 0 for a mouth covered by a flat patch. Grey only, so colourless and
    painted footage score alike. image: (H, W, 3) uint8 RGB; landmarks: (68, 2) px."""
    h, w = image.shape[:2]
    x0, y0 = np.floor(landmarks.min(axis=0)).astype(int)
    x1, y1 = np.ceil(landmarks.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return 0.0
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    lips = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(lips, [np.rint(landmarks[OUTER_LIPS] - (x0, y0)).astype(np.int32)], 1)
    if not lips.any():
        return 0.0
    return float(grad[lips > 0].mean() / max(float(grad.mean()), 1e-3))


def mouth_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """The 25-point mouth (`preprocess.keypoints`) from 68 landmarks (68, 2) px.

    The centre (24) is the mean of the inner lip landmarks; outer point k and inner point
    12 + k are where the ray from the centre at k * 30 degrees (0 towards the image-left
    corner, 90 towards the upper lip, in the mouth's own tilt) leaves the outer and inner
    lip polygons; an inner point never lies beyond its outer one. Returns (25, 2) float32.
    """
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise InputError(f"mouth_from_landmarks needs (68, 2) finite landmarks, got {lm.shape}")
    outer, inner = lm[OUTER_LIPS], lm[INNER_LIPS]
    centre = inner.mean(axis=0)
    right = outer[6] - outer[0]
    right = right / max(float(np.hypot(*right)), 1e-6)
    up = np.array([right[1], -right[0]])            # y down: upper lip is towards -y
    angles = np.radians(np.arange(N_CONTOUR) * 30.0)
    rays = -np.cos(angles)[:, None] * right + np.sin(angles)[:, None] * up   # (12, 2)
    out_t = np.array([_ray_exit(centre, d, outer) for d in rays])
    in_t = np.minimum([_ray_exit(centre, d, inner) for d in rays], out_t)
    points = np.zeros((N_MOUTH_KEYPOINTS, 2))
    points[:N_CONTOUR] = centre + out_t[:, None] * rays
    points[N_CONTOUR:2 * N_CONTOUR] = centre + in_t[:, None] * rays
    points[2 * N_CONTOUR] = centre
    return points.astype(np.float32)


def _ray_exit(origin: np.ndarray, direction: np.ndarray, polygon: np.ndarray) -> float:
    """Farthest distance t >= 0 at which origin + t * direction crosses the closed
    `polygon` (N, 2); 0 when it crosses none (a closed mouth's flat inner polygon)."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    edge = b - a                                                   # (N, 2)
    det = direction[0] * -edge[:, 1] + direction[1] * edge[:, 0]   # |d  -e|
    rel = a - origin
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (rel[:, 0] * -edge[:, 1] + rel[:, 1] * edge[:, 0]) / det
        s = (direction[0] * rel[:, 1] - direction[1] * rel[:, 0]) / det
    ok = (np.abs(det) > 1e-9) & (t >= 0) & (s >= 0) & (s <= 1)
    return float(t[ok].max()) if ok.any() else 0.0


def face_box(face: Face, shape: tuple[int, ...]) -> np.ndarray:
    """(4,) float32 face box (x0, y0, x1, y1) px: the detector's box and the 68 landmarks
    (jaw, brows), grown by FACE_MARGIN of its sides, clipped to a frame of `shape`."""
    lo = np.minimum(face.landmarks.min(axis=0), face.rect[:2])
    hi = np.maximum(face.landmarks.max(axis=0), face.rect[2:])
    grow = FACE_MARGIN * (hi - lo)
    lo, hi = np.maximum(lo - grow, 0), np.minimum(hi + grow, (shape[1], shape[0]))
    return np.concatenate([lo, hi]).astype(np.float32)
