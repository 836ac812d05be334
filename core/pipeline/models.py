"""The trained networks the pipeline runs (sync expert, generator, face parser and, when the
models folder holds them, the viseme reader and the detail network), loaded together and
checked to match."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError
from ..models import MODELS_DIR
from ..models.detail import DetailNet, load_detail
from ..models.device import pick_device
from ..models.generator import Generator, load_generator
from ..models.parser import FaceParser, load_parser
from ..models.sync import SyncExpert, load_sync_expert
from ..models.visemes import VisemeReader, load_reader
from .bank import MouthBank


@dataclass
class LipSyncModels:
    """sync expert, generator and face parser on one device, in eval mode, and the mouth
    bank a learnt generator's file holds (`bank.MouthBank`, None for the shipped one).

    The sync expert and the generator share one crop side (`size`, from their weights);
    the parser may have its own (`parse` resizes to it and back)."""

    sync: SyncExpert
    generator: Generator
    parser: FaceParser
    device: torch.device
    bank: MouthBank | None = None
    reader: VisemeReader | None = None
    detail: DetailNet | None = None

    @property
    def hears(self) -> bool:
        """Whether a bank's mouths are chosen by the sound: its bank heard the frames it
        learnt from and the viseme reader is there to read new speech."""
        return self.bank is not None and self.bank.sounds is not None and self.reader is not None

    @property
    def size(self) -> int:
        """Crop side (px) the sync expert and the generator take."""
        return self.generator.config.size

    @property
    def blur_fraction(self) -> float:
        return self.generator.config.blur_fraction

    @classmethod
    def load(cls, device: str = "auto", folder: str | Path | None = None,
             generator: str | Path | None = None) -> "LipSyncModels":
        """Load `sync`, `generator` and `parser` .safetensors from `folder` (default: the
        shipped models/), each at the size its weights say, `visemes` when the folder
        holds it (the viseme reader; a folder without one chooses a bank's mouths by the
        generated crop, `bank.MouthBank.choose`) and `detail` when it holds it (the drawn
        colour's edges at the frame's pixels; without: bicubic); `generator`: a learnt
        generator's file to use instead of the folder's. InputError names a missing,
        corrupt or mismatched file and what to do."""
        folder = Path(folder) if folder else MODELS_DIR
        torch_device = pick_device(device)
        learnt = Path(generator) if generator else None
        sync = load_sync_expert(folder / "sync.safetensors", torch_device)
        network = load_generator(learnt or folder / "generator.safetensors", torch_device)
        parser = load_parser(folder / "parser.safetensors", torch_device)
        _check_pair(sync, network, f"the weights in '{folder}'")
        reader_file = folder / "visemes.safetensors"
        reader = load_reader(reader_file, torch_device) if reader_file.exists() else None
        _check_reads(network, reader, learnt or folder / "generator.safetensors")
        detail_file = folder / "detail.safetensors"
        detail = load_detail(detail_file, torch_device) if detail_file.exists() else None
        warm_up_audio()
        return cls(sync, network, parser, torch_device, learnt and MouthBank.of_file(learnt),
                   reader, detail)

    @classmethod
    def for_options(cls, options) -> "LipSyncModels":
        """The networks a job's `LipSyncOptions` name (device, models folder, weights)."""
        return cls.load(options.device, options.models, options.weights)

    def with_generator(self, path: str | Path) -> "LipSyncModels":
        """These networks with the generator of file `path` (a learnt one) in place of
        theirs; the sync expert and parser are shared. InputError as `load`."""
        generator = load_generator(Path(path), self.device)
        _check_pair(self.sync, generator, f"'{path}' and the sync expert")
        _check_reads(generator, self.reader, path)
        return LipSyncModels(self.sync, generator, self.parser, self.device,
                             MouthBank.of_file(path), self.reader, self.detail)

    def parse(self, images: torch.Tensor) -> torch.Tensor:
        """Parser class probabilities of crops: (N, 3, S, S) in [0, 1] -> (N, 12, S, S).
        Crops of another side than the parser's are resized to it (bilinear, antialiased)
        and the logits resized back."""
        side = self.parser.config.size
        if images.shape[-1] == side:
            return torch.softmax(self.parser(images)[0], dim=1)
        small = nn.functional.interpolate(images, size=(side, side), mode="bilinear",
                                          antialias=True, align_corners=False)
        logits = nn.functional.interpolate(self.parser(small)[0], size=images.shape[-2:],
                                           mode="bilinear", align_corners=False)
        return torch.softmax(logits, dim=1)


def _check_pair(sync: SyncExpert, generator: Generator, what: str) -> None:
    """InputError unless the generator reads what the sync expert does."""
    s, g = sync.config, generator.config
    if (s.size, s.embedding, s.blur_fraction, s.audio) != (g.size, g.embedding,
                                                           g.blur_fraction, g.audio):
        raise InputError(
            f"{what} do not belong together: the sync expert reads "
            f"{s.size} px crops (blur {s.blur_fraction}, {s.embedding}-d embeddings), the "
            f"generator {g.size} px (blur {g.blur_fraction}, {g.embedding}-d), and both "
            "must read the same audio; the generator is trained on this expert's "
            "embeddings of its own crops: train them as one set (make train) or restore "
            "the shipped models/.")


def _check_reads(generator: Generator, reader: VisemeReader | None, path) -> None:
    """InputError when the generator of file `path` reads viseme weights and no viseme
    reader is there to read them from the sound."""
    if generator.config.visemes and reader is None:
        raise InputError(f"the generator '{path}' reads the sound's viseme weights, and its "
                         "models folder has no viseme reader (visemes.safetensors): copy it "
                         "there from the shipped models/.")


def warm_up_audio() -> None:
    """Import the MFCC stack (librosa, scipy.signal: slow, once per process) now, while
    models load, not in the middle of the first shot."""
    import numpy as np

    from ..audio import FRONT_END, mfcc

    mfcc(np.zeros(FRONT_END.sample_rate // 10, np.float32), FRONT_END)
