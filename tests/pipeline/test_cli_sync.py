"""`python -m lipsync sync` on a folder of real rendered frames with a keypoints file."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from lipsync.__main__ import main
from lipsync.core.dataset.reader import read_manifest


@pytest.fixture(scope="module")
def shot(tiny_data, tmp_path_factory):
    """frames/, keypoints.npz, speech.wav and fps of the tiny set's held-out clip."""
    record = next(r for r in read_manifest(tiny_data) if r["split"] == "test")
    clip = tiny_data / record["clip_id"]
    folder = tmp_path_factory.mktemp("cli_shot")
    (folder / "frames").mkdir()
    for i, frame in enumerate(np.load(clip / "frames.npz")["neutral"]):
        cv2.imwrite(str(folder / "frames" / f"{i + 1:04d}.png"),
                    cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    (folder / "keypoints.npz").write_bytes((clip / "keypoints_neutral.npz").read_bytes())
    (folder / "speech.wav").write_bytes((clip / "dub_audio.wav").read_bytes())
    fps = json.loads((clip / "clip.json").read_text())["fps"]
    return folder, str(fps)


def test_sync_writes_the_frames_and_a_report(shot, tmp_path, capsys):
    folder, fps = shot
    out = tmp_path / "out"
    code = main(["sync", "--frames", str(folder / "frames"), "--audio",
                 str(folder / "speech.wav"), "--fps", fps, "--out", str(out),
                 "--keypoints", str(folder / "keypoints.npz"), "--device", "cpu"])
    assert code == 0
    names = sorted(p.name for p in (folder / "frames").iterdir())
    assert sorted(p.name for p in out.glob("*.png")) == names
    report = json.loads((out / "report.json").read_text())
    assert report["characters"] == {"speech": len(names)}
    assert "lip-synced 12 frames" in capsys.readouterr().out


@pytest.mark.parametrize("change, words", [
    (lambda a: a + ["--audio", a[a.index("--audio") + 1]], "one per character"),
    (lambda a: [x + "_nowhere" if x.endswith("/frames") else x for x in a], "frames_nowhere"),
])
def test_bad_input_exits_2_and_writes_nothing(shot, tmp_path, capsys, change, words):
    folder, fps = shot
    out = tmp_path / "out"
    argv = ["sync", "--frames", str(folder / "frames"), "--audio", str(folder / "speech.wav"),
            "--fps", fps, "--out", str(out), "--keypoints", str(folder / "keypoints.npz"),
            "--device", "cpu"]
    assert main(change(argv)) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_sync_without_keypoints_finds_the_mouth(shot, tmp_path):
    folder, fps = shot
    out = tmp_path / "out"
    code = main(["sync", "--frames", str(folder / "frames"), "--audio",
                 str(folder / "speech.wav"), "--fps", fps, "--out", str(out), "--device", "cpu",
                 "--matte", "--revoice"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["characters"] == {"speech": 12} and report["passed_through"] == []
    assert report["revoiced"] == ["speech"], "--revoice alone means on"
    matte = cv2.imread(str(out / "matte" / "0001.png"), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(matte)
    truth = np.load(folder / "keypoints.npz")["points"][0, 0]        # (25, 2) frame px
    assert abs(xs.mean() - truth[24, 0]) < 8 and abs(ys.mean() - truth[24, 1]) < 10
