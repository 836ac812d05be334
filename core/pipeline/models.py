"""The three trained networks the pipeline runs, loaded together and checked to match."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import InputError
from ..models import MODELS_DIR
from ..models.device import pick_device
from ..models.generator import Generator
from ..models.parser import FaceParser
from ..models.sync import SyncExpert


@dataclass
class LipSyncModels:
    """sync expert, generator and face parser on one device, in eval mode."""

    sync: SyncExpert
    generator: Generator
    parser: FaceParser
    device: torch.device

    @property
    def size(self) -> int:
        """Crop side (px) the networks take."""
        return self.generator.config.size

    @property
    def blur_fraction(self) -> float:
        return self.generator.config.blur_fraction

    @classmethod
    def load(cls, device: str = "auto", folder: str | Path | None = None) -> "LipSyncModels":
        """Load `sync`, `generator` and `parser` .safetensors from `folder` (default: the
        shipped models/). InputError names a missing or corrupt file and how to get it."""
        from ..train.generator import load_generator
        from ..train.parser import load_parser
        from ..train.sync import load_sync_expert

        folder = Path(folder) if folder else MODELS_DIR
        torch_device = pick_device(device)
        sync = load_sync_expert(folder / "sync.safetensors", torch_device)
        generator = load_generator(folder / "generator.safetensors", torch_device)
        parser = load_parser(folder / "parser.safetensors", torch_device)
        if (sync.config.embedding != generator.config.embedding
                or sync.config.size != generator.config.size
                or parser.config.size != generator.config.size):
            raise InputError(f"the weights in '{folder}' do not belong together (sync expert, "
                             "generator and parser sizes differ): train them as one set "
                             "(make train) or restore the shipped models/.")
        warm_up_audio()
        return cls(sync, generator, parser, torch_device)


def warm_up_audio() -> None:
    """Import the MFCC stack (librosa, scipy.signal: ~2 s once per process) now, while
    models load, not in the middle of the first shot."""
    import numpy as np

    from ..audio import mfcc
    from ..dataset.reader import TIMING

    mfcc(np.zeros(TIMING.sample_rate // 10, np.float32), TIMING)
