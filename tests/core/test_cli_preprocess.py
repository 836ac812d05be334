"""Tests of core/cli/preprocess.py: `python -m lipsync preprocess ...`."""

import argparse

import numpy as np

from lipsync.core.cli import preprocess as cli_preprocess
from lipsync.core.preprocess.frames import write_frame
from lipsync.core.preprocess.keypoints import KeypointTrack
from synthetic_faces import FaceSpec, synthetic_frame


def _parse(argv):
    parser = argparse.ArgumentParser(prog="lipsync")
    cli_preprocess.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def _frames(folder, n=3):
    folder.mkdir()
    frame, faces = synthetic_frame(128, 128, [FaceSpec((64, 64), size=128)])
    for i in range(n):
        write_frame(folder / f"{i + 1:04d}.png", frame)
    visible = np.ones((n, 1, 25), bool)
    visible[1] = False
    return KeypointTrack(np.stack([faces[0].keypoints[None]] * n), visible,
                         np.array([[faces[0].box]] * n, np.float32), np.arange(1, n + 1))


def test_parser_options(tmp_path):
    args = _parse(["preprocess", "--frames", "f", "--out", "o", "--fusion-weight", "0.25", "--overwrite"])
    assert args.func is cli_preprocess.run and args.fusion_weight == 0.25 and args.overwrite
    assert str(args.frames) == "f" and args.keypoints is None


def test_run_writes_passes(tmp_path, capsys):
    _frames(tmp_path / "frames")
    args = _parse(["preprocess", "--frames", str(tmp_path / "frames"), "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    written = sorted(p.name for p in (tmp_path / "out" / "blur").iterdir())
    assert written == ["0001.png", "0002.png", "0003.png"]
    assert "preprocessed 3 frames" in capsys.readouterr().out


def test_run_with_keypoints_reports_hidden_mouths(tmp_path, capsys):
    track = _frames(tmp_path / "frames")
    track.save(tmp_path / "track.npz")
    args = _parse(["preprocess", "--frames", str(tmp_path / "frames"), "--out", str(tmp_path / "out"),
                   "--keypoints", str(tmp_path / "track.npz"), "--fusion-weight", "0.7"])
    assert cli_preprocess.run(args) == 0
    assert "character 0: mouth not visible on 1 frames" in capsys.readouterr().out


def test_run_bad_input_exit_code_2(tmp_path, capsys):
    args = _parse(["preprocess", "--frames", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert cli_preprocess.run(args) == 2
    assert "does not exist" in capsys.readouterr().err

    _frames(tmp_path / "frames")
    args = _parse(["preprocess", "--frames", str(tmp_path / "frames"), "--out", str(tmp_path / "out"),
                   "--fusion-weight", "1.5"])
    assert cli_preprocess.run(args) == 2
    assert "fusion_weight" in capsys.readouterr().err

    args = _parse(["preprocess", "--frames", str(tmp_path / "frames"), "--out", str(tmp_path / "out"),
                   "--keypoints", str(tmp_path / "nope.npz")])
    assert cli_preprocess.run(args) == 2
    assert "nope.npz" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_run_refuses_non_empty_out_without_overwrite(tmp_path, capsys):
    _frames(tmp_path / "frames")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.txt").write_text("keep")
    argv = ["preprocess", "--frames", str(tmp_path / "frames"), "--out", str(tmp_path / "out")]
    assert cli_preprocess.run(_parse(argv)) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli_preprocess.run(_parse(argv + ["--overwrite"])) == 0
    assert not (tmp_path / "out" / "x.txt").exists()


def test_run_ctrl_c_exits_3_like_the_other_commands(tmp_path, monkeypatch, capsys):
    from lipsync.core.preprocess import sequence

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sequence, "preprocess_sequence", interrupted)
    _frames(tmp_path / "frames")
    args = _parse(["preprocess", "--frames", str(tmp_path / "frames"), "--out", str(tmp_path / "out")])
    assert cli_preprocess.run(args) == 3
    assert "cancelled" in capsys.readouterr().err
