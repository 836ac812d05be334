"""The options of a lip-sync job (light: the command lines and the add-on read them
without torch).

`LipSyncOptions` is what the panel, `python -m lipsync sync`, the headless Blender `sync`
and `batch` all build; the pipeline (`run.PipelineOptions`) and the add-on's request carry
it. It is checked once, when it is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

QUALITIES = ("draft", "final")
REVOICE_MODES = ("auto", "on", "off")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class LipSyncOptions:
    """How a shot is lip-synced (each field checked here; a bad one is an `InputError`
    naming it).

    quality 'final' sharpens the generated mouth and shapes the mask of an RGB generator's,
    a learnt mouth and one drawn from another frame (re-voiced, or moving already) with the
    face parser, 'draft' uses the keypoint mask alone. revoice 'auto' re-voices a character
    whose lips already move as in speech, 'on' always, 'off' never (True and False mean
    'on' and 'off'): re-voicing draws the new mouth from the shot's most closed mouth
    instead of each frame's (see `character`).
    """

    quality: str = "final"      # one of QUALITIES
    revoice: str = "auto"       # one of REVOICE_MODES
    device: str = "auto"        # one of DEVICES; 'auto': CUDA when there is one, else CPU
    matte: bool = False         # also write the mouth matte (8-bit grey PNGs under matte/)
    batch: int = 16             # frames per generator batch, >= 1
    models: Path | None = None  # folder of sync/generator/parser .safetensors; None (or
                                # "") = the shipped models/
    weights: Path | None = None  # a generator learnt for this speaker or character
                                 # (`python -m lipsync learn`) in place of the folder's

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise InputError(f"quality = {self.quality!r}: use {_one_of(QUALITIES)}.")
        if isinstance(self.revoice, bool):
            object.__setattr__(self, "revoice", "on" if self.revoice else "off")
        elif self.revoice not in REVOICE_MODES:
            raise InputError(f"revoice = {self.revoice!r}: use {_one_of(REVOICE_MODES)} "
                             "(true means on, false off).")
        if self.device not in DEVICES:
            raise InputError(f"device = {self.device!r}: use {_one_of(DEVICES)}.")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise InputError(f"batch = {self.batch!r}: give a whole number of frames per "
                             "generator batch, at least 1.")
        object.__setattr__(self, "models", Path(self.models) if self.models else None)
        object.__setattr__(self, "weights", Path(self.weights) if self.weights else None)

    @property
    def refine(self) -> bool:
        """Whether the face parser shapes the mouth mask where it does ('final' quality)."""
        return self.quality == "final"

    @property
    def sharpen(self) -> bool:
        """Whether the generated crop gets an unsharp mask (`character.sharpen`; 'final')."""
        return self.quality == "final"


def _one_of(choices: tuple[str, ...]) -> str:
    """('a', 'b', 'c') -> 'a, b or c'."""
    return f"{', '.join(choices[:-1])} or {choices[-1]}"
