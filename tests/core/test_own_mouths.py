"""The choice of a real speaker's own mouths for a new track (core/pipeline/own_mouths)."""

import numpy as np
import pytest

from lipsync.core.pipeline.own_mouths import (MIN_OPEN_SPAN, choose_sources, mouth_shapes,
                                              usable, wanted_shapes)
from lipsync.core.preprocess.keypoints import INNER, OUTER
from lipsync.core.speech.visemes import VISEMES

OPEN, CLOSED, ROUND = (VISEMES.index(v) for v in ("open", "closed", "round"))


def mouth(opening: float, width: float = 60.0, roll: float = 0.0,
          centre=(200.0, 300.0)) -> np.ndarray:
    """(25, 2) px: a mouth `width` px wide whose inner lips are `opening` widths apart,
    turned by `roll` radians."""
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)       # 0 = the left corner
    outer = np.stack([-np.cos(angles) * width / 2, np.sin(angles) * (0.2 + opening) * width / 2], 1)
    inner = np.stack([-np.cos(angles) * width / 3, np.sin(angles) * opening * width / 2], 1)
    points = np.zeros((25, 2))
    points[OUTER], points[INNER] = outer, inner
    turn = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    return points @ turn.T + np.asarray(centre)


def shot(openings, rolls=None) -> tuple[np.ndarray, np.ndarray]:
    """(points (F, 25, 2), face boxes (F, 4)) of a shot whose mouths open `openings`."""
    rolls = np.zeros(len(openings)) if rolls is None else rolls
    points = np.stack([mouth(o, roll=r) for o, r in zip(openings, rolls)])
    boxes = np.tile([100.0, 150.0, 300.0, 400.0], (len(openings), 1))
    return points, boxes


def sounds(openness) -> np.ndarray:
    """(F, 7) viseme weights: `open` by `openness`, the rest closed."""
    weights = np.zeros((len(openness), len(VISEMES)), np.float32)
    weights[:, OPEN] = openness
    weights[:, CLOSED] = 1 - np.asarray(openness)
    return weights


def test_shapes_measure_opening_width_and_roll():
    points, boxes = shot([0.0, 0.3], rolls=[0.0, 0.2])
    shapes = mouth_shapes(points, boxes)
    assert shapes[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert shapes[1, 0] == pytest.approx(0.3, abs=0.01)
    assert shapes[:, 1] == pytest.approx([0.3, 0.3], abs=1e-3)        # 60 px of 200 px
    assert shapes[1, 2] == pytest.approx(0.2, abs=1e-3)
    assert shapes[:, 3] == pytest.approx([0.0, 0.0], abs=1e-3)


def test_a_shot_that_never_opens_is_not_usable():
    still, boxes = shot(np.full(50, 0.05))
    speaking, _ = shot(0.3 * np.abs(np.sin(np.arange(50) / 3)))
    visible = np.ones(50, bool)
    assert not usable(mouth_shapes(still, boxes), visible)
    assert usable(mouth_shapes(speaking, boxes), visible)
    assert MIN_OPEN_SPAN > 0.05


def test_wanted_opening_follows_the_sound_within_the_shots_range():
    shapes = mouth_shapes(*shot(np.linspace(0.0, 0.4, 41)))
    wanted = wanted_shapes(sounds(np.linspace(0, 1, 30)), shapes)
    assert np.all(np.diff(wanted[:, 0]) > 0)
    assert wanted[0, 0] < 0.02 and 0.3 < wanted[-1, 0] <= 0.4
    rounded = sounds([0.5, 0.5])
    rounded[1, ROUND], rounded[1, OPEN] = 0.5, 0.0
    assert wanted_shapes(rounded, shapes)[1, 1] < wanted_shapes(rounded, shapes)[0, 1]


def test_sources_open_with_the_new_sound_not_the_old_mouth():
    rng = np.random.default_rng(0)
    old = 0.35 * np.abs(np.sin(np.arange(200) / 5.0))                 # the shot speaks
    new = np.clip(rng.random(200).repeat(1), 0, 1)
    new = np.convolve(new, np.ones(6) / 6, mode="same")               # another sentence
    points, boxes = shot(old)
    shapes = mouth_shapes(points, boxes)
    visible = np.ones(200, bool)
    visible[[10, 11]] = False
    sources = choose_sources(shapes, visible, sounds(new))
    assert (sources[[10, 11]] == -1).all() and (sources[visible] >= 0).all()
    shown = shapes[sources[visible], 0]
    assert np.corrcoef(shown, new[visible])[0, 1] > 0.8
    assert np.corrcoef(shown, old[visible])[0, 1] < 0.5
    runs = np.mean(np.diff(sources[visible]) == 1)
    assert runs > 0.3                  # consecutive source frames: the speaker's own motion


def test_sources_keep_the_heads_roll():
    openings = np.tile([0.0, 0.1, 0.2, 0.3], 20)
    rolls = np.repeat([0.0, 0.3], 40)                                 # two head poses
    shapes = mouth_shapes(*shot(openings, rolls))
    sources = choose_sources(shapes, np.ones(80, bool), sounds(np.tile([0.0, 1.0], 40)))
    assert np.all((sources < 40) == (np.arange(80) < 40))


def test_nothing_visible_gives_no_source():
    shapes = mouth_shapes(*shot(np.zeros(5)))
    assert (choose_sources(shapes, np.zeros(5, bool), sounds(np.zeros(5))) == -1).all()
