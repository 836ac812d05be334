"""A speaker's footage, or a character's renders, as the generator's training samples.

Footage (`collect_footage`, self-supervised): each visible frame of the shot is a target;
its input is what the pipeline gives the generator when it re-voices the shot
(`CharacterState`, revoice on): the passes and lip contours of the shot's most closed
mouth carried into the frame, the rest crop as the reference, and the frame's own audio.
Learning on these pairs teaches the generator this speaker's mouth for this audio, in
exactly the setting in which it will dub the shot.

Renders (`collect_renders`): a character rendered twice from the same camera, mouth at
rest and speaking; the rest render is the input (as an animator's shot), the speaking
render the target: the factory's training setting, on the user's own character.

Arrays (F' = visible frames, S = the generator's side; images in [0, 1]):
    crops (F', 3, S, S) the target crops, inputs (F', 3, S, S) the input crops (kept
    outside the mask; the same array as crops for footage),
    passes (F, 4, S, S) the source passes of every frame (zeros where not visible),
    heatmaps (F', 1, S, S) the source's lip contours, masks (F', 1, S, S) the mouth
    region (the frame's own mouth and the rest mouth carried into it),
    audio (F', 1, M, W) each frame's audio window, reference (3, S, S);
    bank: footage's own mouths at their `bank_box`es' size (`core.pipeline.bank`), at most
    `bank.bank_size` of them spread over the frames, hearing every frame's viseme weights
    as the viseme reader reads its speech (`hear`); renders have none (`collect_bank`
    makes theirs from renders at the shot's size, and hears the weights they were driven
    by).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..audio import AudioTiming, group_window
from ..errors import InputError
from ..pipeline.character import CharacterState, CharacterTrack
from ..pipeline.networks import HALF_GROUP
from ..pipeline.bank import MouthBank, bank_side, bank_size, cut_exemplar, spread
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
    inputs: np.ndarray
    passes: np.ndarray
    heatmaps: np.ndarray
    masks: np.ndarray
    audio: np.ndarray
    reference: np.ndarray
    bank: MouthBank | None  # footage: its own mouths (`core.pipeline.bank`); renders: None
    visemes: np.ndarray | None = None  # (F', 7) the sound's viseme weights as the models'
                                       # reader reads them (None: no reader)
    reference_large: np.ndarray | None = None  # (3, 2S, 2S) the reference at a scale-2
                                               # generator's parts side (else None)

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
    return _collect(paths, None, track, fps, models, progress, should_cancel)


def collect_renders(rest_paths: Sequence[str | Path], speaking_paths: Sequence[str | Path],
                    track: CharacterTrack, fps: float, models: LipSyncModels,
                    progress: ProgressFn = no_progress,
                    should_cancel: CancelFn = never_cancel) -> Footage:
    """The samples of a character rendered at rest (`rest_paths`, whose keypoints `track`
    holds, with the speaking render's audio) and speaking (`speaking_paths`, the same
    frames); see the module docstring. InputError as `collect_footage`."""
    if len(rest_paths) != len(speaking_paths):
        raise InputError(f"character '{track.name}': {len(rest_paths)} frames at rest but "
                         f"{len(speaking_paths)} speaking: render both over the same frames.")
    return _collect(rest_paths, speaking_paths, track, fps, models, progress, should_cancel)


def _collect(paths, targets, track: CharacterTrack, fps: float, models: LipSyncModels,
             progress: ProgressFn, should_cancel: CancelFn) -> Footage:
    """Footage (`targets` None: re-voiced from the shot's rest mouth, each frame its own
    target) or renders (`targets`: the speaking frames; the inputs `paths` as they are)."""
    n = len(paths)
    state = CharacterState(track, n, AudioTiming(fps=fps), models,
                           revoice="on" if targets is None else "off")
    visible = np.flatnonzero(state.visible)
    if len(visible) < MIN_FRAMES:
        raise InputError(f"character '{track.name}': only {len(visible)} of {n} frames show "
                         f"the whole mouth; learning needs at least {MIN_FRAMES}: give a longer "
                         "clip where the face is towards the camera.")
    rest = state.reference_frame()
    state.set_reference(to_display(read_frame_raw(paths[rest])), rest)
    size, side = state.size, state.pass_side
    passes = np.zeros((n, 4, size, size), np.float32)
    crops, inputs, heatmaps, masks, audio, small, large = [], [], [], [], [], [], []
    side_px = bank_side(state.boxes[visible])
    banked = spread(visible, bank_size(side_px)) if targets is None else set()
    for i in range(n):
        check_cancel(should_cancel)
        if state.visible[i]:
            frame = to_display(read_frame_raw(paths[i]))
            state.add(i, frame)
            passes[i] = state.passes[i]
            inputs.append(_unit(state.crops[i]))
            if targets is None:
                crops.append(inputs[-1])
                if i in banked:
                    large.append(cut_exemplar(frame, state.boxes[i], side_px))
                    small.append(crops[-1])
            else:
                crops.append(_unit(state.crop_frame(to_display(read_frame_raw(targets[i])), i)))
            source = state.points[i]
            own = box_to_crop(track.keypoints.points[i, 0], state.boxes[i], side) * (size / side)
            heatmaps.append(keypoint_heatmap(source, (size, size))[None])
            masks.append(np.maximum(mouth_region_mask(source, (size, size)),
                                    mouth_region_mask(own, (size, size)))[None])
            audio.append(group_window(state.mfcc, state.timing, i - HALF_GROUP)[None])
            state.forget_before(i + 1)
        progress(i + 1, n, f"reading frame {i + 1}/{n}")
    crops, masks = np.stack(crops), np.stack(masks).astype(np.float32)
    footage = Footage(visible, crops, crops if targets is None else np.stack(inputs), passes,
                      np.stack(heatmaps).astype(np.float32), masks,
                      np.stack(audio).astype(np.float32), state.reference.numpy(), None,
                      None if state.heard is None else state.heard[visible],
                      None if state.reference_large is None else state.reference_large.numpy())
    if small:
        footage.bank = hear(MouthBank.from_crops(np.stack(small), np.stack(large)), footage,
                            state.heard)
    return footage


def collect_bank(paths: Sequence[str | Path | None], track: CharacterTrack, fps: float,
                 models: LipSyncModels, should_cancel: CancelFn = never_cancel) -> MouthBank:
    """The mouth bank of a character's speaking renders `paths` (one per frame of `track`,
    at the shot's resolution; None: not rendered), cropped where a lip-sync run of the
    shot at rest crops them (it hears nothing yet: `hear`). InputError when no rendered
    frame shows the mouth."""
    state = CharacterState(track, len(paths), AudioTiming(fps=fps), models, revoice="off")
    rendered = [i for i, p in enumerate(paths) if p is not None and state.visible[i]]
    if not rendered:
        raise InputError(f"character '{track.name}': no bank render shows the whole mouth.")
    side_px = bank_side(state.boxes[rendered])
    small, large = [], []
    for i in sorted(spread(rendered, bank_size(side_px))):
        check_cancel(should_cancel)
        frame = to_display(read_frame_raw(paths[i]))
        small.append(_unit(state.crop_frame(frame, i)))
        large.append(cut_exemplar(frame, state.boxes[i], side_px))
    return MouthBank.from_crops(np.stack(small), np.stack(large))


def hear(bank: MouthBank, footage: Footage, visemes: np.ndarray | None) -> MouthBank:
    """`bank` with the sound of `footage`'s frames (`MouthBank.hearing`): their crops and
    the viseme weights (F, 7) of the whole track `visemes` (as it was driven, or
    `CharacterState.heard`); as it is when there are none (no viseme reader)."""
    if visemes is None:
        return bank
    return bank.hearing(footage.crops, footage.masks, np.asarray(visemes)[footage.frames])


def _unit(image: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 -> (3, S, S) float32 in [0, 1]."""
    return image.transpose(2, 0, 1).astype(np.float32) / 255
