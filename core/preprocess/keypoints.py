"""The 25-point mouth topology, faces, and keypoint tracks of a whole shot.

Conventions: points are float32 pixel coordinates (x, y), origin at the top-left
corner of the picture, y down, pixel centres at integer coordinates. Images are
(H, W, 3) RGB uint8. Angles are degrees, counter-clockwise as seen on screen.

Topology (an upright mouth; outer point k and inner point 12 + k lie on the same
ray from the centre, every 30 degrees, going along the upper lip first)::

                      3
               4      .      2              outer contour: 0-11
          5        16 15 14        1        inner contour: 12-23
                17           13             centre:        24
       6     18       24        12    0     k = 0: corner at the image left
                19           23             k = 3: top middle (upper lip)
          7        20 21 22        11       k = 6: corner at the image right
               8             10             k = 9: bottom middle (lower lip)
                      9

Keypoints come from a `KeypointSource` (the Blender side projects the same 25
mesh vertices through the camera on every frame; a detector can do it later),
as a `KeypointTrack` that holds every frame and character of a shot.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import InputError

N_MOUTH_KEYPOINTS = 25
N_CONTOUR = 12
OUTER = np.arange(0, 12)
"""Indices of the outer lip contour, in topology order."""
INNER = np.arange(12, 24)
"""Indices of the inner lip contour (the lip opening), in topology order."""
CENTRE = 24
LEFT_CORNER = 0
TOP_OUTER = 3
RIGHT_CORNER = 6
BOTTOM_OUTER = 9
TOP_INNER = 15
BOTTOM_INNER = 21

MIN_VISIBLE = 13
"""A mouth counts as visible on a frame when at least this many of its 25 points are."""

# Face proportions used to guess a face box from the mouth alone (rough adult
# anthropometry: the mouth is ~0.4 of the face width, its centre ~72% of the way
# from hairline to chin).
_FACE_WIDTH_PER_MOUTH = 2.5
_FACE_HEIGHT_PER_MOUTH = 3.2
_MOUTH_DEPTH = 0.72


@dataclass(frozen=True, eq=False)
class Face:
    """One character's face on one frame.

    Attributes:
        keypoints: (25, 2) float32 mouth points (x, y) px, or None when unknown.
        visible: (25,) bool, which keypoints are visible, or None (all, when
            keypoints are given).
        box: (x0, y0, x1, y1) px, the face, x0 < x1 and y0 < y1.
    """

    keypoints: np.ndarray | None
    visible: np.ndarray | None
    box: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        if self.keypoints is not None:
            object.__setattr__(self, "keypoints", check_keypoints(self.keypoints))
            if self.visible is None:
                object.__setattr__(self, "visible", np.ones(N_MOUTH_KEYPOINTS, dtype=bool))
        if self.visible is not None:
            visible = np.asarray(self.visible)
            if visible.shape != (N_MOUTH_KEYPOINTS,) or visible.dtype != bool:
                raise InputError(f"Face.visible must be a (25,) bool array, got shape {visible.shape} "
                                 f"dtype {visible.dtype}")
            object.__setattr__(self, "visible", visible)
        box = tuple(float(v) for v in self.box)
        if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] <= box[0] or box[3] <= box[1]:
            raise InputError(f"Face.box must be (x0, y0, x1, y1) with x0 < x1 and y0 < y1, got {self.box!r}")
        object.__setattr__(self, "box", box)

    @property
    def size(self) -> float:
        """The longer side of the face box, px."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


def check_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """Return `keypoints` as (25, 2) float32, or raise InputError naming the problem."""
    points = np.asarray(keypoints, dtype=np.float32)
    if points.shape != (N_MOUTH_KEYPOINTS, 2):
        raise InputError(f"mouth keypoints must have shape (25, 2) (x, y in px), got {points.shape}")
    if not np.isfinite(points).all():
        raise InputError("mouth keypoints contain NaN or infinity; mark such points invisible instead")
    return points


def select_mouth_landmarks(points: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """Pick the 25 mouth keypoints among N projected lip vertices.

    The points are split into 12 sectors of 30 degrees around their centroid
    (sector k centred on direction k * 30 deg, see the module picture). In each
    sector, the points beyond the middle of the sector's distance range belong
    to the outer contour and the others to the inner one; outer point k is the
    outer one whose direction is closest to the sector centre, inner point
    12 + k likewise. (Plain "farthest point" would slide the top and bottom
    points of a wide mouth to the sector edge.) The centre is the point
    nearest to the centroid. An empty sector takes the point whose direction is
    closest to its centre.

    Args:
        points: (N, 2) float xy px, N >= 25, the projected lip vertices.
        up: (2,) the face's up direction in the picture; default (0, -1).

    Returns:
        (25,) int64 indices into `points`, in topology order.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < N_MOUTH_KEYPOINTS:
        raise InputError(f"select_mouth_landmarks needs (N, 2) points with N >= 25, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise InputError("select_mouth_landmarks: points contain NaN or infinity")
    u = np.array([0.0, -1.0]) if up is None else _unit(np.asarray(up, dtype=np.float64), "up")
    right = np.array([-u[1], u[0]])
    rel = pts - pts.mean(axis=0)                                # (N, 2)
    angle = np.degrees(np.arctan2(rel @ u, -(rel @ right))) % 360.0
    dist = np.hypot(rel[:, 0], rel[:, 1])
    centres = np.arange(N_CONTOUR) * 30.0
    offset = (angle[None, :] - centres[:, None] + 180.0) % 360.0 - 180.0   # (12, N)
    spread = np.abs(offset)
    in_sector = spread < 15.0
    empty = ~in_sector.any(axis=1)
    if empty.any():
        in_sector[np.flatnonzero(empty), spread[empty].argmin(axis=1)] = True
    d = np.broadcast_to(dist, in_sector.shape)                  # (12, N)
    middle = 0.5 * (np.where(in_sector, d, np.inf).min(axis=1) + np.where(in_sector, d, -np.inf).max(axis=1))
    outer = np.where(in_sector & (d >= middle[:, None]), spread, np.inf).argmin(axis=1)
    inner = np.where(in_sector & (d <= middle[:, None]), spread, np.inf).argmin(axis=1)
    return np.concatenate([outer, inner, [dist.argmin()]]).astype(np.int64)


def mouth_up_vector(keypoints: np.ndarray) -> np.ndarray:
    """(2,) float32 unit vector pointing from the lower lip to the upper lip.

    Perpendicular to the corner-to-corner line (robust to an open mouth), signed
    so that it points from the outer bottom-middle to the outer top-middle point.
    """
    kp = check_keypoints(keypoints).astype(np.float64)
    corners = kp[RIGHT_CORNER] - kp[LEFT_CORNER]
    top_bottom = kp[TOP_OUTER] - kp[BOTTOM_OUTER]
    up = np.array([corners[1], -corners[0]])
    if np.hypot(*up) < 1e-6:
        up = top_bottom
    if np.hypot(*up) < 1e-6:
        raise InputError("mouth keypoints are degenerate: corners and top/bottom points coincide")
    if up @ top_bottom < 0:
        up = -up
    return (up / np.hypot(*up)).astype(np.float32)


def face_angle(keypoints: np.ndarray) -> float:
    """Tilt of the face in degrees (-180, 180], counter-clockwise on screen; 0 is upright.

    90 means the top of the head points to the image left, -90 to the right.
    """
    ux, uy = mouth_up_vector(keypoints)
    angle = math.degrees(math.atan2(-ux, -uy))
    return 180.0 if angle <= -180.0 else angle


def mouth_opening(keypoints: np.ndarray) -> float:
    """Distance in px between the inner top-middle and inner bottom-middle points."""
    kp = check_keypoints(keypoints)
    return float(np.hypot(*(kp[TOP_INNER] - kp[BOTTOM_INNER])))


def contour_heights(points: np.ndarray, contour: np.ndarray = OUTER) -> np.ndarray:
    """(F,) height of a lip contour (`OUTER` or `INNER`) across the line through the mouth
    corners, over the mouth width, from keypoints (F, 25, 2). With INNER: the inner-lip
    opening. Not the distance between the top and bottom inner points alone: the landmarks
    are picked on a shot's first frame, and when that mouth is closed the two can land on
    the same lip (on 1 in 6 of the factory's clips they stay together while the outer lips
    open)."""
    corners = points[:, RIGHT_CORNER] - points[:, LEFT_CORNER]                  # (F, 2)
    width = np.maximum(np.linalg.norm(corners, axis=1), 1e-6)
    across = np.stack([-corners[:, 1], corners[:, 0]], axis=1) / width[:, None]  # unit
    heights = np.einsum("fnk,fk->fn", points[:, contour], across)               # (F, n)
    return np.ptp(heights, axis=1) / width


def face_box_from_keypoints(keypoints: np.ndarray,
                            image_shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    """Guess the face box (x0, y0, x1, y1) px from the mouth alone, clipped to the image.

    Uses rough proportions (face 2.5 mouth widths wide and 3.2 high, the mouth
    72% of the way down) in the face's own orientation, then takes the
    axis-aligned box of that rotated rectangle.
    """
    kp = check_keypoints(keypoints).astype(np.float64)
    height, width = int(image_shape[0]), int(image_shape[1])
    mouth_width = max(float(np.hypot(*(kp[RIGHT_CORNER] - kp[LEFT_CORNER]))), 2.0)
    up = mouth_up_vector(kp).astype(np.float64)
    right = np.array([-up[1], up[0]])
    face_w, face_h = _FACE_WIDTH_PER_MOUTH * mouth_width, _FACE_HEIGHT_PER_MOUTH * mouth_width
    centre = kp[CENTRE] + up * (_MOUTH_DEPTH - 0.5) * face_h
    corners = np.array([centre + sx * right * face_w / 2 + sy * up * face_h / 2
                        for sx in (-1, 1) for sy in (-1, 1)])
    x0, y0 = np.maximum(corners.min(axis=0), 0.0)
    x1, y1 = np.minimum(corners.max(axis=0), [width, height])
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise InputError(f"mouth keypoints lie outside the {width}x{height} image")
    return float(x0), float(y0), float(x1), float(y1)


@dataclass(frozen=True, eq=False)
class KeypointTrack:
    """Mouth keypoints of every character on every frame of a shot.

    Attributes:
        points: (F, C, 25, 2) float32 xy px; invisible points may be given as
            NaN and are stored as 0.
        visible: (F, C, 25) bool.
        boxes: (F, C, 4) float32 face boxes (x0, y0, x1, y1) px.
        frames: (F,) int64 scene frame numbers, strictly increasing.
    """

    points: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray
    frames: np.ndarray

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float32)
        visible = np.asarray(self.visible)
        boxes = np.asarray(self.boxes, dtype=np.float32)
        frames = np.asarray(self.frames)
        if points.ndim != 4 or points.shape[2:] != (N_MOUTH_KEYPOINTS, 2):
            raise InputError(f"KeypointTrack.points must be (F, C, 25, 2), got {points.shape}")
        n_frames, n_chars = points.shape[:2]
        if visible.shape != (n_frames, n_chars, N_MOUTH_KEYPOINTS) or visible.dtype != bool:
            raise InputError(f"KeypointTrack.visible must be ({n_frames}, {n_chars}, 25) bool, "
                             f"got {visible.shape} {visible.dtype}")
        if boxes.shape != (n_frames, n_chars, 4):
            raise InputError(f"KeypointTrack.boxes must be ({n_frames}, {n_chars}, 4), got {boxes.shape}")
        if frames.shape != (n_frames,) or frames.dtype.kind not in "iu":
            raise InputError(f"KeypointTrack.frames must be ({n_frames},) integers, "
                             f"got {frames.shape} {frames.dtype}")
        if n_frames > 1 and not (np.diff(frames) > 0).all():
            raise InputError("KeypointTrack.frames must be strictly increasing scene frame numbers")
        if not (np.isfinite(points[visible]).all() and np.isfinite(boxes).all()):
            raise InputError("KeypointTrack has NaN or infinite visible points or boxes")
        points = np.where(np.isfinite(points), points, np.float32(0.0))   # invisible NaN -> 0
        for name, value in (("points", points), ("visible", visible), ("boxes", boxes),
                            ("frames", frames.astype(np.int64))):
            object.__setattr__(self, name, value)

    @property
    def n_frames(self) -> int:
        return int(self.points.shape[0])

    @property
    def n_characters(self) -> int:
        return int(self.points.shape[1])

    def mouth_visible(self, i: int) -> np.ndarray:
        """(C,) bool: which characters show their mouth on frame index `i` (>= 13 points visible)."""
        return self.visible[i].sum(axis=1) >= MIN_VISIBLE

    def index_of(self, frame: int) -> int | None:
        """Index of scene frame number `frame` in the track, or None."""
        i = int(np.searchsorted(self.frames, frame))
        return i if i < self.n_frames and self.frames[i] == frame else None

    def faces(self, i: int) -> list[Face]:
        """The faces of frame index `i` (0 <= i < F) whose mouth is visible."""
        if not 0 <= i < self.n_frames:
            raise InputError(f"frame index {i} is outside the track's {self.n_frames} frames")
        return [Face(self.points[i, c], self.visible[i, c], tuple(self.boxes[i, c]))
                for c in np.flatnonzero(self.mouth_visible(i))]

    def save(self, path: str | os.PathLike) -> None:
        """Write the track to `path` as an uncompressed .npz (points, visible, boxes, frames)."""
        try:
            with open(path, "wb") as stream:
                np.savez(stream, points=self.points, visible=self.visible, boxes=self.boxes,
                         frames=self.frames)
        except OSError as exc:
            raise InputError(f"cannot write keypoint file {str(path)!r}: {exc.strerror or exc}") from exc

    @classmethod
    def load(cls, path: str | os.PathLike) -> "KeypointTrack":
        """Read a track written by `save` (no pickle). Raises InputError on a bad file."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in ("points", "visible", "boxes", "frames")}
        except FileNotFoundError as exc:
            raise InputError(f"keypoint file {str(path)!r} does not exist") from exc
        except KeyError as exc:
            raise InputError(f"keypoint file {str(path)!r} lacks the array {exc}; "
                             "write it with KeypointTrack.save") from exc
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read keypoint file {str(path)!r}: {exc}") from exc
        return cls(**arrays)


class KeypointSource(Protocol):
    """Anything that gives the mouth keypoints of a shot (Blender scene, a model)."""

    def track(self) -> KeypointTrack:
        """All frames and characters of the shot."""
        ...


def draw_keypoints(frame: np.ndarray, faces: list[Face] | None) -> np.ndarray:
    """Draw each face's box, outer and inner lip contours and visible points.

    Args:
        frame: (H, W, 3) uint8 RGB.
        faces: faces to draw; None or [] draws nothing.

    Returns:
        (H, W, 3) uint8 RGB copy of `frame` with the drawing.
    """
    import cv2

    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"draw_keypoints needs an (H, W, 3) uint8 RGB frame, got "
                         f"{getattr(frame, 'shape', None)} {getattr(frame, 'dtype', type(frame).__name__)}")
    out = frame.copy()
    thickness = max(1, round(max(frame.shape[:2]) / 400))
    for face in faces or []:
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), (80, 160, 255), thickness)
        if face.keypoints is None:
            continue
        kp = np.round(face.keypoints).astype(np.int32)
        for contour, colour in ((OUTER, (0, 255, 0)), (INNER, (0, 255, 255))):
            if face.visible[contour].all():
                cv2.polylines(out, [kp[contour]], True, colour, thickness, cv2.LINE_AA)
        for (x, y), seen in zip(kp, face.visible):
            if seen:
                cv2.circle(out, (int(x), int(y)), thickness + 1, (255, 255, 0), -1, cv2.LINE_AA)
    return out


def _unit(vector: np.ndarray, name: str) -> np.ndarray:
    norm = float(np.hypot(*vector)) if vector.shape == (2,) else 0.0
    if norm < 1e-12 or not math.isfinite(norm):
        raise InputError(f"{name} must be a non-zero finite (2,) vector, got {vector!r}")
    return vector / norm
