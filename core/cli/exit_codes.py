"""Exit codes of the plain-Python commands, and the error handling that gives them.

0 done, 2 bad input (the message on stderr says what to fix), 3 cancelled (`Cancelled`
or Ctrl+C): the codes of the headless Blender commands too (`addon/headless.py`), and
`batch` also exits 3 when interrupted.
"""

from __future__ import annotations

import sys
from typing import Callable, TypeVar

from ..errors import Cancelled, InputError
from ..progress import ConsoleProgress, ProgressFn

DONE, BAD_INPUT, CANCELLED = 0, 2, 3

T = TypeVar("T")


def run_command(label: str, work: Callable[[ProgressFn], T],
                report: Callable[[T], None]) -> int:
    """Run `work(progress)` under a console progress bar named `label`, then `report` its
    result; returns the exit code.

    An `InputError` prints ``error: <message>`` and a cancel ``cancelled; nothing was
    written`` to stderr (after the bar is closed); other errors propagate.
    """
    bar = ConsoleProgress(label)
    try:
        try:
            result = work(bar)
        finally:
            bar.close()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT
    except (Cancelled, KeyboardInterrupt):
        print("cancelled; nothing was written", file=sys.stderr)
        return CANCELLED
    report(result)
    return DONE
