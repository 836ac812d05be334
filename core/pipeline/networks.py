"""The networks' work on a chunk of one character's frames (`CharacterState.generate`).

The sync expert embeds each frame's 5-frame group and its sound; the generator draws the
mouth (a warping generator: its parts, at `GeneratorConfig.out_size`, with the reference
at that size when it is twice the crop side); the parser says where the face is; the
drawn colour is sharpened, colour-matched and its teeth greyed (`finish`), and a learnt
bank may stand in a mouth of its own (`whole_mouths`). An RGB generator's mouth is kept
where the parser sees the face near either mouth (its skin is softer than the frame's),
and so is a warping generator's that moves another frame's pixels (re-voiced: the rest
frame's; a moving mouth left as it is: the shot's most closed); a warping generator that
moves the frame's own pixels (a mouth at rest, its own reference) takes the whole mouth
region. Parsing and colour matching work at the model size S: a scale-2 generator's
composed crop is shrunk to S for them, and the colour correction found there is upsampled
onto its drawn colour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..audio import FRONT_END, group_window
from ..models.generator import select_inputs
from ..models.warp import WarpParts, compose
from .bank import BANK_REACH
from .finish import (KEEP_CLASSES, bank_keep, colour_reference, grey_teeth, match_colour,
                     near_mouth, sharpen)
from .region import keypoint_heatmap

if TYPE_CHECKING:
    from .character import CharacterState

HALF_GROUP = FRONT_END.group_frames // 2   # frames each side of a frame in its sync group


def run_networks(state: CharacterState, indices: list[int]
                 ) -> tuple[np.ndarray, np.ndarray, WarpParts | None, list]:
    """(colour (N, S', S', 3), keep (N, S, S), a warping generator's parts or None, the
    bank's mouths (`WholeMouths.pick`)) of the frames `indices` of `state`: the crop (or a
    warping generator's synthesised colour, S' its parts' side), sharpened and
    colour-matched, and where its pixels are kept (`Generated`)."""
    models, device, size = state.models, state.models.device, state.size
    last = state.n_frames - 1
    groups = np.stack([np.concatenate([state.passes[min(max(i + k, 0), last)]
                                       for k in range(-HALF_GROUP, HALF_GROUP + 1)])
                       for i in indices])                              # (N, 4G, S, S)
    audio = np.stack([group_window(state.mfcc, state.timing, i - HALF_GROUP)[None]
                      for i in indices])                               # (N, 1, M, W)
    heat = np.stack([keypoint_heatmap(state.points[i], (size, size))[None]
                     for i in indices])                                # (N, 1, S, S)
    source = np.stack([state.passes[i] for i in indices])              # (N, 4, S, S)

    def tensor(a):
        return torch.from_numpy(a).to(device)

    def images(store):                                                 # (N, 3, s, s)
        return tensor(np.stack([store[i] for i in indices]).transpose(0, 3, 1, 2)
                      .astype(np.float32) / 255)

    def each(image):                                                   # (3, s, s) -> N
        return image.to(device)[None].expand(len(indices), -1, -1, -1)

    crops = images(state.crops)
    visual = models.sync.embed_visual(tensor(groups))
    sound = models.sync.embed_audio(tensor(audio))
    reference = crops if state.own_reference else each(state.reference)
    large = None
    if state.large:
        large = images(state.crops_large) if state.own_reference else each(state.reference_large)
    source, heat = select_inputs(models.generator.config.inputs, tensor(source),
                                 tensor(heat), crops)
    visemes = tensor(state.heard[indices]) if models.generator.config.visemes else None
    parts = None
    if models.generator.warps:
        parts = models.generator.parts(source, heat, reference, visual, sound, visemes, large)
        drawn = compose(parts, reference if large is None else large)     # (N, 3, S', S')
        rgb = drawn if large is None else nn.functional.adaptive_avg_pool2d(drawn, size)
    else:
        rgb = models.generator(source, heat, reference, visual, sound, visemes)
    rgb = sharpen(rgb) if state.sharpen else rgb
    probs = models.parse(crops)                                        # (N, 12, S, S)
    made = models.parse(rgb)
    rest = rest_probs = None
    if state.revoice:
        rest = images(state.rest_crops)
        rest_probs = models.parse(rest)
    matched = match_colour(rgb, *colour_reference(crops, probs, made, rest, rest_probs))
    still = crops if rest is None else rest                       # the mouth at rest
    wanted = (still + BANK_REACH * (matched - still)).clamp(0, 1)
    smalls, exemplars = state.whole.pick(indices, wanted, state.points, state.heard,
                                         state.crop_frame)
    shown = state.whole.shown_probs(smalls, made)
    if parts is not None:            # the colour correction moves the drawn colour only
        colour = sharpen(parts.colour) if state.sharpen else parts.colour
        correction = matched - rgb
        if large is not None:
            correction = nn.functional.interpolate(correction, size=colour.shape[-2:],
                                                   mode="bilinear", align_corners=False)
        matched = (colour + correction).clamp(0, 1)
    rgb = grey_teeth(matched, made)
    face = list(KEEP_CLASSES)
    if state.refine and (parts is None or not state.own_reference):   # not the frame's skin
        keep = probs[:, face].sum(dim=1) * near_mouth(probs, shown)
    else:                               # a warp moves the frame's own pixels: all are kept
        keep = torch.ones_like(probs[:, 0])
    banked = [k for k, e in enumerate(exemplars) if e is not None]
    if state.refine and banked:      # the bank's own skin: the whole face, and its jaw
        keep[banked] = bank_keep(probs[banked], shown[banked])
    return (rgb.permute(0, 2, 3, 1).float().cpu().numpy(),
            keep.float().cpu().numpy(), parts, exemplars)
