"""Frames written to disk, the pipeline run on them and its output read back, for the
pipeline tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lipsync.core.pipeline.options import LipSyncOptions
from lipsync.core.pipeline.run import PipelineOptions, lipsync_frames
from lipsync.core.preprocess.frames import enable_exr, read_frame_raw

OPTIONS = PipelineOptions(LipSyncOptions(device="cpu", matte=True, batch=4), chunk=5)


def write_frames(folder: Path, frames, suffix: str = ".png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        if suffix == ".exr":
            enable_exr()
        if frame.ndim == 3:
            code = cv2.COLOR_RGBA2BGRA if frame.shape[2] == 4 else cv2.COLOR_RGB2BGR
            frame = cv2.cvtColor(frame, code)
        path = folder / f"{i + 1:04d}{suffix}"
        assert cv2.imwrite(str(path), frame)
        paths.append(path)
    return paths


def run(paths, characters, fps, out, models, **kwargs):
    return lipsync_frames(paths, characters, fps, out, OPTIONS, models=models, **kwargs)


def read_outputs(out: Path, paths: list[Path]):
    frames = [read_frame_raw(out / (p.stem + ".png" if p.suffix == ".jpg" else p.name))
              for p in paths]
    mattes = [cv2.imread(str(out / "matte" / f"{p.stem}.png"), cv2.IMREAD_GRAYSCALE)
              for p in paths]
    return np.stack(frames), np.stack(mattes)
