"""`python -m lipsync eval`: the pipeline's quality on a held-out split, in four scenarios.

    python -m lipsync eval --data DIR [--split test] [--out DIR] [--device auto|cpu|cuda]
                           [--models DIR] [--weights LEARNT.safetensors] [--judge WEIGHTS]
                           [--max-clips N]

Prints a table (one row per scenario: neutral, dubbed, dubbed_as_is, still) and writes eval.json,
report.md and a strip of frames per scenario to --out. Exit codes: 0 done, 2 bad input,
3 cancelled.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli.arguments import add_verbose_argument
from ..cli.exit_codes import run_command


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval", help="measure lip-sync quality on a held-out split (LSE-D/C, opening "
                     "correlation, PSNR/SSIM, flicker) in four scenarios")
    parser.add_argument("--data", type=Path, required=True, help="factory data set folder")
    parser.add_argument("--split", default="test", help="split to evaluate (default test)")
    parser.add_argument("--out", type=Path, default=Path("build/eval"),
                        help="folder for eval.json, report.md and the strips")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--models", type=Path, default=None,
                        help="folder with sync/generator/parser .safetensors (default: shipped)")
    parser.add_argument("--weights", type=Path, default=None, metavar="LEARNT",
                        help="a learnt generator (Learn Character, learn) in place of the "
                             "folder's, as sync --weights")
    parser.add_argument("--judge", type=Path, default=None,
                        help="sync expert weights that score LSE-D/C (default: the shipped "
                             "models/judge.safetensors, one the generator was not trained "
                             "against)")
    parser.add_argument("--max-clips", type=int, default=None, help="evaluate at most N clips")
    add_verbose_argument(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit code (`core/cli/exit_codes.py`)."""
    return run_command("eval", lambda bar: _evaluate(args, bar), lambda results: _print(
        results, args.out))


def _evaluate(args: argparse.Namespace, bar) -> dict:
    from ..pipeline.models import LipSyncModels
    from ..pipeline.options import LipSyncOptions
    from ..pipeline.run import PipelineOptions
    from .run import evaluate

    models = LipSyncModels.load(args.device, args.models, args.weights)
    return evaluate(args.data, args.split, args.out, models, args.max_clips,
                    PipelineOptions(LipSyncOptions(device=args.device, matte=True)),
                    progress=bar, judge=args.judge)


def _print(results: dict, out: Path) -> None:
    from .report import TARGETS, format_conditions, format_table

    print(f"split '{results['split']}', {results['clips']} clips; LSE judged by the "
          f"{results['judge']}; {format_conditions(results)}")
    print(format_table(results))
    print("targets: " + "; ".join(f"{k} {v}" for k, v in TARGETS.items()))
    print(f"written: {out / 'eval.json'}, {out / 'report.md'}")
