"""`python -m lipsync dataset import`: a data set of one imported character, rendered by
worker processes, resumable, refusing to write over anything that is not its own."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("bpy")

import plain_heads as ph  # noqa: E402
from lipsync.__main__ import main  # noqa: E402
from lipsync.core.dataset.reader import RECIPE, read_manifest  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]
SMALL = ["--workers", "1", "--max-frames", "6", "--resolution", "64", "--crop-size", "48",
         "--engine", "BLENDER_WORKBENCH", "--fps", "25"]


def test_import_renders_resumes_and_never_overwrites(tmp_path, capsys):
    glb = ph.export_glb(tmp_path / "head.glb", ph.OCULUS)
    before = glb.read_bytes()
    out = tmp_path / "data"
    argv = ["dataset", "import", str(glb), "--out", str(out), "--clips", "2", "--seed", "3"]
    assert main(argv + SMALL) == 0
    printed = capsys.readouterr().out
    assert "visemes by oculus" in printed and "2 rendered now" in printed
    clips = read_manifest(out)
    assert [c["family"] for c in clips] == ["imported", "imported"]
    recipe = json.loads((out / RECIPE).read_text())
    assert recipe["character"]["visemes"] == "auto" and len(recipe["character"]["sha256"]) == 64
    assert glb.read_bytes() == before                       # the character is only read

    assert main(argv + SMALL) == 0                          # resume: nothing left to do
    assert "0 rendered now" in capsys.readouterr().out
    assert main(argv + SMALL + ["--visemes", "oculus"]) == 2
    assert "other settings" in capsys.readouterr().err

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["dataset", "import", str(glb), "--out", str(mine), "--clips", "1"] + SMALL) == 2
    assert "nothing there is overwritten" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_character_that_cannot_talk_stops_before_any_worker(tmp_path, capsys):
    plain = ph.export_glb(tmp_path / "plain.glb", {})
    out = tmp_path / "data"
    assert main(["dataset", "import", str(plain), "--out", str(out), "--clips", "1"]
                + SMALL) == 2
    err = capsys.readouterr().err
    assert "no mouth controls" in err and "--visemes table.json" in err
    assert not (out / "manifest.jsonl").exists()
