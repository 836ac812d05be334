"""The `batch` sub-command of `python -m lipsync`: options, then load, plan and run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli.arguments import add_verbose_argument
from ..cli.exit_codes import CANCELLED, DONE, exit_code_of
from ..pipeline.options import DEVICES
from .execute import exit_code, format_summary, run_batch
from .spec import BatchError, load_batch
from .steps import format_plan, parse_shard, plan

INTERRUPTED = "interrupted: a re-run skips the complete results"


def add_parser(commands) -> None:
    """Add the `batch` sub-command to `commands` (argparse sub-parsers), ``func=run``."""
    parser = commands.add_parser(
        "batch", help="lip-sync a list of shots, one result per shot and language",
        description="Run the shots of a batch file (TOML); results go to OUT/<shot>/<language>. "
                    "A re-run skips complete results.")
    parser.add_argument("file", type=Path, help="batch file (.toml)")
    parser.add_argument("--shard", default=None, metavar="I/N",
                        help="run only shots k (from 0) with k %% N == I-1, for N machines")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--device", default=None, choices=DEVICES,
                        help="device for sync (default: the file's device, else auto)")
    parser.add_argument("--python", default=None,
                        help="Python that runs `-m lipsync` (default: this one)")
    add_verbose_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the process exit code (see the package docstring)."""
    return exit_code_of(lambda: _run(args), cancelled=INTERRUPTED)


def _run(args: argparse.Namespace) -> int:
    shard = parse_shard(args.shard) if args.shard is not None else None
    batch = load_batch(args.file)
    python = args.python or sys.executable
    if args.python is not None and not (Path(python).is_file() or _which(python)):
        raise BatchError(f"--python {python!r}: no such program")
    tasks = plan(batch, shard, python=python, device=args.device, verbose=args.verbose)
    where = f" (shard {shard})" if shard else ""
    if args.dry_run:
        print(f"plan{where}: {len(tasks)} step(s) into {batch.out}")
        print(format_plan(tasks))
        return DONE
    if not tasks:
        print(f"nothing to do{where}: this shard has no shots")
        return DONE
    outcomes = run_batch(tasks)
    print(format_summary(outcomes))
    code = exit_code(outcomes)
    if code == CANCELLED:
        print(INTERRUPTED, file=sys.stderr)
    return code


def _which(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None
