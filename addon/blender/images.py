"""Pixels between numpy and Blender images: the one place they cross.

Arrays are (H, W, 3) uint8 RGB, row 0 at the top (as the core reads frames); Blender's
pixels run bottom row first, RGBA float in [0, 1].
"""

from __future__ import annotations

import bpy
import numpy as np

OWNER = "lipsync_image"   # custom property marking the images the add-on made


def show_array(name: str, rgb: np.ndarray) -> bpy.types.Image:
    """Put `rgb` (H, W, 3) uint8 into the add-on's image `name` (made or resized as
    needed; a user's image of that name is never touched: ours then gets Blender's next
    free name) and return it."""
    height, width = rgb.shape[:2]
    image = next((i for i in bpy.data.images if i.get(OWNER) == name), None)
    if image is not None and tuple(image.size) != (width, height):
        image.scale(width, height)
    if image is None:
        image = bpy.data.images.new(name, width, height, alpha=False)
        image[OWNER] = name
    rgba = np.ones((height, width, 4), np.float32)
    rgba[..., :3] = rgb[::-1].astype(np.float32) / 255.0
    image.pixels.foreach_set(rgba.ravel())
    image.update()
    return image


def array_of(image: bpy.types.Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a Blender image (top row first)."""
    width, height = image.size
    rgba = np.empty(width * height * 4, np.float32)
    image.pixels.foreach_get(rgba)
    rgb = rgba.reshape(height, width, 4)[::-1, :, :3]
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
