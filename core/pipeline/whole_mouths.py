"""Mouths drawn whole in place of the generated ones, and their pixels.

A learnt character's bank (`bank.MouthBank`, chosen by the sound or by the generated
crop), or, for re-voiced footage of a real face, the shot's own frames (`own_mouths`, chosen
by the sound before the run). `WholeMouths.pick` gives per frame the mouth's crop at the
networks' size (the parser reads it) and the `bank.Exemplar` drawn at the frame's size.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .bank import Exemplar
from .models import LipSyncModels
from .own_mouths import OwnMouths
from .region import mouth_region_mask


class WholeMouths:
    """One character's whole mouths: `models` (their bank), its crop boxes `boxes` (F, 4)
    px, and `sources` (F,) int, the frames whose own mouths it shows (`own_mouths`; None:
    the bank's, if any), read once `read_from` says where."""

    def __init__(self, models: LipSyncModels, boxes: np.ndarray | None,
                 sources: np.ndarray | None = None):
        self.models, self.boxes, self.sources = models, boxes, sources
        self.own: OwnMouths | None = None

    def read_from(self, read: Callable[[int], np.ndarray]) -> None:
        """Where the shot's own mouths are read: `read` (frame index -> display pixels
        (H, W, 3) uint8); nothing without own mouths."""
        if self.sources is not None:
            self.own = OwnMouths(self.sources, self.boxes, read)

    def pick(self, indices: list[int], wanted: torch.Tensor, points: dict[int, np.ndarray],
             heard: np.ndarray | None, crop_frame: Callable[[np.ndarray, int], np.ndarray]
             ) -> tuple[list[torch.Tensor | None], list[Exemplar | None]]:
        """Per frame of `indices` (their generated crops `wanted` (N, 3, S, S), keypoints
        `points` i -> (25, 2) crop px, the track's viseme weights `heard` (F, 7) or None):
        (its whole mouth's crop (3, S, S), its `Exemplar`), both None for the generated
        mouth. `crop_frame(display, i)`: a frame's pixels cut at frame i's crop, (S, S, 3)
        uint8."""
        if self.own is None:
            rows = self._bank_rows(indices, wanted, points, heard)
            bank = self.models.bank
            return ([None if r is None else bank.small_on(wanted.device)[r] for r in rows],
                    [None if r is None else bank.exemplar(r, self.boxes[i])
                     for r, i in zip(rows, indices)])
        smalls, exemplars = [], []
        for i in indices:
            made = self.own.exemplar(i)
            if made is None:
                smalls.append(None)
                exemplars.append(None)
                continue
            small = crop_frame(made[0], int(self.sources[i]))
            smalls.append(torch.from_numpy(small.transpose(2, 0, 1).astype(np.float32) / 255)
                          .to(wanted.device))
            exemplars.append(made[1])
        return smalls, exemplars

    def _bank_rows(self, indices: list[int], wanted: torch.Tensor,
                   points: dict[int, np.ndarray], heard: np.ndarray | None
                   ) -> list[int | None]:
        """Per frame of `indices` the row of the models' bank to draw
        (`bank.MouthBank.choose`), all None without a bank."""
        bank = self.models.bank
        if bank is None:
            return [None] * len(indices)
        size = wanted.shape[-1]
        masks = np.stack([mouth_region_mask(points[i], (size, size))[None]
                          for i in indices]).astype(np.float32)
        return bank.choose(wanted, torch.from_numpy(masks).to(wanted.device),
                           heard[indices] if self.models.hears else None)

    def shown_probs(self, smalls: list[torch.Tensor | None], made: torch.Tensor
                    ) -> torch.Tensor:
        """Parser probabilities (N, 12, S, S) of the mouths the frames will show: those of
        `smalls` (crops (3, S, S), `pick`), else the generated ones `made`."""
        picked = [k for k, small in enumerate(smalls) if small is not None]
        if not picked:
            return made
        shown = made.clone()
        shown[picked] = self.models.parse(torch.stack([smalls[k] for k in picked])
                                          .to(made.dtype))
        return shown
