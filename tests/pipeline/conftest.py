"""Fixtures of the pipeline tests that run real rendered frames: the shipped models, and
the tiny data set's held-out (dubbed) clip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lipsync.core.audio import AudioTiming, load_audio
from lipsync.core.dataset.reader import read_manifest
from lipsync.core.pipeline.models import LipSyncModels
from lipsync.core.preprocess.keypoints import KeypointTrack


@pytest.fixture(scope="module")
def models():
    return LipSyncModels.load("cpu")


@pytest.fixture(scope="module")
def clip(tiny_data):
    """The held-out (dubbed) clip: neutral frames, their keypoints, both audio tracks."""
    record = next(r for r in read_manifest(tiny_data) if r["split"] == "test")
    folder = tiny_data / record["clip_id"]
    meta = json.loads((folder / "clip.json").read_text())
    frames = np.load(folder / "frames.npz")
    return {"neutral": frames["neutral"], "fps": float(meta["fps"]),
            "timing": AudioTiming(fps=float(meta["fps"])),
            "track": KeypointTrack.load(folder / "keypoints_neutral.npz"),
            "audio": load_audio(folder / "audio.wav"),
            "dub_audio": load_audio(folder / "dub_audio.wav")}
