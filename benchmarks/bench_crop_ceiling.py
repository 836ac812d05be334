"""What a generator drawing an S px crop could score at the frame's own resolution at best.

    python benchmarks/bench_crop_ceiling.py [--data build/data/native512] [--sides 64 128 256]

For every test clip of a data set with full frames (`make eval-native`'s 512 px clips), the
talking truth itself is cut to each model-size crop (S x S, the pipeline's crop boxes),
scaled back to the frame and composited into the neutral input by the soft mouth region,
as the pipeline composites a generated mouth. Its mouth SSIM against the truth
(`core.evaluate.metrics.ssim`, the evaluation's region) is the ceiling of a perfect S px
generator; doing nothing (the input) and the truth composited at full resolution (the
matte's own limit) are printed beside it, per character family.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lipsync.core.dataset.reader import read_manifest
from lipsync.core.evaluate.metrics import ssim
from lipsync.core.evaluate.report import GROUP_DEFAULTS
from lipsync.core.pipeline.crop import crop, crop_boxes, uncrop
from lipsync.core.pipeline.region import composite, mouth_region_mask
from lipsync.core.preprocess.keypoints import KeypointTrack


def clip_ceilings(folder: Path, sides: list[int]) -> dict[str, float]:
    """Mean mouth SSIM over the clip's visible frames: 'do nothing', 'S px' per side,
    'full resolution'."""
    frames = np.load(folder / "frames.npz")
    given, truth = frames["neutral"], frames["talking"]
    track = KeypointTrack.load(folder / "keypoints_neutral.npz")
    points, visible = track.points[:, 0], track.visible[:, 0].all(axis=1)
    boxes = crop_boxes(points, visible)
    height, width = given.shape[1:3]
    scores: dict[str, list[float]] = {}
    for i in np.flatnonzero(visible):
        soft = mouth_region_mask(points[i], (height, width))              # (H, W)
        made = {"do nothing": given[i], "full resolution": truth[i]}
        for side in sides:
            made[f"{side} px"] = uncrop(crop(truth[i], boxes[i], side), boxes[i],
                                        (0, 0, width, height))                 # uint8
        for name, image in made.items():
            scores.setdefault(name, []).append(
                ssim(composite(given[i], image, soft), truth[i], soft > 0))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("build/data/native512"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--sides", type=int, nargs="+", default=[64, 128, 256])
    args = parser.parse_args()
    by_family: dict[str, list[dict[str, float]]] = {}
    for record in read_manifest(args.data):
        folder = args.data / record["clip_id"]
        if record["split"] != args.split or not (folder / "frames.npz").exists():
            continue
        family = record.get("family", GROUP_DEFAULTS["family"])
        by_family.setdefault(family, []).append(clip_ceilings(folder, args.sides))
    if not by_family:
        raise SystemExit(f"no {args.split} clip with full frames in {args.data}: "
                         "make eval-native renders them")
    names = list(next(iter(by_family.values()))[0])
    print("mouth SSIM against the truth, mean over clips  |  " + " | ".join(names))
    for family, rows in sorted(by_family.items()):
        means = " | ".join(f"{np.mean([r[n] for r in rows]):.3f}" for n in names)
        print(f"{family} ({len(rows)} clips)  |  {means}")


if __name__ == "__main__":
    main()
