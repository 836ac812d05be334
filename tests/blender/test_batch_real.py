"""`python -m lipsync batch` end to end with the real commands: a .blend shot rendered once
and dubbed in two languages, then a re-run that skips what is complete."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

bpy = pytest.importorskip("bpy")

from lipsync_helpers import neutral, speech  # noqa: E402

from lipsync.core.audio import save_wav  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def test_a_shot_rendered_once_and_dubbed_in_two_languages(make_shot, tmp_path):
    neutral(make_shot(n_frames=8, resolution=(96, 96), engine="BLENDER_WORKBENCH"))
    (tmp_path / "audio").mkdir()
    save_wav(tmp_path / "audio" / "en.wav", speech(0.4), 16000)
    save_wav(tmp_path / "audio" / "fr.wav", speech(0.4, start=1.0), 16000)
    (tmp_path / "shots.toml").write_text(
        'out = "results"\ndevice = "cpu"\n[[shot]]\nname = "sh010"\nblend = "shot.blend"\n'
        'character = "Head"\ntracks = [ { language = "en", audio = "audio/en.wav" },\n'
        '           { language = "fr", audio = "audio/fr.wav" } ]\n')
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def batch():
        return subprocess.run([sys.executable, "-m", "lipsync", "batch",
                               str(tmp_path / "shots.toml")], capture_output=True, text=True,
                              env=env, timeout=600)

    first = batch()
    assert first.returncode == 0, first.stdout + first.stderr
    results = tmp_path / "results" / "sh010"
    render = json.loads((results / "render" / "render.json").read_text())
    assert render["fps"] == 25
    frames = sorted(p.name for p in (results / "render" / "frames").glob("*.png"))
    for language in ("en", "fr"):
        report = json.loads((results / language / "report.json").read_text())
        assert report["frames"] == len(frames) == 8
        assert sorted(p.name for p in (results / language).glob("*.png")) == frames
    assert (results / "en" / "0001.png").read_bytes() != (results / "fr" / "0001.png").read_bytes()

    again = batch()
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("skipped") >= 3, again.stdout   # the render and both tracks
