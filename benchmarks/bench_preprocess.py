"""Benchmark of the mouth-feature preprocessing (core/preprocess) on synthetic faces.

    python benchmarks/bench_preprocess.py [--quick]

Prints the machine, then for 256x256 and 1024x1024 frames (one synthetic face
filling the frame, mouth keypoints known; and the same frame without keypoints)
the frames/s of `preprocess_frame` and the mean milliseconds of each step.
The colour-space rows run on the whole face box at full resolution; the
pipeline itself analyses colours on a copy shrunk to `analysis_size` (the
path A/B rows include that shrink). Single process; OpenCV's thread count is
left at its default and reported.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Callable

import cv2
import numpy as np

from lipsync.core.preprocess.config import PreprocessConfig
from lipsync.core.preprocess.gradient import gradient_map
from lipsync.core.preprocess.hsi import lip_mask_from_hue, rgb_to_hue
from lipsync.core.preprocess.keypoints import draw_keypoints
from lipsync.core.preprocess.mouth_blur import mouth_blur_picture, mouth_region_hsi, mouth_region_skin
from lipsync.core.preprocess.sequence import preprocess_frame
from lipsync.core.preprocess.ycbcr import skin_mask_ellipse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from synthetic_faces import FaceSpec, synthetic_face  # noqa: E402  (the tests' synthetic faces)


def mean_ms(fn: Callable[[], object], repeats: int) -> float:
    """Mean wall-clock milliseconds of `fn()` over `repeats` calls, after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) * 1000.0 / repeats


def machine() -> str:
    return (f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs\n"
            f"python {sys.version.split()[0]}, numpy {np.__version__}, opencv {cv2.__version__}, "
            f"cv2.getNumThreads() = {cv2.getNumThreads()} (default)")


def bench(size: int, repeats: int, config: PreprocessConfig) -> None:
    frame, face = synthetic_face(FaceSpec((size / 2, size / 2), size=size))
    x0, y0, x1, y1 = (int(round(v)) for v in face.box)
    box = frame[y0:y1, x0:x1]
    blur = mouth_blur_picture(frame, [face], config)
    w = config.fusion_weight
    steps = {
        "hue, rgb_to_hue (face box)": lambda: rgb_to_hue(box, config.red_weight),
        "lip mask from hue (face box)": lambda: lip_mask_from_hue(box, config),
        "skin mask, ellipse (face box)": lambda: skin_mask_ellipse(box, config),
        "path A region (HSI)": lambda: mouth_region_hsi(frame, face, config),
        "path B region (skin)": lambda: mouth_region_skin(frame, face, config),
        "fusion (w*A + (1-w)*B, face box)": lambda: cv2.addWeighted(box, w, box, 1 - w, 0.0),
        "mouth blur picture (A + B + fusion)": lambda: mouth_blur_picture(frame, [face], config),
        "gradient map": lambda: gradient_map(blur, config),
        "keypoint overlay": lambda: draw_keypoints(frame, [face]),
    }
    print(f"\n{size}x{size}, one face, box {x1 - x0}x{y1 - y0} px, {repeats} repeats")
    for name, fn in steps.items():
        print(f"  {name:38s} {mean_ms(fn, repeats):8.3f} ms")
    for label, faces in (("with keypoints", [face]), ("without keypoints (faces=None)", None)):
        ms = mean_ms(lambda: preprocess_frame(frame, faces, config), repeats)
        print(f"  preprocess_frame {label:30s} {ms:8.3f} ms = {1000.0 / ms:7.1f} frames/s")


def bench_sequence(size: int, n_frames: int, config: PreprocessConfig) -> None:
    """`preprocess_sequence` end to end: PNG frames on disk -> three PNG passes on disk."""
    import tempfile
    from pathlib import Path

    from lipsync.core.preprocess.frames import write_frame
    from lipsync.core.preprocess.keypoints import KeypointTrack
    from lipsync.core.preprocess.sequence import preprocess_sequence

    frame, face = synthetic_face(FaceSpec((size / 2, size / 2), size=size))
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "in" / f"{i:04d}.png" for i in range(1, n_frames + 1)]
        paths[0].parent.mkdir()
        for path in paths:
            write_frame(path, frame)
        track = KeypointTrack(points=np.tile(face.keypoints, (n_frames, 1, 1, 1)),
                              visible=np.ones((n_frames, 1, 25), bool),
                              boxes=np.tile(np.float32(face.box), (n_frames, 1, 1)),
                              frames=np.arange(1, n_frames + 1))
        report = preprocess_sequence(paths, Path(tmp) / "out", config, track=track)
    print(f"  preprocess_sequence, {n_frames} PNG frames in, 3 PNG passes out: "
          f"{report.seconds:6.2f} s = {report.frames_per_second:7.1f} frames/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    print(machine())
    config = PreprocessConfig()
    bench(256, 50 if args.quick else 500, config)
    bench_sequence(256, 50 if args.quick else 200, config)
    bench(1024, 5 if args.quick else 40, config)
    bench_sequence(1024, 10 if args.quick else 40, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
