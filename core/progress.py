"""Progress and cancel callbacks for long work, and a tqdm-style console bar.

Long functions in `core` take `progress(done, total, message)` and
`should_cancel() -> bool`; they call `check_cancel` between units of work.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from .errors import Cancelled

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


def no_progress(done: int, total: int, message: str = "") -> None:
    """A progress callback that ignores everything."""


def never_cancel() -> bool:
    """A cancel callback that never cancels."""
    return False


def check_cancel(should_cancel: CancelFn) -> None:
    """Raise `Cancelled` when `should_cancel()` is true."""
    if should_cancel():
        raise Cancelled("cancelled by the user")


class ConsoleProgress:
    """A single-line progress bar on a text stream (stderr by default).

    Usage: ``bar = ConsoleProgress("preprocess"); fn(progress=bar); bar.close()``.
    Redraws at most every `min_interval` seconds; on a non-terminal stream it
    prints a plain line every 10 % so logs stay readable.
    """

    def __init__(self, label: str, stream: TextIO | None = None, min_interval: float = 0.1):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval = min_interval
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._last_decile = -1
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.perf_counter()
        finished = total > 0 and done >= total
        if self._tty:
            if not finished and now - self._last_draw < self.min_interval:
                return
            self._last_draw = now
            self.stream.write("\r" + self._line(done, total, message, now))
            self.stream.flush()
        else:
            decile = int(10 * done / total) if total > 0 else 0
            if decile != self._last_decile or finished:
                self._last_decile = decile
                self.stream.write(self._line(done, total, message, now) + "\n")
                self.stream.flush()

    def _line(self, done: int, total: int, message: str, now: float) -> str:
        elapsed = now - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        if total > 0:
            frac = min(max(done / total, 0.0), 1.0)
            bar = "#" * int(frac * 24)
            eta = (total - done) / rate if rate > 0 else 0.0
            return (f"{self.label}: {frac * 100:3.0f}%|{bar:<24}| {done}/{total} "
                    f"[{elapsed:5.1f}s<{eta:5.1f}s, {rate:5.1f}/s] {message}")
        return f"{self.label}: {done} [{elapsed:5.1f}s] {message}"

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()
