"""ConsoleProgress: units named, no time left until it can be estimated, then from the
recent rate; one line per 10 % on a non-terminal stream."""

from __future__ import annotations

import io

import pytest

from lipsync.core.progress import ConsoleProgress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_no_estimate_at_the_first_step_then_from_the_recent_rate():
    clock, stream = Clock(), io.StringIO()
    bar = ConsoleProgress("demo", stream=stream, unit="frames", clock=clock)
    clock.now += 9.0                        # slow set-up before the first frame
    bar(1, 240, "frame 1")
    first = stream.getvalue()
    assert "1/240 frames" in first and "[0:09<?, ? frames/s]" in first
    for done in range(2, 25):               # then 2 frames per second
        clock.now += 0.5
        bar(done, 240, f"frame {done}")
    line = bar.line(24, 240, "frame 24", clock.now)
    assert "24/240 frames" in line and "2.0 frames/s" in line
    assert "<1:48," in line                 # 216 frames left at 2 frames/s: 108 s, not 9 s each
    assert line.startswith("demo:  10%|##  ")


def test_rate_follows_the_last_window():
    clock = Clock()
    bar = ConsoleProgress("x", stream=io.StringIO(), clock=clock, window=10.0)
    for done in range(1, 11):               # 1 step per second...
        clock.now += 1.0
        bar(done, 100)
    for done in range(11, 51):              # ...then 4 per second
        clock.now += 0.25
        bar(done, 100)
    assert bar.rate(50, clock.now) == pytest.approx(4.0, rel=0.05)
    assert "steps" in bar.line(50, 100, "", clock.now)   # the default unit


def test_plain_lines_every_ten_percent_on_a_non_terminal():
    clock, stream = Clock(), io.StringIO()
    bar = ConsoleProgress("sync", stream=stream, unit="frames", clock=clock)
    for done in range(0, 101):
        clock.now += 0.1
        bar(done, 100, "")
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1].startswith("sync: 100%") and "100/100 frames" in lines[-1]


def test_without_total_and_long_runs():
    clock, stream = Clock(), io.StringIO()
    bar = ConsoleProgress("train", stream=stream, unit="steps", clock=clock)
    clock.now += 4000.0
    assert bar.line(7, 0, "loss 0.1", clock.now).startswith("train: 7 steps [1:06:40, ")
