"""Tests of core/preprocess/sequence.py: one frame, and a streamed, atomic shot."""

import numpy as np
import pytest

from lipsync.core.errors import Cancelled, FrameError, InputError
from lipsync.core.preprocess.config import PreprocessConfig
from lipsync.core.preprocess.frames import read_frame, read_frame_raw, write_frame
from lipsync.core.preprocess.keypoints import KeypointTrack
from lipsync.core.preprocess.sequence import (FramePasses, PreprocessReport, preprocess_frame,
                                              preprocess_sequence)
from synthetic_faces import FaceSpec, synthetic_frame

CONFIG = PreprocessConfig()
SPECS = [FaceSpec((64, 64), size=128), FaceSpec((192, 64), size=128, skin=(96, 65, 52), lip=(100, 52, 58))]
FIRST = 10


def _shot(folder, n=5, hide=()):
    """n frames shot_0010.png... of two faces, and their track; `hide` = (frame index, character) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    frame, faces = synthetic_frame(128, 256, SPECS)
    paths = []
    for i in range(n):
        path = folder / f"shot_{FIRST + i:04d}.png"
        write_frame(path, frame)
        paths.append(path)
    points = np.stack([np.stack([f.keypoints for f in faces])] * n)          # (F, C, 25, 2)
    visible = np.ones((n, len(faces), 25), bool)
    for i, c in hide:
        visible[i, c] = False
    boxes = np.stack([np.array([f.box for f in faces], np.float32)] * n)    # (F, C, 4)
    track = KeypointTrack(points, visible, boxes, np.arange(FIRST, FIRST + n))
    return frame, faces, paths, track


def _leftovers(parent, name):
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{name}.")]


# -- preprocess_frame -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_preprocess_frame_shapes(dtype):
    frame, faces = synthetic_frame(128, 256, SPECS)
    if dtype == np.float32:
        frame = frame.astype(np.float32) / 255
    passes = preprocess_frame(frame, faces, CONFIG)
    assert isinstance(passes, FramePasses)
    assert passes.blur.shape == (128, 256, 3) and passes.blur.dtype == np.uint8
    assert passes.gradient.shape == (128, 256) and passes.gradient.dtype == np.float32
    assert 0 <= passes.gradient.min() and passes.gradient.max() <= 1
    assert passes.overlay.shape == (128, 256, 3) and passes.overlay.dtype == np.uint8


def test_preprocess_frame_without_faces_passes_through():
    frame, _ = synthetic_frame(128, 256, SPECS)
    passes = preprocess_frame(frame, [], CONFIG)
    np.testing.assert_array_equal(passes.blur, frame)
    np.testing.assert_array_equal(passes.overlay, frame)


def test_preprocess_frame_bad_input():
    with pytest.raises(InputError, match="frame"):
        preprocess_frame(np.zeros((8, 8, 3), np.int16), None, CONFIG)


# -- preprocess_sequence ------------------------------------------------------------------------


def test_sequence_streams_and_keeps_stems(tmp_path):
    frame, faces, paths, track = _shot(tmp_path / "frames")
    out = tmp_path / "out"
    seen = []

    def progress(done, total, message):
        # Streaming: by the time frame `done` is reported, exactly its passes and
        # those before it are on disk (in the temporary folder); nothing later.
        (tmp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
        assert sorted(f.name for f in (tmp / "blur").iterdir()) == [p.name for p in paths[:done]]
        seen.append((done, total, message))

    report = preprocess_sequence(paths, out, CONFIG, track=track, progress=progress)
    assert seen == [(i + 1, 5, p.stem) for i, p in enumerate(paths)]
    assert isinstance(report, PreprocessReport) and report.frame_count == 5
    assert report.blur_dir == out / "blur" and report.keypoints_dir == out / "keypoints"
    assert report.passed_through == {} and report.seconds > 0 and report.frames_per_second > 0
    for folder in ("blur", "gradient", "keypoints"):
        assert sorted(p.name for p in (out / folder).iterdir()) == [p.name for p in paths]
    grad = read_frame_raw(out / "gradient" / paths[0].name)
    assert grad.ndim == 2 and grad.dtype == np.uint8 and grad.max() > 0
    expected = preprocess_frame(frame, faces, CONFIG)
    np.testing.assert_array_equal(read_frame(out / "blur" / paths[0].name), expected.blur)
    assert _leftovers(tmp_path, "out") == []


def test_sequence_without_track(tmp_path):
    _, _, paths, _ = _shot(tmp_path / "frames", n=2)
    report = preprocess_sequence(paths, tmp_path / "out", CONFIG)
    assert report.frame_count == 2 and len(list(report.gradient_dir.iterdir())) == 2


def test_sequence_passes_through_hidden_mouths(tmp_path):
    frame, _, paths, track = _shot(tmp_path / "frames", n=4, hide=[(1, 1), (2, 0), (2, 1)])
    report = preprocess_sequence(paths, tmp_path / "out", CONFIG, track=track)
    assert report.passed_through == {0: (FIRST + 2,), 1: (FIRST + 1, FIRST + 2)}
    hidden_both = read_frame(report.blur_dir / paths[2].name)
    np.testing.assert_array_equal(hidden_both, frame)                 # nobody blurred
    one_hidden = read_frame(report.blur_dir / paths[1].name)
    assert (one_hidden[:, :128] != frame[:, :128]).any()              # character 0 blurred
    np.testing.assert_array_equal(one_hidden[:, 128:], frame[:, 128:])  # character 1 untouched


def test_cancel_after_two_frames_leaves_nothing(tmp_path):
    _, _, paths, track = _shot(tmp_path / "frames")
    out = tmp_path / "out"
    calls = []

    def should_cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        preprocess_sequence(paths, out, CONFIG, track=track, should_cancel=should_cancel)
    assert not out.exists() and _leftovers(tmp_path, "out") == []


def test_cancel_keeps_existing_output_untouched(tmp_path):
    _, _, paths, _ = _shot(tmp_path / "frames", n=3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous result")
    calls = []
    with pytest.raises(Cancelled):
        preprocess_sequence(paths, out, CONFIG, overwrite=True,
                            should_cancel=lambda: calls.append(1) or len(calls) > 2)
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and _leftovers(tmp_path, "out") == []


def test_error_midway_leaves_nothing(tmp_path):
    _, _, paths, _ = _shot(tmp_path / "frames", n=3)
    paths[2].write_bytes(b"broken")
    with pytest.raises(FrameError, match="shot_0012"):
        preprocess_sequence(paths, tmp_path / "out", CONFIG)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path, "out") == []


def test_refuses_non_empty_out_dir_unless_overwrite(tmp_path):
    _, _, paths, _ = _shot(tmp_path / "frames", n=2)
    out = tmp_path / "out"
    out.mkdir()
    preprocess_sequence(paths, out, CONFIG)                           # empty folder: fine
    with pytest.raises(InputError, match="not empty"):
        preprocess_sequence(paths, out, CONFIG)
    (out / "old.txt").write_text("x")
    report = preprocess_sequence(paths, out, CONFIG, overwrite=True)
    assert not (out / "old.txt").exists() and report.frame_count == 2
    assert _leftovers(tmp_path, "out") == []


def test_bad_inputs(tmp_path):
    _, _, paths, track = _shot(tmp_path / "frames", n=3)
    with pytest.raises(InputError, match="no frames"):
        preprocess_sequence([], tmp_path / "out", CONFIG)
    with pytest.raises(InputError, match="no keypoints for frames \\[99\\]"):
        preprocess_sequence(paths + [tmp_path / "x_0099.png"], tmp_path / "out", CONFIG, track=track)
    still = tmp_path / "frames" / "still.png"
    with pytest.raises(InputError, match="no trailing frame number"):
        preprocess_sequence([still], tmp_path / "out", CONFIG, track=track)
    with pytest.raises(InputError, match="share the name stems"):
        preprocess_sequence([paths[0], paths[0].with_suffix(".jpg")], tmp_path / "out", CONFIG)
    assert not (tmp_path / "out").exists()
