"""The viseme reader: speech audio -> the seven viseme weights (`mesh.viseme_names.VISEMES`)
per moment, the mouth shapes a rig would take for that speech.

Input: the log-mel spectrogram (`audio.features.mel_spectrogram`, n_mels x T columns,
100 a second), each band less its mean over the track, all over one standard deviation
(`normalise`), so neither loudness nor the recording chain shifts it. A stack of dilated
1-D convolutions sees 2 + 2 x sum(dilations) columns each side of a column (0.66 s: speech
anticipates and carries over mouth shapes); a softmax gives weights (7, T) that sum to 1,
like the factory's (`speech.visemes.viseme_weights`), which it learns from
(`core/train/visemes.py`).

A learnt mouth bank keeps the weights of every frame it learnt from; a new track's weights
choose among them (`pipeline.bank.MouthBank.choose`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..audio.features import mel_spectrogram
from ..audio.frontend import FRONT_END, AudioFrontEnd
from ..audio.timing import AudioTiming
from ..mesh.viseme_names import VISEMES
from .config import check_front_end, config_from_dict, front_end_field
from .weights import load_model_weights

MODEL = "visemes"   # the model name its weights files carry
READ_COLUMNS = 6000  # columns (60 s) the reader reads at once (`read_windows`)


@dataclass(frozen=True)
class ReaderConfig:
    width: int = 128                                  # channels of every layer
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1)  # one residual block each (kernel 3)
    audio: AudioFrontEnd = FRONT_END                  # the log-mel it reads (n_mels, hop)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        object.__setattr__(self, "audio", front_end_field(self.audio))

    @property
    def reach(self) -> int:
        """Columns of context `read_windows` gives a window either side (at least what the
        stack's convolutions see)."""
        return 2 + 2 * sum(self.dilations)

    def to_dict(self) -> dict:
        return asdict(self)


class _Dilated(nn.Module):
    """x + conv(gelu(norm(conv_dilated(x)))): one residual block over time."""

    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation),
            nn.GroupNorm(8, width), nn.GELU(),
            nn.Conv1d(width, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VisemeReader(nn.Module):
    """(B, n_mels, T) normalised log-mel -> (B, 7, T) viseme logits (softmax: weights)."""

    def __init__(self, config: ReaderConfig = ReaderConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.inlet = nn.Sequential(nn.Conv1d(config.audio.n_mels, w, 5, padding=2), nn.GELU())
        self.blocks = nn.Sequential(*(_Dilated(w, d) for d in config.dilations))
        self.outlet = nn.Conv1d(w, len(VISEMES), 1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.outlet(self.blocks(self.inlet(mel)))


def normalise(log_mel: np.ndarray) -> np.ndarray:
    """(n_mels, T) dB -> float32 (n_mels, T): each band less its mean, over the whole's std."""
    centred = log_mel - log_mel.mean(axis=1, keepdims=True)
    return (centred / max(float(centred.std()), 1e-3)).astype(np.float32)


def reader_input(samples: np.ndarray, front_end: AudioFrontEnd = FRONT_END) -> np.ndarray:
    """Mono samples (N,) at the front end's rate -> the reader's input (n_mels, T)."""
    return normalise(mel_spectrogram(samples, front_end))


@torch.no_grad()
def read_visemes(reader: VisemeReader, samples: np.ndarray, timing: AudioTiming,
                 n_frames: int) -> np.ndarray:
    """Viseme weights (n_frames, 7) float32, rows summing to 1, of video frames 0..n-1 of
    `timing` heard in `samples` (N,) mono at its sample rate: the column nearest each
    frame's time, as `viseme_weights` samples the factory's (frames past the audio: its
    last column). The track is read in windows (`read_windows`)."""
    device = next(reader.parameters()).device
    mel = torch.from_numpy(reader_input(samples, timing.front_end)).to(device)  # (n_mels, T)
    weights = np.concatenate([
        torch.softmax(reader(mel[None, :, start:stop])[0].float(), dim=0)[:, keep].cpu().numpy()
        for start, stop, keep in read_windows(mel.shape[1], reader.config)], axis=1)  # (7, T)
    columns = np.clip(timing.feature_indices(np.arange(n_frames)), 0, weights.shape[1] - 1)
    return np.ascontiguousarray(weights[:, columns].T)


def read_windows(n_columns: int, config: ReaderConfig) -> list[tuple[int, int, slice]]:
    """How a track of `n_columns` is read: (start, stop, keep) per window, the reader reading
    columns start:stop and keeping `keep` of its output; the kept parts tile the track in
    order. Windows of at most READ_COLUMNS, equal in length, each read with the stack's
    reach of context either side, so the reader's memory does not grow with the track (its
    GroupNorm then takes each window's statistics, as it did the 4 s segments it learnt
    from)."""
    reach = config.reach
    count = -(-n_columns // READ_COLUMNS)
    bounds = np.linspace(0, n_columns, count + 1).round().astype(int)
    windows = []
    for first, last in zip(bounds[:-1], bounds[1:]):
        start, stop = max(first - reach, 0), min(last + reach, n_columns)
        windows.append((start, stop, slice(first - start, last - start)))
    return windows


def load_reader(path, device: torch.device | str = "cpu") -> VisemeReader:
    """The viseme reader of weights file `path`, on `device`, in eval mode."""
    tensors, config = load_model_weights(path, MODEL)
    config = config_from_dict(ReaderConfig, config, path)
    check_front_end(config.audio, path)
    reader = VisemeReader(config)
    reader.load_state_dict(tensors)
    return reader.to(device).eval()


__all__ = ["MODEL", "READ_COLUMNS", "ReaderConfig", "VisemeReader", "load_reader", "normalise",
           "read_visemes", "read_windows", "reader_input"]
