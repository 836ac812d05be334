"""The training loop shared by every stage: seed, progress, held-out evaluation,
checkpoints that store their own config, resume, and export of the shipped weights.

A stage (`Stage`) owns its networks, optimisers and data; the loop calls
`train_step(rng)` `steps` times, `evaluate()` every `eval_every` steps and at the end,
saves ``<out>/<stage>/checkpoint.pt`` (tensors and plain values only: loaded with
``weights_only=True``, no pickle of code objects) and finally ``<out>/<stage>.safetensors``
plus ``<out>/<stage>.json`` (config, steps, time, device, metrics).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch

from ..errors import InputError
from ..models.device import pick_device
from ..models.weights import save_weights
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from .card import stamp_card, write_card


@dataclass
class RunConfig:
    data: str
    out: str
    steps: int = 2000
    batch: int = 16
    lr: float = 1e-3
    device: str = "auto"
    seed: int = 0
    eval_every: int = 250
    resume: bool = False
    max_clips: int | None = None      # use only the first clips of each split (smoke runs)
    eval_batches: int = 8
    eval_split: str = "val"
    command: str = ""                 # the command line, for the model card

    def to_dict(self) -> dict:
        return asdict(self)


class Stage(Protocol):
    name: str

    def state(self) -> dict[str, torch.nn.Module | torch.optim.Optimizer]: ...
    def train_step(self, rng: np.random.Generator, step: int) -> dict[str, float]: ...
    def evaluate(self) -> dict[str, float]: ...
    def export(self) -> dict[str, torch.Tensor]: ...
    def metadata(self) -> dict[str, str]: ...
    def load(self, path: str | os.PathLike) -> None: ...


def seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def run_stage(make_stage: Callable[[RunConfig, torch.device], Stage], config: RunConfig,
              progress: ProgressFn = no_progress, should_cancel: CancelFn = never_cancel,
              log: Callable[[str], None] = print) -> dict:
    """Train one stage to `config.steps`; returns the final record (also written as JSON)."""
    if config.steps < 1:
        raise InputError(f"--steps must be at least 1, got {config.steps}")
    device = pick_device(config.device)
    rng = seed_everything(config.seed)
    stage = make_stage(config, device)
    out = Path(config.out)
    folder = out / stage.name
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / "checkpoint.pt"
    history: list[dict] = []
    start, seconds = 0, 0.0
    if config.resume and checkpoint.exists():
        start, seconds, history = _load_checkpoint(checkpoint, stage, rng, config)
        log(f"{stage.name}: resumed at step {start}")
    elif checkpoint.exists():
        raise InputError(f"'{folder}' already holds a {stage.name} run: add --resume to go on "
                         "with it, or choose another --out.")
    begun = time.perf_counter() - seconds
    running: dict[str, list[float]] = {}
    for step in range(start + 1, config.steps + 1):
        check_cancel(should_cancel)
        for key, value in stage.train_step(rng, step).items():
            running.setdefault(key, []).append(value)
        progress(step, config.steps, " ".join(f"{k} {np.mean(v[-50:]):.3f}"
                                              for k, v in running.items()))
        if step % config.eval_every == 0 or step == config.steps:
            metrics = stage.evaluate()
            record = {"step": step, "seconds": round(time.perf_counter() - begun, 1),
                      "train": {k: float(np.mean(v)) for k, v in running.items()},
                      "heldout": metrics}
            history.append(record)
            running = {}
            log(f"{stage.name} step {step}: " + json.dumps(record))
            _save_checkpoint(checkpoint, stage, rng, step, time.perf_counter() - begun,
                             history, config)
    final = _export(stage, out, config, device, time.perf_counter() - begun, history)
    return final


def _save_checkpoint(path: Path, stage: Stage, rng: np.random.Generator, step: int,
                     seconds: float, history: list, config: RunConfig) -> None:
    payload = {"step": step, "seconds": seconds, "stage": stage.name,
               "config": json.dumps(config.to_dict()), "history": json.dumps(history),
               "rng": json.dumps(rng.bit_generator.state),
               "torch_rng": torch.get_rng_state(),
               "state": {k: v.state_dict() for k, v in stage.state().items()}}
    partial = path.with_name(path.name + ".part")
    torch.save(payload, partial)
    os.replace(partial, path)


def _load_checkpoint(path: Path, stage: Stage, rng: np.random.Generator,
                     config: RunConfig) -> tuple[int, float, list]:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("stage") != stage.name:
        raise InputError(f"'{path}' is a {payload.get('stage')} checkpoint, not {stage.name}")
    for key, item in stage.state().items():
        item.load_state_dict(payload["state"][key])
    rng.bit_generator.state = json.loads(payload["rng"])
    torch.set_rng_state(payload["torch_rng"])
    return int(payload["step"]), float(payload["seconds"]), json.loads(payload["history"])


def _export(stage: Stage, out: Path, config: RunConfig, device: torch.device, seconds: float,
            history: list) -> dict:
    record = {"stage": stage.name, "steps": config.steps, "seconds": round(seconds, 1),
              "device": _describe(device), "run": config.to_dict(),
              "heldout": history[-1]["heldout"] if history else {}, "history": history}
    metadata = {**stage.metadata(), "steps": str(config.steps), "seed": str(config.seed)}
    record["split"] = config.eval_split
    record["size"] = json.loads(metadata["config"]).get("size")   # None: reads no crops
    record["data_text"] = getattr(stage, "data_text", None)        # data not of a data set
    weights = out / f"{stage.name}.safetensors"
    save_weights(weights, stage.export(), metadata)
    (out / f"{stage.name}.json").write_text(json.dumps(record, indent=1))
    write_card(out / f"{stage.name}.md", record, config.command or "(not recorded)",
               weights.stat().st_size)
    stamp_card(weights)
    return record


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def evaluate_weights(make_stage: Callable[[RunConfig, torch.device], Stage], config: RunConfig,
                     weights: str | os.PathLike) -> dict:
    """Held-out metrics of a trained weights file (the stage's `load` then `evaluate`)."""
    stage = make_stage(config, pick_device(config.device))
    stage.load(weights)
    return {"stage": stage.name, "weights": str(weights), "split": config.eval_split,
            "metrics": stage.evaluate()}
