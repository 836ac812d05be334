"""The modal side of a long operator: a `JobRunner` ticked from a window timer.

`ModalJobOperator.invoke` starts the job made by `make_job(context)`; `modal` ticks it,
mirrors its progress into a progress bar and a state object the UI draws, cancels on Esc
and reports how it ended; the timer is removed and the state reset on every exit path
(done, failed, cancelled, or Blender closing the operator). The job operators
(`operators.py`) and the dependency installer (`preferences.py`) share it.
"""

from __future__ import annotations

from ...core.errors import Cancelled, LipSyncError
from ..jobs.runner import JobRunner


class ModalJobOperator:
    """invoke / modal / cancel around a job made by `make_job(context)` (a mixin for
    `bpy.types.Operator`).

    A subclass gives `make_job`, `progress_state` (an object with ``running``,
    ``progress`` and ``message`` the UI draws) and `report_result` (reports the finished
    job's result, returns the operator's return set), and sets `task` (the work's name in
    "<task> failed unexpectedly") and `cancelled_message` (the warning after Esc).
    """

    timer_step = 0.05                       # seconds between ticks
    redraw_areas = frozenset({"VIEW_3D", "SEQUENCE_EDITOR"})

    _runner: JobRunner | None = None
    _timer = None

    def make_job(self, context):
        raise NotImplementedError

    def progress_state(self, context):
        raise NotImplementedError

    def report_result(self, result) -> set[str]:
        raise NotImplementedError

    def invoke(self, context, event):
        try:
            self._runner = JobRunner(self.make_job(context))
            self._runner.start()
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        state = self.progress_state(context)
        state.running, state.progress, state.message = True, 0.0, "starting"
        wm = context.window_manager
        wm.progress_begin(0.0, 1.0)
        self._timer = wm.event_timer_add(self.timer_step, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._runner.cancel()
        elif event.type != "TIMER":
            return {"PASS_THROUGH"}
        outcome = self._runner.tick()
        state = self.progress_state(context)
        state.progress, state.message = self._runner.progress, self._runner.message
        context.window_manager.progress_update(self._runner.progress)
        self._redraw(context)
        if outcome == "RUNNING":
            return {"RUNNING_MODAL"}
        self._stop(context)
        if outcome == "DONE":
            return self.report_result(self._runner.result)
        error = self._runner.error
        if isinstance(error, Cancelled):
            self.report({"WARNING"}, self.cancelled_message)
        elif isinstance(error, LipSyncError):
            self.report({"ERROR"}, str(error))
        else:
            self.report({"ERROR"}, f"{self.task} failed unexpectedly: {error!r} (see the console)")
            raise error
        return {"CANCELLED"}

    def cancel(self, context):
        """Blender is closing the operator (e.g. the file is closed): stop cleanly (the
        worker is joined and the job's files removed)."""
        if self._runner is not None:
            self._runner.stop()
        self._stop(context)

    def _stop(self, context) -> None:
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        state = self.progress_state(context)
        state.running, state.message = False, ""
        self._redraw(context)

    def _redraw(self, context) -> None:
        for window in context.window_manager.windows:
            screen = window.screen
            for area in screen.areas if screen else ():
                if area.type in self.redraw_areas:
                    area.tag_redraw()
