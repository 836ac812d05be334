"""The viseme reader reads a long track in windows (`models.visemes.read_windows`), so its
memory stays flat with the shot's length: the windows tile the track, and a reader whose
every layer is local (its GroupNorms taken out) gives the same weights read in windows as
read whole, to the column."""

from __future__ import annotations

import numpy as np
import torch

import lipsync.core.models.visemes as visemes
from lipsync.core.audio import AudioTiming
from lipsync.core.models.visemes import ReaderConfig, VisemeReader, read_visemes, read_windows


def test_windows_tile_the_track_within_their_size_and_a_short_track_is_one():
    config = ReaderConfig()
    reach = config.reach
    assert read_windows(900, config) == [(0, 900, slice(0, 900))]
    windows = read_windows(3 * visemes.READ_COLUMNS + 7, config)
    assert len(windows) == 4
    kept = np.concatenate([np.arange(start, stop)[keep] for start, stop, keep in windows])
    assert np.array_equal(kept, np.arange(3 * visemes.READ_COLUMNS + 7))
    for start, stop, keep in windows:
        assert keep.stop - keep.start <= visemes.READ_COLUMNS
        assert stop - start <= visemes.READ_COLUMNS + 2 * reach


def test_a_local_reader_reads_the_same_in_windows_as_whole(monkeypatch):
    torch.manual_seed(0)
    reader = VisemeReader(ReaderConfig(width=16)).eval()
    for block in reader.blocks:
        block.body[1] = torch.nn.Identity()                 # the GroupNorm: not local
    samples = (np.random.default_rng(0).standard_normal(16000 * 12) * 0.1).astype(np.float32)
    timing = AudioTiming(fps=25)
    whole = read_visemes(reader, samples, timing, 300)
    monkeypatch.setattr(visemes, "READ_COLUMNS", 250)       # 12 s: five windows
    assert len(read_windows(1201, reader.config)) == 5
    windowed = read_visemes(reader, samples, timing, 300)
    assert windowed.shape == (300, 7) and np.allclose(windowed.sum(1), 1, atol=1e-5)
    assert np.allclose(windowed, whole, atol=1e-5)
