"""The viseme reader's training (core/train/visemes.py): its own speech, a falling loss,
resume, the exported file the product reads, and the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lipsync.core.audio import AudioTiming
from lipsync.core.models.visemes import load_reader, read_visemes
from lipsync.core.speech.sentences import TRAIN_VOICES
from lipsync.core.train.loop import RunConfig, run_stage
from lipsync.core.train.visemes import COLUMNS, VisemeStage, utterance


def test_an_utterance_comes_with_its_weights_per_feature_column():
    samples, weights = utterance(np.random.default_rng(3), TRAIN_VOICES)
    assert weights.shape == (1 + len(samples) // COLUMNS.hop_length, 7)
    assert np.allclose(weights.sum(1), 1) and weights[0, 0] == pytest.approx(1.0, abs=0.05)


def test_the_reader_learns_resumes_and_exports_a_file_the_product_reads(tmp_path, recording):
    outputs: list = []
    run = RunConfig(data="", out=str(tmp_path), steps=30, batch=4, eval_every=15)
    run_stage(recording(VisemeStage, outputs, pool=12), run, log=lambda line: None)
    first, last = np.mean([o["ce"] for o in outputs[:5]]), np.mean([o["ce"] for o in outputs[-5:]])
    assert last < 0.8 * first
    again: list = []
    resumed = RunConfig(data="", out=str(tmp_path), steps=40, batch=4, eval_every=15,
                        resume=True)
    record = run_stage(recording(VisemeStage, again, pool=12), resumed,
                       log=lambda line: None)
    assert len(again) == 10 and record["steps"] == 40
    assert {"opening_corr", "weights_mae", "top_acc"} <= set(record["heldout"])
    reader = load_reader(tmp_path / "visemes.safetensors")
    samples, _ = utterance(np.random.default_rng(4), TRAIN_VOICES)
    weights = read_visemes(reader, samples, AudioTiming(fps=24), 30)
    assert weights.shape == (30, 7) and np.allclose(weights.sum(1), 1, atol=1e-4)
    card = (tmp_path / "visemes.md").read_text()
    assert "espeak-ng speech made by the trainer" in card and "opening_corr" in card


@pytest.mark.parametrize("stage, extra, wanted", [("visemes", ["--data", "x"], "no --data"),
                                                   ("sync", [], "give the data set folder")])
def test_the_command_line_says_which_stages_read_a_data_set(tmp_path, stage, extra, wanted):
    done = subprocess.run([sys.executable, "-m", "lipsync", "train", stage, "--out",
                           str(tmp_path), "--steps", "1", *extra], capture_output=True,
                          text=True)
    assert done.returncode == 2 and wanted in done.stderr
