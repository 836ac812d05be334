"""Training tests: a stage that records its steps (the tiny data set and the one-thread
fixture are in tests/conftest.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("bpy")


def recording_stage(stage_cls, outputs: list, calls: list | None = None, **kwargs):
    """A stage factory for `run_stage` that keeps each train_step result in `outputs` (and
    its step number in `calls`)."""
    def make(run, device):
        stage = stage_cls(run, device, **kwargs)
        step_fn = stage.train_step

        def train_step(rng, step):
            out = step_fn(rng, step)
            outputs.append(out)
            if calls is not None:
                calls.append(step)
            return out
        stage.train_step = train_step
        return stage
    return make


@pytest.fixture
def recording():
    """`recording_stage`, for the tests of each training stage."""
    return recording_stage
