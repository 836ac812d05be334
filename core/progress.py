"""Progress and cancel callbacks for long work, and a tqdm-style console bar.

Long functions in `core` take `progress(done, total, message)` and
`should_cancel() -> bool`; they call `check_cancel` between units of work.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
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

    Usage: ``bar = ConsoleProgress("sync", unit="frames"); fn(progress=bar); bar.close()``.
    Shows ``label: 42%|#####    | 50/120 frames [0:12<0:17, 4.2 frames/s] message``; the
    time left and the rate appear once `settle` seconds have passed and at least one unit
    is done, estimated from the last `window` seconds of progress. Redraws at most every
    `min_interval` seconds; on a non-terminal stream it prints a plain line every 10 % so
    logs stay readable. Without `stream` it writes to whatever `sys.stderr` is at the time.
    `clock` returns seconds (tests pass a fake one).
    """

    def __init__(self, label: str, stream: TextIO | None = None, min_interval: float = 0.1,
                 unit: str = "steps", settle: float = 2.0, window: float = 30.0,
                 clock: Callable[[], float] = time.perf_counter):
        self.label, self.unit = label, unit
        self._stream = stream
        self.min_interval, self.settle, self.window = min_interval, settle, window
        self._clock = clock
        self._start = clock()
        self._last_draw = -math.inf
        self._last_decile = -1
        self._recent: deque[tuple[float, int]] = deque()   # (time s, done) within `window`
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = self._clock()
        self._recent.append((now, done))
        while len(self._recent) > 2 and now - self._recent[1][0] >= self.window:
            self._recent.popleft()
        finished = total > 0 and done >= total
        stream = self.stream
        if self._tty:
            if not finished and now - self._last_draw < self.min_interval:
                return
            self._last_draw = now
            stream.write("\r" + self.line(done, total, message, now))
            stream.flush()
        else:
            decile = int(10 * done / total) if total > 0 else 0
            if decile != self._last_decile or finished:
                self._last_decile = decile
                stream.write(self.line(done, total, message, now) + "\n")
                stream.flush()

    def rate(self, done: int, now: float) -> float | None:
        """Units per second over the recent window; None until there is enough to estimate."""
        then, done_then = self._recent[0] if self._recent else (self._start, 0)
        if done <= 0 or now - self._start < self.settle or now <= then or done <= done_then:
            return None
        return (done - done_then) / (now - then)

    def line(self, done: int, total: int, message: str, now: float) -> str:
        """The bar's text at time `now` (seconds of `clock`)."""
        elapsed = _clock_text(now - self._start)
        rate = self.rate(done, now)
        speed = f"{rate:.1f} {self.unit}/s" if rate is not None else f"? {self.unit}/s"
        if total > 0:
            frac = min(max(done / total, 0.0), 1.0)
            left = _clock_text(max(total - done, 0) / rate) if rate is not None else "?"
            return (f"{self.label}: {frac * 100:3.0f}%|{'#' * int(frac * 24):<24}| {done}/{total} "
                    f"{self.unit} [{elapsed}<{left}, {speed}] {message}")
        return f"{self.label}: {done} {self.unit} [{elapsed}, {speed}] {message}"

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock_text(seconds: float) -> str:
    """Seconds as M:SS, or H:MM:SS from an hour on."""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
