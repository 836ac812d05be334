"""What a generator drawing an S px crop could score at the frame's own resolution at best.

    python benchmarks/bench_crop_ceiling.py [--data build/data/native512] [--sides 64 128 256]
                                            [--detail models/detail.safetensors]

For every test clip of a data set with full frames (`make eval-native`'s 512 px clips), the
talking truth itself is cut to each model-size crop (S x S, the pipeline's crop boxes),
scaled back to the frame and composited into the neutral input by the soft mouth region,
as the pipeline composites a generated mouth. Its mouth SSIM against the truth
(`core.evaluate.metrics.ssim`, the evaluation's region) is the ceiling of a perfect S px
generator; doing nothing (the input) and the truth composited at full resolution (the
matte's own limit) are printed beside it, per character family, with the mouth's sharpness
and motion over the truth's. With --detail, each S px crop is also given the detail
network's edges (`models.detail`) after its scaling, as the pipeline does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lipsync.core.dataset.reader import read_manifest
from lipsync.core.evaluate.metrics import motion, sharpness, ssim
from lipsync.core.evaluate.report import GROUP_DEFAULTS
from lipsync.core.models.detail import DetailNet, add_detail, load_detail
from lipsync.core.pipeline.crop import crop, crop_boxes, uncrop
from lipsync.core.pipeline.region import composite, mouth_region_mask
from lipsync.core.preprocess.keypoints import KeypointTrack


def clip_ceilings(folder: Path, sides: list[int],
                  detail: DetailNet | None = None) -> dict[str, dict[str, float]]:
    """For 'do nothing', 'S px' per side and 'full resolution': the mean mouth SSIM over
    the clip's visible frames, and the clip's sharpness and motion over the truth's
    (`core.evaluate.metrics`, as the evaluation reads them)."""
    frames = np.load(folder / "frames.npz")
    given, truth = frames["neutral"], frames["talking"]
    track = KeypointTrack.load(folder / "keypoints_neutral.npz")
    points, visible = track.points[:, 0], track.visible[:, 0].all(axis=1)
    boxes = crop_boxes(points, visible)
    height, width = given.shape[1:3]
    shown = np.flatnonzero(visible)
    softs = np.stack([mouth_region_mask(points[i], (height, width)) for i in shown])
    regions = softs > 0                                                       # (F, H, W)
    made: dict[str, list[np.ndarray]] = {}
    for i, soft in zip(shown, softs):
        images = {"do nothing": given[i], "full resolution": truth[i]}
        for side in sides:
            scaled = uncrop(crop(truth[i], boxes[i], side), boxes[i], (0, 0, width, height))
            images[f"{side} px"] = scaled                                       # uint8
            if detail is not None:
                sharp = add_detail(detail, scaled.astype(np.float32) / 255,
                                   float(boxes[i][2] - boxes[i][0]) / side)
                images[f"{side} px + detail"] = (sharp * 255 + 0.5).astype(np.uint8)
        for name, image in images.items():
            made.setdefault(name, []).append(composite(given[i], image, soft))
    truth_sharp = sharpness(truth[shown], regions)
    truth_motion = motion(truth[shown], given[shown], regions)
    return {name: {"ssim": float(np.mean([ssim(o, t, m) for o, t, m in
                                          zip(out, truth[shown], regions)])),
                   "sharpness": sharpness(np.stack(out), regions) / truth_sharp,
                   "motion": motion(np.stack(out), given[shown], regions) / truth_motion}
            for name, out in made.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("build/data/native512"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--sides", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--detail", type=Path, default=None,
                        help="a detail network's weights: also the S px crops with its edges")
    args = parser.parse_args()
    detail = load_detail(args.detail) if args.detail else None
    by_family: dict[str, list[dict[str, float]]] = {}
    for record in read_manifest(args.data):
        folder = args.data / record["clip_id"]
        if record["split"] != args.split or not (folder / "frames.npz").exists():
            continue
        family = record.get("family", GROUP_DEFAULTS["family"])
        by_family.setdefault(family, []).append(clip_ceilings(folder, args.sides, detail))
    if not by_family:
        raise SystemExit(f"no {args.split} clip with full frames in {args.data}: "
                         "make eval-native renders them")
    names = list(next(iter(by_family.values()))[0])
    for measure in ("ssim", "sharpness", "motion"):
        print(f"\nmouth {measure} (truth 1 for sharpness and motion), mean over clips  |  "
              + " | ".join(names))
        for family, rows in sorted(by_family.items()):
            means = " | ".join(f"{np.mean([r[n][measure] for r in rows]):.3f}" for n in names)
            print(f"{family} ({len(rows)} clips)  |  {means}")


if __name__ == "__main__":
    main()
