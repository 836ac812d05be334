"""A learnt generator on disk: the generator's safetensors file with what was learnt in
its metadata (`learnt`: JSON of the source and `LearnResult`), and a card beside it."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..models.generator import Generator
from ..models.weights import load_weights, save_weights
from ..pipeline.bank import MouthBank
from .tune import LearnResult

SUFFIX = ".safetensors"


def check_target(path: str | Path) -> Path:
    """`path` as the learnt weights' file: InputError unless it ends in .safetensors and
    does not exist yet (a user's file is never overwritten)."""
    path = Path(path)
    if path.suffix != SUFFIX:
        raise InputError(f"--out '{path}': name the learnt weights file NAME{SUFFIX}.")
    for taken in (path, path.with_suffix(".md")):
        if taken.exists():
            raise InputError(f"'{taken}' already exists and is kept: choose another --out "
                             "(or delete it yourself to learn again).")
    if not path.parent.is_dir():
        raise InputError(f"the folder of '{path}' does not exist: create it first.")
    return path


def save_learnt(path: str | Path, generator: Generator, result: LearnResult,
                source: dict, bank: MouthBank | None = None) -> None:
    """Write the learnt `generator` and its mouth `bank` to `path` (checked by
    `check_target`; atomic) with `source` (what it learnt from) and `result` in its
    metadata, and `path`.md, its card."""
    path = check_target(path)
    learnt = {"source": source, **result.to_dict()}
    if bank is not None:
        learnt["bank"] = {"mouths": len(bank), "side_px": int(bank.large.shape[1]),
                          "chosen_by": "sound" if bank.sounds is not None else "crop"}
    card = path.with_suffix(".md")
    card.write_text(card_text(path.name, learnt))
    tensors = dict(generator.state_dict())
    if bank is not None:
        tensors.update(bank.to_tensors())
    save_weights(path, tensors,
                 {"model": "generator", "config": json.dumps(generator.config.to_dict()),
                  "learnt": json.dumps(learnt)})


def read_learnt(path: str | Path) -> dict | None:
    """The `learnt` record of a generator file, or None for a generator not learnt here."""
    _, metadata = load_weights(path)
    try:
        return json.loads(metadata["learnt"]) if "learnt" in metadata else None
    except ValueError as exc:
        raise InputError(f"'{path}': its learnt record is unreadable ({exc}).") from exc


def card_text(name: str, learnt: dict) -> str:
    """The model card of learnt weights `name` (Markdown)."""
    before, after = learnt["heldout_before"], learnt["heldout_after"]
    source = learnt["source"]
    if "character" in source:
        what = (f"renders of the character '{source['character']}' (Learn Character); later "
                "lip-sync runs of that character find it and use it", "frames at the end")
    else:
        what = ("one speaker's own frames (`python -m lipsync learn`); use it with "
                "`sync --weights`", "frames at the end of the shot")
    def row(label: str, figures: dict) -> str:
        motion = figures.get("motion", float("nan"))
        return f"| {label} | {figures['ssim']:.4f} | {figures['l1']:.4f} | {motion:.2f} |"

    rows = [row("general model", before), row("learnt", after)]
    if "heldout_input" in learnt:
        rows.insert(0, row("input as is (rest render)", learnt["heldout_input"]))
    lines = [f"# Learnt generator: `{name}`", "",
             f"The shipped generator fine-tuned on {what[0]}.", "",
             "## Learnt from"] + [f"- {k}: {v}" for k, v in source.items()] + [
             "", "## Steps",
             f"- {learnt['steps']} steps in {learnt['seconds']:.0f} s "
             f"({learnt['seconds'] / 60:.1f} min) on {learnt['train_frames']} frames", "",
             *_bank_lines(learnt.get("bank")),
             f"## Held out ({learnt['heldout_frames']} {what[1]}: mouth region against the "
             "frame itself)", "",
             "| | SSIM | L1 | motion (1 = as the target) |", "|---|---|---|---|", *rows, ""]
    return "\n".join(lines)


def _bank_lines(bank: dict | None) -> list[str]:
    """The card's lines on the mouth bank (none without one)."""
    if not bank:
        return []
    return ["## Mouth bank",
            f"- {bank['mouths']} of its own mouths at {bank['side_px']} px: each lip-synced "
            f"frame draws the pixels of {CHOSEN_BY[bank.get('chosen_by', 'crop')]}, jaw "
            "included, in the frame's own light (`core/pipeline/bank.py`)", ""]


CHOSEN_BY = {"sound": "the one whose speech the viseme reader read most alike",
             "crop": "the one closest to the generated mouth"}
