"""Drives a job from a modal operator: bpy work one step per timer tick on the main thread,
the core work on a worker thread, progress through a queue, cancel on Esc.

Any job with this shape can be driven (`PreprocessJob`, `LipSyncJob`, the dependency
installer's `InstallJob`); `modal.ModalJobOperator` ticks it from an operator:

- ``prepare()``: checks the inputs on the main thread (raises InputError before writing);
- ``main_thread_steps()``: a generator of ``(done, total, message)``, one bpy step each
  (closed early on failure, so its clean-up runs on the main thread);
- ``compute(progress, should_cancel)``: the pure work, run on a worker thread;
- ``finish()``: back on the main thread, returns the result (strips, report);
- ``abort()``: removes everything the run wrote;
- optional ``main_share`` (0..1): the share of the progress bar the main-thread steps
  take (default 0.5).
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, Protocol

from ...core.errors import Cancelled
from ...core.progress import CancelFn, ProgressFn


class Job(Protocol):
    def prepare(self) -> None: ...

    def main_thread_steps(self) -> Iterator[tuple[int, int, str]]: ...

    def compute(self, progress: ProgressFn, should_cancel: CancelFn) -> None: ...

    def finish(self) -> Any: ...

    def abort(self) -> None: ...


class JobRunner:
    """State machine around a job; call `tick()` from the modal timer.

    `tick()` returns one of 'RUNNING', 'DONE' (see `result`) or 'FAILED' (see `error`);
    `progress` (0..1) and `message` describe where the job is. Only `tick()`, `start()`,
    `stop()` and the job's main-thread phases touch bpy, all on the caller's (main) thread.
    """

    def __init__(self, job: Job):
        self.job = job
        self.share = float(getattr(job, "main_share", 0.5))
        self.progress = 0.0
        self.message = "starting"
        self.result: Any = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._steps = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Check the inputs (raises InputError at once) and begin the main-thread phase."""
        self.job.prepare()
        self._steps = self.job.main_thread_steps()

    def cancel(self) -> None:
        """Ask the job to stop; the next `tick()` reports FAILED with `Cancelled`."""
        self._cancel.set()

    def stop(self) -> None:
        """Cancel and wait: the worker is joined and the run folder removed."""
        self._fail(Cancelled("cancelled by the user"))

    def _work(self) -> None:
        share = self.share

        def progress(done: int, total: int, message: str = "") -> None:
            fraction = done / total if total else 1.0
            self._events.put(("progress", share + (1.0 - share) * fraction, message))

        try:
            self.job.compute(progress, self._cancel.is_set)
            self._events.put(("computed", None, ""))
        except BaseException as exc:  # handed to the main thread, which reports it
            self._events.put(("error", exc, ""))

    def tick(self) -> str:
        try:
            if self._thread is None:
                return self._main_step()
            return self._drain()
        except BaseException as exc:
            return self._fail(exc)

    def _main_step(self) -> str:
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")
        step = next(self._steps, None)
        if step is not None:
            done, total, self.message = step
            self.progress = self.share * done / total if total else self.share
            return "RUNNING"
        self._thread = threading.Thread(target=self._work, name="lipsync-compute", daemon=True)
        self._thread.start()
        return "RUNNING"

    def _drain(self) -> str:
        while True:
            try:
                kind, value, message = self._events.get_nowait()
            except queue.Empty:
                return "RUNNING"
            if kind == "progress":
                self.progress, self.message = value, message
            elif kind == "error":
                return self._fail(value)
            else:
                self.result = self.job.finish()
                self.progress, self.message = 1.0, "done"
                return "DONE"

    def _fail(self, exc: BaseException) -> str:
        if self._thread is not None and self._thread.is_alive():
            self._cancel.set()
            self._thread.join()
        if self._steps is not None:
            self._steps.close()      # the job's main-thread clean-up runs now, here
        self.job.abort()
        self.error = exc
        return "FAILED"
