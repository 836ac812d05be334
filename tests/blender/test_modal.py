"""The modal driver shared by the job operators and the dependency installer, with stand-ins
for Blender's window manager: progress bar, timer, Esc, and clean-up on every exit path."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from lipsync.addon.ui.modal import ModalJobOperator
from lipsync.core.errors import InputError
from lipsync.core.progress import check_cancel

TIMER, ESC, MOUSE = (SimpleNamespace(type=t) for t in ("TIMER", "ESC", "MOUSEMOVE"))


class FakeJob:
    def __init__(self, fail_prepare=None, fail_compute=None, slow=False):
        self.fail_prepare, self.fail_compute, self.slow = fail_prepare, fail_compute, slow
        self.aborted = False

    def prepare(self):
        if self.fail_prepare:
            raise self.fail_prepare

    def main_thread_steps(self):
        for i in range(2):
            yield i + 1, 2, f"step {i + 1}"

    def compute(self, progress, should_cancel):
        for i in range(100 if self.slow else 1):
            check_cancel(should_cancel)
            progress(i + 1, 100, "computing")
            if self.slow:
                time.sleep(0.01)
        if self.fail_compute:
            raise self.fail_compute

    def finish(self):
        return "the result"

    def abort(self):
        self.aborted = True


class FakeWindowManager:
    def __init__(self):
        self.bar, self.timers, self.handlers = None, [], []
        self.area = SimpleNamespace(type="VIEW_3D", redraws=0)
        self.area.tag_redraw = lambda: setattr(self.area, "redraws", self.area.redraws + 1)
        self.windows = [SimpleNamespace(screen=SimpleNamespace(areas=[self.area]))]

    def progress_begin(self, low, high):
        self.bar = low

    def progress_update(self, value):
        self.bar = value

    def progress_end(self):
        self.bar = None

    def event_timer_add(self, step, window=None):
        self.timers.append(step)
        return step

    def event_timer_remove(self, timer):
        self.timers.remove(timer)

    def modal_handler_add(self, operator):
        self.handlers.append(operator)


class FakeOperator(ModalJobOperator):
    task = "Test"
    cancelled_message = "Test cancelled"

    def __init__(self, job):
        self.job, self.reports, self.results = job, [], []
        self.state = SimpleNamespace(running=False, progress=0.0, message="")

    def make_job(self, context):
        return self.job

    def progress_state(self, context):
        return self.state

    def report_result(self, result):
        self.results.append(result)
        return {"FINISHED"}

    def report(self, kind, message):
        self.reports.append((set(kind).pop(), message))


@pytest.fixture
def context():
    return SimpleNamespace(window_manager=FakeWindowManager(), window=None)


def _run(op, context, event_at=None, limit=3000):
    """Send timer events (and `event_at(tick)` when it gives one) until the modal ends."""
    for tick in range(limit):
        result = op.modal(context, (event_at and event_at(tick)) or TIMER)
        if result != {"RUNNING_MODAL"}:
            return result
        time.sleep(0.002)
    raise AssertionError("the modal never ended")


def _cleaned_up(op, context):
    wm = context.window_manager
    return not wm.timers and wm.bar is None and not op.state.running and op.state.message == ""


def test_runs_to_the_result_with_progress(context):
    op = FakeOperator(FakeJob())
    assert op.invoke(context, None) == {"RUNNING_MODAL"}
    wm = context.window_manager
    assert op.state.running and wm.timers == [op.timer_step] and wm.handlers == [op]
    assert op.modal(context, MOUSE) == {"PASS_THROUGH"}
    assert _run(op, context) == {"FINISHED"}
    assert op.results == ["the result"] and op.state.progress == 1.0
    assert _cleaned_up(op, context) and wm.area.redraws > 0


def test_bad_input_is_reported_before_anything_starts(context):
    op = FakeOperator(FakeJob(fail_prepare=InputError("no camera")))
    assert op.invoke(context, None) == {"CANCELLED"}
    assert op.reports == [("ERROR", "no camera")] and not context.window_manager.timers


def test_esc_cancels_and_cleans_up(context):
    job = FakeJob(slow=True)
    op = FakeOperator(job)
    op.invoke(context, None)
    assert _run(op, context, event_at=lambda tick: ESC if tick == 5 else None) == {"CANCELLED"}
    assert op.reports == [("WARNING", "Test cancelled")] and job.aborted
    assert _cleaned_up(op, context) and op.results == []


def test_an_error_of_the_product_is_reported(context):
    op = FakeOperator(FakeJob(fail_compute=InputError("silent audio")))
    op.invoke(context, None)
    assert _run(op, context) == {"CANCELLED"}
    assert op.reports == [("ERROR", "silent audio")] and _cleaned_up(op, context)


def test_an_unexpected_error_is_reported_and_raised(context):
    op = FakeOperator(FakeJob(fail_compute=ZeroDivisionError("boom")))
    op.invoke(context, None)
    with pytest.raises(ZeroDivisionError):
        _run(op, context)
    assert op.reports[0][1].startswith("Test failed unexpectedly: ZeroDivisionError")
    assert _cleaned_up(op, context)


def test_blender_closing_the_operator_stops_the_job(context):
    job = FakeJob(slow=True)
    op = FakeOperator(job)
    op.invoke(context, None)
    for _ in range(4):
        op.modal(context, TIMER)           # main-thread steps done, the worker started
    op.cancel(context)
    assert job.aborted and _cleaned_up(op, context)
