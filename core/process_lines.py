"""Follow a running subprocess line by line, and stop it when the caller gives up.

Used by `python -m lipsync batch` (each step's stderr into its log) and by the add-on's
dependency installer (pip's output into progress). No bpy here.
"""

from __future__ import annotations

import subprocess
import threading
from typing import IO, AnyStr, Callable


def _nothing() -> None:
    """A `check` that never stops the process."""


def follow_lines(proc: subprocess.Popen, pipe: IO[AnyStr], on_line: Callable[[AnyStr], None],
                 *, grace_s: float, join_s: float, check: Callable[[], None] = _nothing) -> int:
    """Hand each line of `pipe` (one of `proc`'s output pipes) to `on_line` until it
    closes; return `proc`'s exit code.

    on_line(line) runs on a reader thread, with the line as read (bytes or str, line end
    kept); an exception it raises is re-raised here. check() runs here at the start, then
    every 0.1 s until the pipe closes, and raises to stop early. On any exception (check's,
    on_line's, KeyboardInterrupt) the process is terminated, killed if still running after
    `grace_s` seconds, the reader thread is given `join_s` seconds to pass on what the
    dying process wrote, and the exception is re-raised.
    """
    failure: list[BaseException] = []

    def pump() -> None:
        try:
            for line in pipe:
                on_line(line)
        except BaseException as exc:  # handed to the calling thread
            failure.append(exc)

    reader = threading.Thread(target=pump, name="lipsync-subprocess-output", daemon=True)
    reader.start()
    try:
        check()
        while reader.is_alive():
            reader.join(timeout=0.1)
            check()
        if failure:
            raise failure[0]
        return proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=join_s)
        if not reader.is_alive():
            pipe.close()
