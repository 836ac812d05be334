"""Frames as stored (any of the formats renders come in) <-> the networks' display pixels.

A stored frame is what `read_frame_raw` returns: (H, W) grey, (H, W, 3) RGB or (H, W, 4)
RGBA; uint8, uint16 or float32 (EXR, scene-linear). The networks see (H, W, 3) uint8 sRGB
display pixels. Generated pixels go back into the stored frame's own representation, only
where the mask is above 0: alpha, bit depth, float range and every pixel outside the mask
stay as they were.
"""

from __future__ import annotations

import numpy as np


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Scene-linear float -> sRGB-encoded float, both in [0, 1] (input clipped)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded float in [0, 1] -> scene-linear float in [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4))


def to_display(raw: np.ndarray) -> np.ndarray:
    """A stored frame -> (H, W, 3) uint8 sRGB RGB (grey repeated, alpha dropped, 16-bit
    rounded, float treated as scene-linear)."""
    rgb = raw[..., None].repeat(3, axis=2) if raw.ndim == 2 else raw[..., :3]
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    if rgb.dtype == np.uint16:
        return ((rgb.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    display = linear_to_srgb(np.nan_to_num(rgb.astype(np.float32)))
    return np.rint(display * 255).astype(np.uint8)


def blend_into(raw: np.ndarray, rect: tuple[int, int, int, int], generated: np.ndarray,
               mask: np.ndarray) -> None:
    """Blend display pixels into the stored frame `raw`, in place, inside `rect`.

    raw: a stored frame (see the module docstring); rect: (x0, y0, x1, y1) ints;
    generated: (h, w, 3) float32 sRGB in [0, 1]; mask: (h, w) float32 in [0, 1].
    Pixels where mask == 0, and the alpha channel, are left exactly as they were.
    """
    x0, y0, x1, y1 = rect
    region = raw[y0:y1, x0:x1]
    inside = mask > 0
    if not inside.any():
        return
    if raw.dtype == np.uint8:
        values = generated * 255.0
    elif raw.dtype == np.uint16:
        values = generated * 65535.0
    else:
        values = srgb_to_linear(generated)
    if raw.ndim == 2:
        values = values @ np.array([0.299, 0.587, 0.114], np.float32)
        old = region.astype(np.float32)
        alpha = mask
    else:
        old = region[..., :3].astype(np.float32)
        alpha = mask[..., None]
    mixed = old * (1 - alpha) + values * alpha
    if raw.dtype.kind != "f":
        info = np.iinfo(raw.dtype)
        mixed = np.clip(np.rint(mixed), info.min, info.max)
    mixed = mixed.astype(raw.dtype)
    if raw.ndim == 2:
        region[inside] = mixed[inside]
    else:
        region[..., :3][inside] = mixed[inside]
