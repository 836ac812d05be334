"""Benchmark of the data factory: labelled training frames per minute, per family and engine.

    python benchmarks/bench_factory.py [--clips 8] [--workers 2] [--max-frames 60]
        [--families cartoon,anime,creature,realistic] [--engines BLENDER_WORKBENCH,CYCLES]

A "labelled training frame" is one frame of a clip with its neutral, talking (and, for
dubbed clips, dub) renders, its part labels and its keypoints. Prints the machine, then for
each character family and engine the wall time and frames per minute with the given number
of workers, and the projected time for 10,000 frames.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from lipsync.addon.factory.clip import ClipOptions
from lipsync.addon.factory.dataset import make_dataset
from lipsync.core.dataset.plan import FAMILIES, check_families
from lipsync.core.dataset.reader import read_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-frames", type=int, default=60)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help="comma-separated character families, each timed on its own")
    parser.add_argument("--engines", default="BLENDER_WORKBENCH,CYCLES",
                        help="comma-separated render engines")
    args = parser.parse_args(argv)
    families = check_families(tuple(args.families.split(",")))
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print(f"{args.clips} clips of at most {args.max_frames} frames, {args.workers} workers, "
          f"{args.resolution} px")
    for family in families:
        for engine in args.engines.split(","):
            options = ClipOptions(engine=engine, max_frames=args.max_frames,
                                  resolution=args.resolution)
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                result = make_dataset(Path(tmp), args.clips, seed=5, workers=args.workers,
                                      options=options, families=(family,))
                seconds = time.perf_counter() - start
                frames = sum(c["frames"] for c in read_manifest(Path(tmp)))
            per_minute = 60 * frames / seconds
            print(f"  {family:10s} {engine:18s} {frames:5d} frames in {seconds:6.1f} s = "
                  f"{per_minute:7.0f} labelled frames/min; 10,000 frames in "
                  f"{10_000 / per_minute:5.1f} min ({len(result['failed'])} failed)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
