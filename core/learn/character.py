"""Learn Character's files and settings (no bpy): where a character's learnt generator
lives, the one rule by which later runs find it, and the work folder a re-run resumes from.

In the learnt folder (default `DEFAULT_FOLDER`, next to the .blend):

    <name>.lipsync.safetensors   the learnt generator (`weights.save_learnt`)
    <name>.lipsync.md            its card
    .<name>.learning/            work: rest/NNNN.png and speaking/NNNN.png (the renders),
                                 speech.npz (samples (N,), visemes (F, 7)), settings.json;
                                 kept when a run fails so a re-run reuses its renders,
                                 removed when it is cancelled or done

<name> is the character's (mesh object's) name with characters other than letters,
digits, '.', '-' and '_' replaced by '_'.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InputError

DEFAULT_FOLDER = "//lipsync_learnt"
SUFFIX = ".lipsync.safetensors"
WORK_SUFFIX = ".learning"


def file_stem(character: str) -> str:
    """The character's name as a file name's first part."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", character).strip(".")
    return stem or "character"


def learnt_path(folder: str | Path, character: str) -> Path:
    """The learnt generator of `character` in `folder`."""
    return Path(folder) / f"{file_stem(character)}{SUFFIX}"


def work_path(folder: str | Path, character: str) -> Path:
    """The work folder of a learning run of `character` in `folder`."""
    return Path(folder) / f".{file_stem(character)}{WORK_SUFFIX}"


def find_learnt(folder: str | Path | None, character: str) -> Path | None:
    """The learnt generator later runs of `character` use: its file in `folder` when there
    is one, else None (the general model). The only place that decides it."""
    if not folder:
        return None
    path = learnt_path(folder, character)
    return path if path.is_file() else None


@dataclass(frozen=True)
class LearnSettings:
    """How a character is learnt: `sentences` spoken in `language` (a key of
    `core.speech.sentences.SENTENCES`; voices, rates and pitches drawn from `seed`), the
    renders' `samples` at most (Cycles, EEVEE; Workbench has none), and at most `steps`
    learning steps or `minutes` minutes. `margin`: the render border around the mouth's
    crops, in crop sides."""

    sentences: int = 10
    language: str = "en"
    samples: int = 16
    steps: int = 300
    minutes: float = 10.0
    seed: int = 0
    margin: float = 0.1

    def __post_init__(self) -> None:
        from ..speech.sentences import SENTENCES

        if self.sentences < 1:
            raise InputError(f"sentences = {self.sentences}: give at least 1.")
        if self.language not in SENTENCES:
            raise InputError(f"language '{self.language}': Learn Character speaks "
                             f"{', '.join(SENTENCES)}; choose one of those.")
        if self.samples < 1:
            raise InputError(f"samples = {self.samples}: give at least 1 render sample.")
        if self.steps < 1 or not self.minutes > 0:
            raise InputError(f"steps = {self.steps}, minutes = {self.minutes}: give at least "
                             "one step and a positive time.")
        if not 0 <= self.margin <= 1:
            raise InputError(f"margin = {self.margin}: give 0 to 1 crop sides.")

    def render_key(self) -> dict:
        """What the renders depend on among the settings (a re-run with the same key
        reuses them)."""
        data = asdict(self)
        for name in ("steps", "minutes"):
            del data[name]
        return data
