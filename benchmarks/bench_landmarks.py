"""Benchmark of the landmark pass (core/locator/landmarks, core/locator/faces) at 1080p.

    python benchmarks/bench_landmarks.py [--frames N]

Prints the machine, then milliseconds per 1920x1080 frame of:
- following a face (`LandmarkModel.find` near the last face: detector on a small crop, 68
  landmarks, mouth texture, the 25-point mapping and face box), frames in memory;
- a whole-frame search (`find` with no last face: a new shot, or a face lost);
- `locate_faces` over PNG files (reading and decoding included), a moving face;
- `locate_faces` over a still (identical frames: each repeat takes the previous result).
The face is skimage.data.astronaut's (NASA, public domain), enlarged to a presenter's size
(about 240 px wide) and moved a few px each frame. The target is <= 30 ms a frame for the
first row. OpenCV's and dlib's threads are left at their defaults.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from lipsync.core.locator.faces import locate_faces
from lipsync.core.locator.landmarks import LandmarkModel, face_box, mouth_from_landmarks

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_model, usable_cores  # noqa: E402  (next to this file)

WIDTH, HEIGHT = 1920, 1080


def machine() -> str:
    import dlib

    cores = usable_cores()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"machine: {cpu_model()}, {cores} usable cores, load {load[0]:.2f}, "
            f"{platform.platform()}, python {sys.version.split()[0]}, dlib {dlib.__version__}, "
            f"opencv {cv2.__version__} ({cv2.getNumThreads()} threads)")


def shot(n: int) -> list[np.ndarray]:
    """n frames (1080, 1920, 3) uint8 RGB: a grey studio, the face drifting right 3 px a
    frame and bobbing 2 px."""
    from skimage import data

    face = cv2.resize(data.astronaut()[0:400, 60:460], (1000, 1000),
                      interpolation=cv2.INTER_CUBIC)          # face about 240 px wide
    frames = []
    for i in range(n):
        frame = np.full((HEIGHT, WIDTH, 3), 96, np.uint8)
        x, y = 400 + 3 * i, 40 + int(round(2 * np.sin(i / 3)))
        frame[y:y + 1000, x:x + 1000] = face
        frames.append(frame)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48, help="frames per run (default 48)")
    args = parser.parse_args()
    print(machine())
    model = LandmarkModel.load()
    frames = shot(args.frames)

    last, times = None, []
    for image in frames:
        start = time.perf_counter()
        face = model.find(image, last)
        mouth_from_landmarks(face.landmarks)
        face_box(face, image.shape)
        times.append(time.perf_counter() - start)
        last = face.rect
    follow = 1000 * float(np.mean(times[1:]))
    search = [time.perf_counter()]
    for image in frames[:8]:
        model.find(image)
    search = 1000 * (time.perf_counter() - search[0]) / 8

    with tempfile.TemporaryDirectory(prefix="bench-landmarks-") as tmp:
        paths, still = [], []
        for i, image in enumerate(frames):
            paths.append(Path(tmp) / f"{i:04d}.png")
            cv2.imwrite(str(paths[-1]), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            still.append(Path(tmp) / f"still_{i:04d}.png")
            cv2.imwrite(str(still[-1]), cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
        start = time.perf_counter()
        moving = locate_faces(paths, model)
        files = 1000 * (time.perf_counter() - start) / len(paths)
        start = time.perf_counter()
        locate_faces(still, model)
        repeats = 1000 * (time.perf_counter() - start) / len(still)
    width = float(np.median(moving.track.boxes[:, 0, 2] - moving.track.boxes[:, 0, 0]))
    print(f"{len(frames)} frames {WIDTH}x{HEIGHT}, face box {width:.0f} px wide, "
          f"{int(moving.track.visible[:, 0, 0].sum())} frames with a mouth")
    print(f"  following a face (frames in memory): {follow:6.1f} ms/frame  (target <= 30)")
    print(f"  whole-frame search:                  {search:6.1f} ms/frame")
    print(f"  locate_faces, PNG files, moving:     {files:6.1f} ms/frame")
    print(f"  locate_faces, PNG files, a still:    {repeats:6.1f} ms/frame")


if __name__ == "__main__":
    main()
