"""The face parser stage: network, supervised phase, adjacent-frame fine-tune, export,
resume and the command line, on the tiny data set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from lipsync.core.errors import InputError
from lipsync.core.models.parser import N_CLASSES, FaceParser, ParserConfig
from lipsync.core.models.weights import load_weights
from lipsync.core.train.loop import RunConfig, run_stage
from lipsync.core.models.parser import load_parser
from lipsync.core.train.parser import ParserStage, segment

pytestmark = [pytest.mark.slow]

METRICS = ("miou", "mouth_iou", "flicker", "flicker_gt", "still_flicker")
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


def test_parser_shapes_and_gradients():
    torch.manual_seed(0)
    model = FaceParser(ParserConfig(size=64, width=24))
    logits, features = model(torch.rand(2, 3, 64, 64))
    assert logits.shape == (2, N_CLASSES, 64, 64)
    assert features.shape == (2, 24, 64, 64)
    loss = ((logits * torch.randn_like(logits)).mean()
            + (features * torch.randn_like(features)).mean())
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_parser_stage_trains_finetunes_exports_and_resumes(tiny_data, tmp_path, recording):
    out = tmp_path / "run"
    config = RunConfig(data=str(tiny_data), out=str(out), steps=30, batch=4, eval_every=1000,
                       max_clips=None, lr=1e-3)
    outputs, calls = [], []
    record = run_stage(recording(ParserStage, outputs, calls, finetune_steps=10), config,
                       log=lambda line: None)

    supervised = [o["ce"] for o in outputs if "l1" not in o]
    finetune = [o for o in outputs if "l1" in o]
    assert len(supervised) == 20 and len(finetune) == 10
    assert np.mean(supervised[-5:]) < np.mean(supervised[:5])
    assert all(np.isfinite(o["loss"]) for o in finetune)
    print("phase 1 ce first/last 5:", np.mean(supervised[:5]), np.mean(supervised[-5:]),
          "phase 2 last:", finetune[-1])

    heldout = record["heldout"]
    print("held-out:", json.dumps(heldout))
    for key in METRICS:
        for name in (key, "before_" + key):
            assert 0.0 <= heldout[name] <= 1.0, name
    assert heldout["miou"] > 0 and heldout["flicker_gt"] > 0
    assert json.loads((out / "parser.json").read_text())["heldout"] == heldout

    weights = out / "parser.safetensors"
    _, metadata = load_weights(weights)
    assert metadata["model"] == "parser" and metadata["finetune_steps"] == "10"
    assert json.loads(metadata["config"]) == ParserConfig().to_dict()
    model = load_parser(weights)
    assert not model.training
    labels = segment(model, np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), np.uint8))
    assert labels.shape == (5, 64, 64) and labels.dtype == np.uint8 and labels.max() < N_CLASSES

    with pytest.raises(InputError):
        run_stage(recording(ParserStage, [], [], finetune_steps=10), config,
                  log=lambda line: None)

    more, calls = [], []
    resumed = run_stage(recording(ParserStage, more, calls, finetune_steps=10),
                        RunConfig(**{**config.to_dict(), "steps": 33, "resume": True}),
                        log=lambda line: None)
    assert calls == [31, 32, 33] and all("l1" in o for o in more)   # still the fine-tune
    assert resumed["steps"] == 33 and resumed["history"][-1]["step"] == 33
    for key in METRICS:                                             # the teacher came back
        assert resumed["heldout"]["before_" + key] == heldout["before_" + key]


def test_parser_command_line(tiny_data, tmp_path):
    out = tmp_path / "cli"
    base = [sys.executable, "-m", "lipsync", "train", "parser", "--data", str(tiny_data),
            "--out", str(out)]
    train = subprocess.run(base + ["--steps", "12", "--finetune-steps", "4", "--batch", "2",
                                   "--eval-every", "100"], capture_output=True, text=True,
                           env=ONE_THREAD)
    assert train.returncode == 0, train.stderr
    assert (out / "parser.safetensors").exists() and (out / "parser.json").exists()
    assert "before_miou" in json.loads((out / "parser.json").read_text())["heldout"]

    check = subprocess.run(base + ["--evaluate", str(out / "parser.safetensors"),
                                   "--split", "test"], capture_output=True, text=True,
                           env=ONE_THREAD)
    assert check.returncode == 0, check.stderr
    metrics = json.loads(check.stdout)["metrics"]
    assert 0.0 <= metrics["miou"] <= 1.0 and "flicker" in metrics
