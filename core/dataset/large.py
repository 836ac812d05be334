"""A clip's crops at a scale-2 generator's parts size, cut from its stored full frames.

The factory stores crops at `--crop-size` (96 px for 64 px networks) and, with
`--full-frame-share`, the whole frames. A generator whose parts come at twice its crop side
(`GeneratorConfig.scale` 2) learns from crops at that side, cut from the full frames at the
clip's crop boxes as the pipeline cuts them (`core.pipeline.crop.crop`), cached once under
``<data>/cache/`` like the model-size arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..pipeline.crop import crop

LARGE_CACHE_VERSION = 1


def load_large_crops(data: Path, clip_id: str, versions: tuple[str, ...], side: int
                     ) -> dict[str, np.ndarray]:
    """Version -> (F, side, side, 3) uint8 RGB crops of clip `clip_id` of data set `data`;
    InputError when the clip kept no full frames."""
    cache = data / "cache" / f"{clip_id}_large{side}_v{LARGE_CACHE_VERSION}.npz"
    if cache.exists():
        arrays = dict(np.load(cache))
    else:
        folder = data / clip_id
        if not (folder / "frames.npz").exists():
            raise InputError(f"clip '{folder}' kept no full frames, which a generator of "
                             "scale 2 learns from: make the data set with "
                             "--full-frame-share 1, or train with --scale 1.")
        frames = np.load(folder / "frames.npz")
        boxes = np.load(folder / "crops.npz")["boxes"]
        arrays = {v: np.stack([crop(image, box, side) for image, box in zip(frames[v], boxes)])
                  for v in versions}
        cache.parent.mkdir(exist_ok=True)
        partial = cache.with_name(cache.stem + f".{os.getpid()}.part.npz")
        np.savez(partial, **arrays)
        os.replace(partial, cache)
    return {v: arrays[v] for v in versions}
