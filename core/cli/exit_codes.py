"""Exit codes of every command line, and the error handling that gives them.

0 done, 1 some of the work failed (a batch step, a data set clip; the rest is done),
2 bad input: any `LipSyncError` (the product's errors say what is wrong and what to do;
the message goes to stderr), 3 cancelled (`Cancelled` or Ctrl+C). `python -m lipsync`'s
commands and the headless Blender commands (`addon/headless.py`) all return through
`exit_code_of`; errors that are not the product's propagate (a traceback: a bug).
"""

from __future__ import annotations

import sys
from typing import Callable, TypeVar

from ..errors import Cancelled, LipSyncError
from ..progress import ConsoleProgress, ProgressFn

DONE, FAILED, BAD_INPUT, CANCELLED = 0, 1, 2, 3
NOTHING_WRITTEN = "cancelled; nothing was written"

T = TypeVar("T")


def exit_code_of(work: Callable[[], int], cancelled: str = NOTHING_WRITTEN) -> int:
    """`work()`'s exit code; BAD_INPUT with ``error: <message>`` on stderr for a
    `LipSyncError`, CANCELLED with `cancelled` on stderr for `Cancelled` or Ctrl+C."""
    try:
        return work()
    except (Cancelled, KeyboardInterrupt):
        print(cancelled, file=sys.stderr)
        return CANCELLED
    except LipSyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT


def run_command(label: str, work: Callable[[ProgressFn], T],
                report: Callable[[T], None]) -> int:
    """Run `work(progress)` under a console progress bar named `label`, then `report` its
    result; returns the exit code (`exit_code_of`; the bar is closed before a message)."""
    def run() -> int:
        bar = ConsoleProgress(label)
        try:
            result = work(bar)
        finally:
            bar.close()
        report(result)
        return DONE

    return exit_code_of(run)
