"""Mouth keypoints from the face parser (`core.pipeline.locate`): on the tiny data set's
held-out clip (real rendered frames, ground truth from the projected lip mesh), the same
frames moved into a larger non-square canvas, blank frames, and the keypoint reading on
made-up parser outputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lipsync.core.dataset.reader import read_manifest
from lipsync.core.errors import Cancelled, FrameError, InputError
from lipsync.core.models.parser import CLASS_NAMES, N_CLASSES
from lipsync.core.locator.locate import locate_mouths, smooth_points
from lipsync.core.locator.shape import mouth_keypoints
from lipsync.core.preprocess.keypoints import KeypointTrack

# Measured on the tiny set's held-out clip: centre 0.115 mouth widths from the true centre
# point (3 px) and 0.05 from the true corners' midpoint, width 17 % off, opening
# correlation 0.89 (points 15-21) and 0.85 (3-9). The brief asked for a centre within
# ~10 % of the width: the factory's centre point is the lip vertex nearest the vertices'
# centroid and wanders ~0.1 widths about the lips' middle (0.12 from the true lip labels'
# centroid over the training clips), so that bound holds for the corners' midpoint only.
CENTRE_ERROR = 0.15      # mean distance to the true centre (24), in true mouth widths
MIDDLE_ERROR = 0.10      # ... to the midpoint of the true corners (0, 6)
WIDTH_ERROR = 0.20       # mean |found width / true width - 1|
OPENING_CORRELATION = 0.7


@pytest.fixture(scope="module")
def parser():
    from lipsync.core.models import shipped
    from lipsync.core.models.parser import load_parser

    return load_parser(shipped("parser"))


@pytest.fixture(scope="module")
def clip(tiny_data):
    """The held-out clip's talking frames (F, 128, 128, 3) and their true keypoints."""
    record = next(r for r in read_manifest(tiny_data) if r["split"] == "test")
    folder = tiny_data / record["clip_id"]
    frames = np.load(folder / "frames.npz")["talking"]
    return {"frames": frames, "truth": KeypointTrack.load(folder / "keypoints_talking.npz")}


@pytest.fixture(scope="module")
def located(clip, parser, tmp_path_factory):
    paths = write_frames(tmp_path_factory.mktemp("talking"), clip["frames"])
    return locate_mouths(paths, parser)


def write_frames(folder: Path, frames) -> list[Path]:
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"{i + 1:04d}.png"
        assert cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def widths(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, 6] - points[:, 0], axis=1)


def test_track_shape_and_boxes(located, clip):
    n = len(clip["frames"])
    assert located.points.shape == (n, 1, 25, 2)
    assert located.visible.shape == (n, 1, 25)
    assert (located.frames == np.arange(n)).all()
    assert located.visible.all(), "the mouth is in view on every frame"
    boxes = located.boxes[:, 0]
    centre = located.points[:, 0, 24]
    assert ((boxes[:, 0] <= centre[:, 0]) & (centre[:, 0] <= boxes[:, 2])).all()
    assert ((boxes[:, 1] <= centre[:, 1]) & (centre[:, 1] <= boxes[:, 3])).all()


def test_matches_the_true_keypoints(located, clip):
    found, truth = located.points[:, 0], clip["truth"].points[:, 0]
    width = widths(truth)
    centre_error = np.linalg.norm(found[:, 24] - truth[:, 24], axis=1) / width
    assert centre_error.mean() < CENTRE_ERROR, centre_error
    middle = (truth[:, 0] + truth[:, 6]) / 2
    middle_error = np.linalg.norm((found[:, 0] + found[:, 6]) / 2 - middle, axis=1) / width
    assert middle_error.mean() < MIDDLE_ERROR, middle_error
    width_error = np.abs(widths(found) / width - 1)
    assert width_error.mean() < WIDTH_ERROR, width_error


def test_topology(located):
    """Corner 0 on the image left of corner 6, top (3) above bottom (9), the inner
    contour inside the outer one, the centre between the corners."""
    p = located.points[:, 0]
    assert (p[:, 0, 0] < p[:, 24, 0]).all() and (p[:, 24, 0] < p[:, 6, 0]).all()
    assert (p[:, 3, 1] < p[:, 24, 1]).all() and (p[:, 24, 1] < p[:, 9, 1]).all()
    assert (p[:, 15, 1] <= p[:, 21, 1]).all()
    outer = np.linalg.norm(p[:, :12] - p[:, 24:25], axis=2)
    inner = np.linalg.norm(p[:, 12:24] - p[:, 24:25], axis=2)
    assert (inner <= outer + 1e-3).all()


def test_opening_follows_the_truth(located, clip):
    truth = clip["truth"].points[:, 0]
    found = located.points[:, 0]
    for top, bottom in ((15, 21), (3, 9)):
        true_gap = np.linalg.norm(truth[:, top] - truth[:, bottom], axis=1)
        found_gap = np.linalg.norm(found[:, top] - found[:, bottom], axis=1)
        if true_gap.std() < 0.5:          # px: the truth hardly moves, nothing to follow
            continue
        assert np.corrcoef(true_gap, found_gap)[0, 1] > OPENING_CORRELATION, (top, bottom)


def test_same_mouth_in_a_larger_canvas(located, clip, parser, tmp_path):
    """The frames pasted at an offset into a 320x200 canvas: the search runs over other
    scales and places, the keypoints come out the same, moved by the offset."""
    frames = clip["frames"]
    border = np.concatenate([frames[0, 0], frames[0, -1], frames[0, :, 0], frames[0, :, -1]])
    canvas = np.empty((len(frames), 200, 320, 3), np.uint8)
    canvas[:] = np.median(border, axis=0).astype(np.uint8)
    dx, dy = 150, 40
    canvas[:, dy:dy + 128, dx:dx + 128] = frames
    moved = locate_mouths(write_frames(tmp_path, canvas), parser)
    assert moved.visible.all()
    shift = moved.points[:, 0] - np.array([dx, dy], np.float32) - located.points[:, 0]
    width = widths(located.points[:, 0])
    assert (np.linalg.norm(shift[:, 24], axis=1) / width).mean() < 0.05
    assert (np.abs(widths(moved.points[:, 0]) / width - 1)).mean() < 0.05


def test_no_mouth_on_blank_frames(parser, tmp_path):
    grey = np.full((3, 96, 160, 3), 128, np.uint8)
    track = locate_mouths(write_frames(tmp_path, grey), parser)
    assert not track.visible.any()
    assert track.points.shape == (3, 1, 25, 2)


def test_mouth_appears_later(clip, parser, tmp_path):
    """Blank frames first: invisible there, found once the face is in view."""
    frames = np.concatenate([np.full((2,) + clip["frames"].shape[1:], 128, np.uint8),
                             clip["frames"][:4]])
    track = locate_mouths(write_frames(tmp_path, frames), parser)
    visible = track.visible[:, 0].all(axis=1)
    assert not visible[:2].any() and visible[2:].all()


def test_progress_and_cancel(clip, parser, tmp_path):
    paths = write_frames(tmp_path, clip["frames"][:3])
    calls = []
    locate_mouths(paths, parser, progress=lambda done, total, msg: calls.append((done, total)))
    assert calls[-1] == (3, 3)
    with pytest.raises(Cancelled):
        locate_mouths(paths, parser, should_cancel=lambda: True)


def test_bad_input(clip, parser, tmp_path):
    with pytest.raises(InputError, match="empty"):
        locate_mouths([], parser)
    with pytest.raises(InputError, match="FaceParser"):
        locate_mouths([tmp_path / "a.png"], object())
    paths = write_frames(tmp_path, clip["frames"][:2])
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), np.full((80, 64, 3), 128, np.uint8))
    with pytest.raises(FrameError, match="one size"):
        locate_mouths(paths + [other], parser)
    with pytest.raises(FrameError):
        locate_mouths([tmp_path / "missing.png"], parser)


# -- reading keypoints off made-up parser outputs ---------------------------------------

def fake_probs(size: int = 64, gap: float = 0.0, tilt: float = 0.0) -> np.ndarray:
    """(12, S, S) probabilities of a crop cut like the factory's: skin, an elliptic mouth
    31 px wide (the visible lips) at the expected place, its upper half upper lip, lower
    half lower lip, an opening `gap` px high between them; turned by `tilt` degrees."""
    labels = np.full((size, size), CLASS_NAMES.index("skin"), np.uint8)
    cx, cy = size / 2, size / 2 + 0.15 * size
    ys, xs = np.indices((size, size)).astype(np.float64)
    t = np.radians(tilt)
    u = (xs - cx) * np.cos(t) - (ys - cy) * np.sin(t)          # along the mouth
    v = (xs - cx) * np.sin(t) + (ys - cy) * np.cos(t)          # down the face
    lips = (u / 15.5) ** 2 + (v / 6.0) ** 2 <= 1
    labels[lips & (v < 0)] = CLASS_NAMES.index("upper lip")
    labels[lips & (v >= 0)] = CLASS_NAMES.index("lower lip")
    if gap:
        opening = (u / 11) ** 2 + (v / (gap / 2)) ** 2 <= 1
        labels[lips & opening] = CLASS_NAMES.index("mouth interior")
    probs = np.full((N_CLASSES, size, size), 0.01, np.float32)
    probs[labels, ys.astype(int), xs.astype(int)] = 1.0 - 0.01 * (N_CLASSES - 1)
    return probs


def test_keypoints_of_a_closed_mouth():
    points, score = mouth_keypoints(fake_probs())
    assert points.shape == (25, 2) and points.dtype == np.float32
    assert 0.8 < score <= 1.0
    cx, cy = 32, 32 + 0.15 * 64
    np.testing.assert_allclose(points[24], (cx, cy), atol=0.6)
    width = points[6, 0] - points[0, 0]
    assert 0.79 * 31 * 0.9 < width < 0.79 * 31 * 1.1      # the factory's share of the lips
    assert abs(points[0, 1] - cy) < 0.6 and abs(points[6, 1] - cy) < 0.6
    assert points[3, 1] < cy < points[9, 1]
    gap = points[21, 1] - points[15, 1]
    assert 0.1 * width < gap < 0.25 * width                  # closed: the rim's own gap


def test_an_open_mouth_opens_the_inner_contour():
    closed = mouth_keypoints(fake_probs())[0]
    opened = mouth_keypoints(fake_probs(gap=8))[0]
    assert (opened[21, 1] - opened[15, 1]) > (closed[21, 1] - closed[15, 1]) + 5


def test_a_tilted_mouth_turns_its_axis():
    points = mouth_keypoints(fake_probs(tilt=20))[0]
    corner_line = points[6] - points[0]
    angle = np.degrees(np.arctan2(-corner_line[1], corner_line[0]))
    assert 12 < angle < 28


def test_no_keypoints_without_lips():
    probs = np.zeros((N_CLASSES, 64, 64), np.float32)
    probs[CLASS_NAMES.index("skin")] = 1.0
    assert mouth_keypoints(probs) is None
    with pytest.raises(InputError, match="12, S, S"):
        mouth_keypoints(np.zeros((3, 64, 64), np.float32))


def test_smoothing_stays_within_visible_runs():
    points = np.zeros((6, 25, 2), np.float32)
    points[:, :, 0] = np.array([0, 10, 0, 50, 60, 50])[:, None]
    visible = np.array([True, True, True, False, True, True])
    out = smooth_points(points, visible)
    assert out[1, 0, 0] == 0                      # median of 0, 10, 0
    assert out[2, 0, 0] == 0                      # run end: itself only
    assert out[3, 0, 0] == 50                     # invisible: untouched
    assert out[4, 0, 0] == 60 and out[5, 0, 0] == 50


def test_found_again_after_a_gap_and_a_move(clip, parser, tmp_path):
    """The face in view, then gone for two frames, then back 30 px to the right: the
    frames without it are invisible, the mouth is found again where it went."""
    frames = clip["frames"]
    canvas = np.full((8, 128, 192, 3), 128, np.uint8)
    canvas[:3, :, :128] = frames[:3]
    canvas[5:, :, 30:158] = frames[5:8]
    track = locate_mouths(write_frames(tmp_path, canvas), parser)
    visible = track.visible[:, 0].all(axis=1)
    assert visible.tolist() == [True] * 3 + [False] * 2 + [True] * 3
    alone = locate_mouths(write_frames(_mkdir(tmp_path / "alone"), frames[5:8]), parser)
    shift = track.points[5:, 0, 24] - alone.points[:, 0, 24]
    np.testing.assert_allclose(shift, np.tile([30.0, 0.0], (3, 1)), atol=1.5)


def test_auto_re_voicing_reads_located_keypoints_too(tiny_data, located, parser, tmp_path):
    """Without a keypoint file the parser's keypoints decide re-voicing: the talking
    render's lips move past SPEAKING_SPREAD, the neutral render's stay under half of it."""
    from lipsync.core.audio import AudioTiming
    from lipsync.core.pipeline.character import (SPEAKING_SPREAD, CharacterState,
                                                 CharacterTrack)
    from lipsync.core.pipeline.models import LipSyncModels

    record = next(r for r in read_manifest(tiny_data) if r["split"] == "test")
    neutral = np.load(tiny_data / record["clip_id"] / "frames.npz")["neutral"]
    still = locate_mouths(write_frames(tmp_path, neutral), parser)
    models = LipSyncModels.load("cpu")
    audio = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    states = {name: CharacterState(CharacterTrack(name, track, audio), track.n_frames,
                                   AudioTiming(fps=25.0), models)
              for name, track in (("talking", located), ("neutral", still))}
    assert states["talking"].speaking_spread() > SPEAKING_SPREAD and states["talking"].revoice
    assert states["neutral"].speaking_spread() < SPEAKING_SPREAD / 2
    assert not states["neutral"].revoice
