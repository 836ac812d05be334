"""`python -m lipsync learn`: learn a speaker's mouth from their own footage.

    python -m lipsync learn --frames DIR --audio FILE --fps F --out NAME.safetensors
                            [--keypoints FILE.npz] [--locator auto|faces|parser]
                            [--steps 300] [--minutes 15] [--device auto|cpu|cuda]
                            [--models DIR] [--verbose]

The clip should show the person speaking, facing the camera, for 10 s or more. The
generator learns this person's mouth for this audio in the setting in which it dubs the
shot (re-voiced from the shot's most closed mouth), then `sync --weights NAME.safetensors`
dubs them with other audio. The last 15 % of the frames are held out: the card beside
the weights gives the mouth region's SSIM there before and after learning.
Nothing is written until learning ends; an existing --out is never overwritten.
Exit codes: 0 done, 2 bad input, 3 cancelled (Ctrl+C).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .arguments import add_verbose_argument
from .exit_codes import run_command
from .sync import add_footage_arguments, load_characters
from ..pipeline.options import DEVICES

DEFAULT_STEPS = 300
DEFAULT_MINUTES = 15.0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `learn` sub-command; its handler is stored as ``func=run``."""
    parser = subparsers.add_parser(
        "learn", help="learn a speaker's mouth from their footage: --frames DIR --audio FILE "
                      "--fps F --out NAME.safetensors",
        description="Fine-tune the generator on a clip of one person speaking; sync "
                    "--weights NAME.safetensors then dubs them with other audio.")
    add_footage_arguments(parser)
    parser.add_argument("--out", type=Path, required=True,
                        help="the learnt weights file to write (NAME.safetensors; its card "
                             "goes beside it as NAME.md)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"learning steps (default {DEFAULT_STEPS})")
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES,
                        help=f"stop after this many minutes (default {DEFAULT_MINUTES:g})")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--models", type=Path, default=None,
                        help="folder with sync/generator/parser .safetensors to start from "
                             "(default: the shipped models/)")
    add_verbose_argument(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the process exit code (see `exit_codes`)."""
    return run_command("learn", lambda progress: _learn(args, progress),
                       lambda result: _print(result, args.out))


def _learn(args: argparse.Namespace, progress):
    from ..errors import InputError
    from ..learn.footage import collect_footage
    from ..learn.tune import learn
    from ..learn.weights import check_target, save_learnt
    from ..pipeline.models import LipSyncModels
    from ..preprocess.frames import list_frames

    check_target(args.out)
    if args.steps < 1 or args.minutes <= 0:
        raise InputError(f"--steps {args.steps} / --minutes {args.minutes}: give at least one "
                         "step and a positive time.")
    if len(args.audio) != 1:
        raise InputError("learn takes one speaker: give one --audio (and keypoints of one "
                         "character).")
    frames = list_frames(args.frames)
    models = LipSyncModels.load(args.device, args.models)
    (character,), _ = load_characters(args, frames, models, progress)
    footage = collect_footage(frames, character, args.fps, models, progress)
    generator, result = learn(models, footage, args.steps, args.minutes, progress)
    save_learnt(args.out, generator, result,
                {"frames": str(args.frames), "audio": str(args.audio[0]), "fps": args.fps,
                 "frames_used": len(footage), "base": str(args.models or "shipped models/")},
                footage.bank)
    return result


def _print(result, out: Path) -> None:
    print(f"learnt in {result.steps} steps ({result.seconds:.0f} s) from "
          f"{result.train_frames} frames: {out}")
    print(f"  held-out mouth SSIM {result.before['ssim']:.3f} -> {result.after['ssim']:.3f}, "
          f"L1 {result.before['l1']:.4f} -> {result.after['l1']:.4f} ({result.heldout_frames} "
          f"frames); card: {out.with_suffix('.md')}")
