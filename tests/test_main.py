"""`python -m lipsync` (__main__.py): the product's commands work without the lab's code
(the extension zip leaves it out), and every command exits 2 on bad input."""

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lipsync.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
LAB = ("core/train", "core/dataset", "core/evaluate", "addon/factory", "addon/demo.py")


@pytest.fixture(autouse=True)
def keep_log_level():
    """`main` configures the `lipsync` logger; put its level back afterwards."""
    logger = logging.getLogger("lipsync")
    level = logger.level
    yield
    logger.setLevel(level)


def test_product_commands_run_without_the_lab(tmp_path):
    lean = tmp_path / "lipsync"
    shutil.copytree(ROOT, lean, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "tests", "benchmarks", "docs", "models", "demo", "build"))
    for part in LAB:
        assert (lean / part).exists(), part
        shutil.rmtree(lean / part) if (lean / part).is_dir() else (lean / part).unlink()
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    for command in (["sync", "--help"], ["preprocess", "--help"], ["batch", "--help"], ["--help"]):
        done = subprocess.run([sys.executable, "-m", "lipsync", *command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (command, done.stderr)
        assert "usage: python -m lipsync" in done.stdout
    where = subprocess.run([sys.executable, "-c", "import lipsync; print(lipsync.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(lean / "__init__.py"), "the lean copy was tested"


@pytest.mark.parametrize("argv, words", [
    (["preprocess", "--frames", "{tmp}/nowhere", "--out", "{tmp}/out"], "nowhere"),
    (["sync", "--frames", "{tmp}", "--audio", "a.wav", "--fps", "24", "--out", "{tmp}/out",
      "--batch", "0"], "batch = 0"),
    (["batch", "{tmp}/nowhere.toml"], "nowhere.toml"),
    (["train", "sync", "--data", "{tmp}/nowhere", "--out", "{tmp}/runs"], "manifest.jsonl"),
    (["eval", "--data", "{tmp}/nowhere", "--out", "{tmp}/eval"], "manifest.jsonl"),
    (["dataset", "make", "--out", "{tmp}/data", "--clips", "1", "--workers", "0"], "--workers"),
    (["dataset", "show", "{tmp}/nowhere"], "manifest.jsonl"),
    (["demo", "--out", "{tmp}"], "not empty"),
    (["blend", "{tmp}/nowhere.blend", "sync"], "no .blend file"),
], ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else None)
def test_bad_input_exits_2(tmp_path, capsys, argv, words):
    (tmp_path / "a file").write_text("")
    code = main([a.format(tmp=tmp_path) for a in argv + ["--verbose"]])
    assert code == 2
    assert words in capsys.readouterr().err
