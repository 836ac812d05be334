"""How Learn Character renders: the mouth's border, the resolution, the render settings.

The renders cover only a border around the mouth's crops, at the resolution the networks
learn from (`render_percentage`), with samples capped; a still shot's one rest render is
linked for every frame (`link_or_copy`). `BANK_RENDERS` speaking frames are rendered again
at the shot's own size, for the mouth bank (`core.pipeline.bank`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

CROP_SCALE = 1.2         # renders: the mouth's crop this many times the crops' cut side
BANK_RENDERS = 64        # speaking frames also rendered at the shot's size (the mouth bank)


def mouth_border(track, size: tuple[int, int], margin: float) -> tuple[float, ...]:
    """(min_x, max_x, min_y, max_y) in Blender's border units (0-1, y up): the union of
    the mouth's crop boxes and the bank's boxes (`bank.bank_box`) over the frames, grown
    by `margin` crop sides."""
    from ...core.pipeline.bank import bank_box
    from ...core.pipeline.crop import crop_boxes

    boxes = crop_boxes(track.points[:, 0], track.visible[:, 0])          # (F, 4) px
    boxes = np.concatenate([boxes, bank_box(boxes)])
    pad = margin * float(np.median(boxes[:, 2] - boxes[:, 0]))
    x0, y0 = boxes[:, :2].min(axis=0) - pad
    x1, y1 = boxes[:, 2:].max(axis=0) + pad
    w, h = size
    clip = lambda v: float(min(max(v, 0.0), 1.0))                      # noqa: E731
    return clip(x0 / w), clip(x1 / w), clip(1 - y1 / h), clip(1 - y0 / h)


def render_percentage(track, percentage: int, cut_side: int) -> int:
    """The render percentage (1-`percentage`) at which the mouth's median crop box of
    `track` (projected at `percentage`) is about `CROP_SCALE` x `cut_side` px: Workbench
    and Cycles cost grows with the frame's pixels, not the border's, and the networks
    learn from crops cut at `cut_side` px."""
    from ...core.pipeline.crop import crop_boxes

    boxes = crop_boxes(track.points[:, 0], track.visible[:, 0])          # (F, 4) px
    side = float(np.median(boxes[:, 2] - boxes[:, 0]))
    wanted = int(np.ceil(percentage * CROP_SCALE * cut_side / max(side, 1.0)))
    return int(min(max(wanted, 1), percentage))


def render_settings(scene, border: tuple[float, ...], samples: int, percentage: int):
    """(owner, attribute, value) changes for the renders: the border, the percentage,
    fewer samples."""
    r = scene.render
    changes = [(r, "use_border", True), (r, "use_crop_to_border", False),
               (r, "resolution_percentage", percentage),
               (r, "border_min_x", border[0]), (r, "border_max_x", border[1]),
               (r, "border_min_y", border[2]), (r, "border_max_y", border[3])]
    if r.engine == "CYCLES":
        changes.append((scene.cycles, "samples", min(scene.cycles.samples, samples)))
    elif r.engine == "BLENDER_EEVEE":
        changes.append((scene.eevee, "taa_render_samples",
                        min(scene.eevee.taa_render_samples, samples)))
    return changes


def link_or_copy(source: Path, target: Path) -> None:
    """`target` as a hard link to `source` (a copy where links are not possible), written
    under a temporary name first."""
    part = target.with_name(target.stem + ".part.png")
    try:
        os.link(source, part)
    except OSError:
        shutil.copyfile(source, part)
    os.replace(part, target)
