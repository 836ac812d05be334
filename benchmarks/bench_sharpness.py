"""How sharp the lip-synced mouth is at the frame's own resolution, against the input.

    python benchmarks/bench_sharpness.py [--models DIR ...] [--frames 50]
        [--shot CACHE_DIR ...] [--cache build/bench/shot_1080p]

For the 1920x1080 benchmark shot (benchmarks/shot_1080p.py, mouth ~155 px wide) and each
`--shot` folder in the layout the panel's cache writes (frames/, keypoints.npz with one
character, audio.wav: e.g. `demo/out/lipsync_cache/Scene/Head_001` after `make demo`),
runs `lipsync_frames` with each models folder (default: the shipped models/) and prints
the mouth region's sharpness (the variance of the luma's Laplacian inside the keypoint
mouth region, `core.evaluate.metrics.sharpness`) of

- the output, and of doing nothing (the input frames as they are),
- over the same region of the input's rest frame (its most closed mouth, what the
  character's mouth looks like as rendered): 1.0 = as sharp as the render.

Target (issue: native resolution): output over rest frame 0.8-1.2. Also frames/s of each
run (models loaded beforehand; the same process, so comparable with each other only).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shot_1080p  # noqa: E402
from machine import cpu_model, usable_cores  # noqa: E402

TARGET = (0.8, 1.2)


def cache_inputs(folder: Path, n_frames: int):
    """(frame paths, [CharacterTrack], fps) of a panel cache folder's first `n_frames`."""
    from lipsync.core.audio import FRONT_END, load_audio
    from lipsync.core.pipeline.character import CharacterTrack
    from lipsync.core.preprocess.keypoints import KeypointTrack

    paths = sorted((folder / "frames").glob("*.png"))[:n_frames]
    track = KeypointTrack.load(folder / "keypoints.npz")
    keep = slice(0, len(paths))
    track = KeypointTrack(points=track.points[keep], visible=track.visible[keep],
                          boxes=track.boxes[keep], frames=track.frames[keep])
    fps = _fps(folder)
    samples = load_audio(folder / "audio.wav", FRONT_END.sample_rate)
    return paths, [CharacterTrack(folder.name, track, samples)], fps


def _fps(folder: Path) -> float:
    import json

    run = folder / "run.json"
    return float(json.loads(run.read_text())["report"]["fps"]) if run.exists() else 25.0


def region_sharpness(paths: list[Path], points: np.ndarray, rest: np.ndarray | None = None
                     ) -> float:
    """Mean sharpness of the mouth regions (keypoints (F, 25, 2)) of the frames at `paths`,
    or of the one image `rest` (H, W, 3) uint8 at each frame's region."""
    from lipsync.core.evaluate.metrics import sharpness
    from lipsync.core.pipeline.region import mouth_region_mask

    values = []
    for path, kp in zip(paths, points):
        image = rest if rest is not None else cv2.cvtColor(cv2.imread(str(path)),
                                                           cv2.COLOR_BGR2RGB)
        mask = mouth_region_mask(kp, image.shape[:2])
        values.append(sharpness(image[None], mask[None]))
    return float(np.nanmean(values))


def measure(name: str, paths, characters, fps: float, models_dirs: list[Path]) -> None:
    from lipsync.core.pipeline.models import LipSyncModels
    from lipsync.core.pipeline.options import LipSyncOptions
    from lipsync.core.pipeline.run import PipelineOptions, lipsync_frames
    from lipsync.core.preprocess.keypoints import contour_heights

    track = characters[0].keypoints
    points = track.points[:, 0]
    rest_index = int(np.argmin(contour_heights(points)))
    rest = cv2.cvtColor(cv2.imread(str(paths[rest_index])), cv2.COLOR_BGR2RGB)
    rest_value = region_sharpness(paths, points, rest)
    as_is = region_sharpness(paths, points) / rest_value
    height, width = rest.shape[:2]
    mouth = float(np.median(np.linalg.norm(points[:, 6] - points[:, 0], axis=1)))
    print(f"\n{name}: {len(paths)} frames {width}x{height}, mouth {mouth:.0f} px wide, "
          f"rest frame {rest_index + 1}")
    print(f"  {'models':40s} {'sharpness / rest frame':>22s} {'frames/s':>9s}")
    print(f"  {'do nothing (the input)':40s} {as_is:22.2f} {'':>9s}")
    for folder in models_dirs:
        models = LipSyncModels.load("cpu", folder)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            begun = time.perf_counter()
            lipsync_frames(paths, characters, fps, out,
                           PipelineOptions(LipSyncOptions(device="cpu")), models=models)
            seconds = time.perf_counter() - begun
            made = [out / p.name for p in paths]
            ratio = region_sharpness(made, points) / rest_value
        label = f"{folder} ({models.generator.config.output})"
        flag = "ok" if TARGET[0] <= ratio <= TARGET[1] else "off target"
        print(f"  {label[-40:]:40s} {ratio:22.2f} {len(paths) / seconds:9.2f}  {flag}")


def main(argv: list[str] | None = None) -> int:
    from lipsync.core.models import MODELS_DIR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, nargs="+", default=[MODELS_DIR])
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--shot", type=Path, nargs="*", default=[],
                        help="panel cache folders (frames/, keypoints.npz, audio.wav)")
    parser.add_argument("--cache", type=Path, default=shot_1080p.DEFAULT_CACHE)
    args = parser.parse_args(argv)
    print(f"machine: {cpu_model()}, {usable_cores()} usable cores; target output / rest "
          f"frame {TARGET[0]}-{TARGET[1]}")
    shot_1080p.prepare(args.cache)
    measure("benchmark shot", *shot_1080p.shot_inputs(args.cache, args.frames), args.models)
    for folder in args.shot:
        measure(str(folder), *cache_inputs(folder, args.frames), args.models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
