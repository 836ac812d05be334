"""Drives a job from a modal operator: bpy work one frame per timer tick on the main
thread, the core work on a worker thread, progress through a queue, cancel on Esc."""

from __future__ import annotations

import queue
import threading

from ..core.errors import Cancelled
from .job import JobResult, PreprocessJob


class JobRunner:
    """State machine around a `PreprocessJob`; call `tick()` from the modal timer.

    `tick()` returns one of 'RUNNING', 'DONE' (see `result`) or 'FAILED' (see `error`);
    `progress` (0..1) and `message` describe where the job is.
    """

    def __init__(self, job: PreprocessJob):
        self.job = job
        self.progress = 0.0
        self.message = "starting"
        self.result: JobResult | None = None
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
        total = len(self.job.frames)
        try:
            self.job.compute(lambda d, t, m="": self._events.put(("progress", (total + d) / (2 * total), m)),
                             self._cancel.is_set)
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
            self.progress = done / (2 * total)
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
        self.job.abort()
        self.error = exc
        return "FAILED"
