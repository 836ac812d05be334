"""Synthetic cartoon faces with exact mouth keypoints, for tests and benchmarks.

Conventions: (H, W, 3) uint8 RGB pictures; keypoints (x, y) px, origin top-left,
y down, in the 25-point topology of `lipsync.core.preprocess.keypoints`; angles in degrees,
counter-clockwise on screen (90: the top of the head points left).

A face is a skin ellipse with a hair cap over the forehead, two dark eyes and
elliptical lips (an outer lip ellipse and a dark inner opening) in the lower
part. The default colours are Monk Skin Tone 05 skin with a natural lip.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lipsync.core.preprocess.keypoints import CENTRE, INNER, N_MOUTH_KEYPOINTS, OUTER, Face
from lipsync.core.errors import InputError

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class FaceSpec:
    """Where and how to draw one synthetic face.

    Attributes:
        centre: (x, y) px of the face square's centre in the frame.
        size: side of the face square, px (>= 32).
        angle: rotation, degrees counter-clockwise.
        skin, lip, hair: RGB uint8 colours.
        mouth_open: inner opening height relative to the outer lip height, [0, 1].
    """

    centre: tuple[float, float]
    size: int = 256
    angle: float = 0.0
    skin: RGB = (215, 189, 150)
    lip: RGB = (186, 104, 102)
    hair: RGB = (20, 18, 18)
    mouth_open: float = 0.4


BACKGROUND: RGB = (60, 90, 130)


def synthetic_face(spec: FaceSpec) -> tuple[np.ndarray, Face]:
    """One face on a `spec.size` square of background colour.

    Returns:
        (size, size, 3) uint8 RGB picture and its `Face` (keypoints, all visible,
        box around the face and hair), both rotated by `spec.angle` about the
        square's centre.
    """
    s = spec.size
    image = np.empty((s, s, 3), dtype=np.uint8)
    image[:] = BACKGROUND

    def ellipse(cx: float, cy: float, ax: float, ay: float, colour: RGB) -> None:
        cv2.ellipse(image, (round(cx * s), round(cy * s)), (round(ax * s), round(ay * s)),
                    0, 0, 360, colour, -1, cv2.LINE_AA)

    ellipse(0.5, 0.40, 0.36, 0.34, spec.hair)
    ellipse(0.5, 0.55, 0.28, 0.38, spec.skin)
    ellipse(0.5, 0.24, 0.29, 0.12, spec.hair)
    for x in (0.38, 0.62):
        ellipse(x, 0.46, 0.05, 0.025, (30, 25, 25))
    mouth = np.array([0.5 * s, 0.74 * s])
    outer_axes = np.array([0.12 * s, 0.055 * s])
    inner_axes = np.array([0.085 * s, max(0.055 * spec.mouth_open, 0.004) * s])
    ellipse(0.5, 0.74, 0.12, 0.055, spec.lip)
    if spec.mouth_open > 0:
        ellipse(0.5, 0.74, 0.085, 0.055 * spec.mouth_open, (70, 25, 30))

    alpha = np.radians(np.arange(12) * 30.0)
    direction = np.stack([-np.cos(alpha), -np.sin(alpha)], axis=1)      # (12, 2), k=0 left, k=3 up
    points = np.empty((N_MOUTH_KEYPOINTS, 2), dtype=np.float64)
    points[OUTER] = mouth + direction * outer_axes
    points[INNER] = mouth + direction * inner_axes
    points[CENTRE] = mouth
    box = np.array([[0.14, 0.06], [0.86, 0.06], [0.14, 0.94], [0.86, 0.94]]) * s

    if spec.angle:
        m = cv2.getRotationMatrix2D(((s - 1) / 2.0, (s - 1) / 2.0), spec.angle, 1.0)
        image = cv2.warpAffine(image, m, (s, s), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=BACKGROUND)
        points = points @ m[:, :2].T + m[:, 2]
        box = box @ m[:, :2].T + m[:, 2]
    x0, y0 = np.clip(box.min(axis=0), 0, s - 1)
    x1, y1 = np.clip(box.max(axis=0), 1, s)
    return image, Face(points.astype(np.float32), None, (x0, y0, x1, y1))


def synthetic_frame(height: int, width: int, specs: list[FaceSpec]) -> tuple[np.ndarray, list[Face]]:
    """A frame of background colour with one synthetic face per spec.

    Each face square must fit inside the frame; later faces paint over earlier ones.

    Returns:
        (height, width, 3) uint8 RGB frame and one `Face` per spec, in frame px.
    """
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = BACKGROUND
    faces = []
    for spec in specs:
        image, face = synthetic_face(spec)
        left = int(round(spec.centre[0] - spec.size / 2))
        top = int(round(spec.centre[1] - spec.size / 2))
        if left < 0 or top < 0 or left + spec.size > width or top + spec.size > height:
            raise InputError(f"face square at {spec.centre} of size {spec.size} leaves the "
                             f"{width}x{height} frame")
        frame[top:top + spec.size, left:left + spec.size] = image
        x0, y0, x1, y1 = face.box
        faces.append(Face(face.keypoints + np.float32([left, top]), None,
                          (x0 + left, y0 + top, x1 + left, y1 + top)))
    return frame, faces
