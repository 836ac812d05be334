"""Blender's own console lines kept off the console while it renders.

Each render prints ``Saved: ...`` and ``Time: ...``, each mp4 frame ``Video append frame
N``; Blender writes them from C straight to the process's file descriptors 1 and 2, where
Python's `sys.stdout`/`sys.stderr` cannot filter them. `quiet_blender()` points descriptors
1 and 2 at a temporary file for the duration and gives Python its own streams on copies of
the original descriptors, so progress bars, logging and `print` (from any thread) stay
visible. With the ``lipsync`` logger at DEBUG (``--verbose``), or in Blender's interface
(not background), it changes nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator, TextIO

import bpy

from ...core.cli.arguments import LOGGER

SHOWN_ON_ERROR = 40
"""Lines of Blender's captured output shown when the quiet block raises (they may say why)."""

_lock = threading.Lock()
_depth = 0      # nested quiet blocks: only the outermost one redirects


@functools.cache
def _c_runtime():
    """The C library whose stdio buffers Blender's C output passes through, or None."""
    name = "ucrtbase" if sys.platform == "win32" else ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def _flush_all() -> None:
    """Flush Python's and C's buffered output, so nothing lands on the wrong side of a swap."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    libc = _c_runtime()
    if libc is not None:
        libc.fflush(None)


class _Console:
    """A text stream on a copy of descriptor `fd` (line-buffered, encoded like `after`);
    once closed it writes to `after`, so a thread still holding it never hits a closed file."""

    def __init__(self, fd: int, after: TextIO):
        self._after = after
        self._file: TextIO | None = open(
            os.dup(fd), "w", buffering=1, encoding=getattr(after, "encoding", None) or "utf-8",
            errors=getattr(after, "errors", None) or "backslashreplace")
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return (self._file or self._after).write(text)

    def flush(self) -> None:
        with self._lock:
            (self._file or self._after).flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __getattr__(self, name: str):  # isatty, encoding, fileno...
        return getattr(self._file or self._after, name)


def _log_handlers() -> list[logging.StreamHandler]:
    loggers = (logging.getLogger(), logging.getLogger(LOGGER))
    return [h for logger in loggers for h in logger.handlers if isinstance(h, logging.StreamHandler)]


@contextmanager
def quiet_blender() -> Iterator[None]:
    """Keep Blender's C-level output off descriptors 1 and 2 for the duration of the block.

    Python's own output goes on to the console through `sys.stdout`/`sys.stderr`, which
    point at copies of the original descriptors meanwhile (and logging handlers that wrote
    to the old streams write to the new ones). Everything is restored on every exit path;
    when the block raises, the last `SHOWN_ON_ERROR` lines Blender wrote go to stderr.
    Nested blocks redirect once. A no-op in Blender's interface or when the ``lipsync``
    logger is enabled for DEBUG.
    """
    global _depth
    if not bpy.app.background or logging.getLogger(LOGGER).isEnabledFor(logging.DEBUG):
        yield
        return
    with _lock:
        _depth += 1
        outermost = _depth == 1
    if not outermost:
        try:
            yield
        finally:
            with _lock:
                _depth -= 1
        return

    _flush_all()
    old_out, old_err = sys.stdout, sys.stderr
    new_out, new_err = _Console(1, old_out), _Console(2, old_err)
    saved = os.dup(1), os.dup(2)
    swapped = [(h, h.stream) for h in _log_handlers() if h.stream in (old_out, old_err)]
    capture = tempfile.TemporaryFile()
    failed = False
    try:
        sys.stdout, sys.stderr = new_out, new_err
        for handler, stream in swapped:
            handler.setStream(new_err if stream is old_err else new_out)
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        yield
    except BaseException:
        failed = True
        raise
    finally:
        _flush_all()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        for handler, stream in swapped:
            handler.setStream(stream)
        sys.stdout, sys.stderr = old_out, old_err
        new_out.close()
        new_err.close()
        if failed:
            capture.seek(0)
            lines = capture.read().decode("utf-8", "replace").splitlines()[-SHOWN_ON_ERROR:]
            if lines:
                print("\n".join(["Blender's output before the error:", *lines]), file=sys.stderr)
        capture.close()
        with _lock:
            _depth -= 1
