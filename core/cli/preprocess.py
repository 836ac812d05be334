"""`python -m lipsync preprocess`: mouth blur, gradient and keypoint passes of a frame folder.

    python -m lipsync preprocess --frames DIR --out DIR [--keypoints FILE.npz]
                                 [--fusion-weight W] [--overwrite] [--verbose]

Exit codes: 0 done, 2 bad input (message on stderr), 3 cancelled (Ctrl+C).
Heavy imports (numpy, OpenCV) happen when the command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .arguments import add_verbose_argument
from .exit_codes import run_command


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `preprocess` sub-command; its handler is stored as ``func=run``."""
    parser = subparsers.add_parser(
        "preprocess", help="write mouth blur, gradient and keypoint passes of a frame folder",
        description="Mouth-feature preprocessing: for every frame of --frames write "
                    "OUT/blur, OUT/gradient and OUT/keypoints PNGs with the same file stems.")
    parser.add_argument("--frames", type=Path, required=True, help="folder of frame images")
    parser.add_argument("--out", type=Path, required=True, help="output folder (must be empty or new)")
    parser.add_argument("--keypoints", type=Path, default=None,
                        help="mouth keypoint track (.npz from KeypointTrack.save); "
                             "without it each frame is treated as one face")
    parser.add_argument("--fusion-weight", type=float, default=None, metavar="W",
                        help="weight of the HSI path in the fused blur, in (0, 1); default 0.5")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    add_verbose_argument(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the process exit code (see `exit_codes`)."""
    return run_command("preprocess", lambda progress: _preprocess(args, progress),
                       lambda report: _print_report(report, args.out))


def _preprocess(args: argparse.Namespace, progress):
    from ..preprocess.config import PreprocessConfig
    from ..preprocess.frames import list_frames
    from ..preprocess.keypoints import KeypointTrack
    from ..preprocess.sequence import preprocess_sequence

    config = PreprocessConfig() if args.fusion_weight is None else PreprocessConfig(
        fusion_weight=args.fusion_weight)
    frames = list_frames(args.frames)
    track = KeypointTrack.load(args.keypoints) if args.keypoints is not None else None
    return preprocess_sequence(frames, args.out, config, track=track, progress=progress,
                               overwrite=args.overwrite)


def _print_report(report, out: Path) -> None:
    print(f"preprocessed {report.frame_count} frames in {report.seconds:.1f} s "
          f"({report.frames_per_second:.1f} frames/s) into {out}")
    for character, hidden in report.passed_through.items():
        print(f"character {character}: mouth not visible on {len(hidden)} frames "
              f"(first {list(hidden[:5])}), passed through unchanged")
