"""A speaker's own footage as the generator's training samples (self-supervised).

Each visible frame of the shot is a target; its input is what the pipeline gives the
generator when it re-voices the shot (`CharacterState`, revoice on): the passes and lip
contours of the shot's most closed mouth carried into the frame, the rest crop as the
reference, and the frame's own audio. Learning on these pairs teaches the generator this
speaker's mouth for this audio, in exactly the setting in which it will dub the shot.

Arrays (F' = visible frames, S = the generator's side; images in [0, 1]):
    crops (F', 3, S, S) the frames' own crops (target; outside the mask also the input),
    passes (F, 4, S, S) the source passes of every frame (zeros where not visible),
    heatmaps (F', 1, S, S) the source's lip contours, masks (F', 1, S, S) the mouth
    region (the frame's own mouth and the rest mouth carried into it),
    audio (F', 1, M, W) each frame's audio window, reference (3, S, S).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..audio import AudioTiming, group_window
from ..errors import InputError
from ..pipeline.character import HALF_GROUP, CharacterState, CharacterTrack
from ..pipeline.crop import box_to_crop
from ..pipeline.models import LipSyncModels
from ..pipeline.pixels import to_display
from ..pipeline.region import keypoint_heatmap, mouth_region_mask
from ..preprocess.frames import read_frame_raw
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress

MIN_FRAMES = 25          # fewer visible frames than this cannot teach a mouth


@dataclass
class Footage:
    """The samples of one character's footage (see the module docstring)."""

    frames: np.ndarray      # (F',) int: frame index of each sample
    crops: np.ndarray
    passes: np.ndarray
    heatmaps: np.ndarray
    masks: np.ndarray
    audio: np.ndarray
    reference: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def groups(self, rows: np.ndarray) -> np.ndarray:
        """(N, 4G, S, S) the source passes of the sync groups around samples `rows`."""
        last = len(self.passes) - 1
        return np.stack([np.concatenate([self.passes[min(max(self.frames[r] + k, 0), last)]
                                         for k in range(-HALF_GROUP, HALF_GROUP + 1)])
                         for r in rows])


def collect_footage(paths: Sequence[str | Path], track: CharacterTrack, fps: float,
                    models: LipSyncModels, progress: ProgressFn = no_progress,
                    should_cancel: CancelFn = never_cancel) -> Footage:
    """The samples of `track` in frames `paths` at `fps` (see the module docstring).
    InputError when fewer than MIN_FRAMES frames show the whole mouth."""
    n = len(paths)
    state = CharacterState(track, n, AudioTiming(fps=fps), models, revoice="on")
    visible = np.flatnonzero(state.visible)
    if len(visible) < MIN_FRAMES:
        raise InputError(f"character '{track.name}': only {len(visible)} of {n} frames show "
                         f"the whole mouth; learning needs at least {MIN_FRAMES}: give a longer "
                         "clip where the speaker faces the camera.")
    rest = state.reference_frame()
    state.set_reference(to_display(read_frame_raw(paths[rest])), rest)
    size, side = state.size, state.pass_side
    passes = np.zeros((n, 4, size, size), np.float32)
    crops, heatmaps, masks, audio = [], [], [], []
    for i in range(n):
        check_cancel(should_cancel)
        if state.visible[i]:
            state.add(i, to_display(read_frame_raw(paths[i])))
            passes[i] = state.passes[i]
            crops.append(state.crops[i].transpose(2, 0, 1).astype(np.float32) / 255)
            source = state.points[i]
            own = box_to_crop(track.keypoints.points[i, 0], state.boxes[i], side) * (size / side)
            heatmaps.append(keypoint_heatmap(source, (size, size))[None])
            masks.append(np.maximum(mouth_region_mask(source, (size, size)),
                                    mouth_region_mask(own, (size, size)))[None])
            audio.append(group_window(state.mfcc, state.timing, i - HALF_GROUP)[None])
            state.forget_before(i + 1)
        progress(i + 1, n, f"reading frame {i + 1}/{n}")
    return Footage(visible, np.stack(crops), passes, np.stack(heatmaps).astype(np.float32),
                   np.stack(masks).astype(np.float32), np.stack(audio).astype(np.float32),
                   state.reference.numpy())
