"""Exact per-pixel part labels of a rendered frame (Workbench flat-colour trick).

Every material slot of the character is shown, for one render, through a
temporary object-level material whose flat colour encodes the class id of the
slot's material (`pass_index`); every other object in the scene gets the
background colour. Workbench renders that with flat lighting, no anti-aliasing,
no dither and the "Raw" view transform, so each pixel is exactly one class
colour. The picture becomes a (H, W) uint8 array of class ids.

All render, colour-management and shading settings changed for this are put
back afterwards, the material slots get their own link and material back, and
the temporary materials are deleted.

Arrays: label images are (H, W) uint8 class ids (see `PART_CLASSES`);
colours are RGB uint8.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import bpy
import numpy as np

from ...core.errors import LipSyncError
from ..blender.quiet import quiet_blender
from ..blender.render import require_camera, temporary_settings
from .character import Character
from .face_parts import OVERLAY_PROPERTY


class LabelRenderError(LipSyncError):
    """A label render came out with colours that are no class colour."""


# RGB uint8 per class id; under the Raw view transform a material colour of c/255
# renders as c exactly.
_PALETTE: dict[int, tuple[int, int, int]] = {
    0: (0, 0, 0), 1: (240, 180, 130), 2: (40, 40, 200), 3: (200, 40, 200), 4: (40, 200, 200),
    5: (200, 200, 40), 6: (120, 60, 20), 7: (255, 0, 0), 8: (255, 255, 255), 9: (0, 255, 0),
    10: (90, 90, 90), 11: (130, 0, 255),
}
_DEFAULT_GREY = (204, 204, 204)  # Workbench colour of objects without materials (0.8): background


def label_colours() -> dict[int, tuple[int, int, int]]:
    """Class id -> unique sRGB uint8 colour, for every class of `face_parts.PART_CLASSES`."""
    return dict(_PALETTE)


def labels_from_rgba(rgba: np.ndarray, tolerance: int = 1) -> np.ndarray:
    """Class ids of a label render.

    Args:
        rgba: (H, W, 4) uint8 RGBA as rendered (alpha 0 is background).
        tolerance: largest allowed channel difference to the nearest class colour.

    Returns:
        (H, W) uint8 class ids.

    Raises:
        LabelRenderError: a pixel is farther than `tolerance` from every class colour.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise LabelRenderError(f"labels_from_rgba: need (H, W, 4) uint8, got {rgba.shape} {rgba.dtype}")
    ids = np.array(list(_PALETTE) + [0], dtype=np.uint8)
    cols = np.array(list(_PALETTE.values()) + [_DEFAULT_GREY], dtype=np.int16)  # (K, 3)
    px = rgba[..., :3].astype(np.int16)
    dist = np.abs(px[:, :, None, :] - cols[None, None]).max(axis=-1)  # (H, W, K)
    nearest = dist.argmin(axis=-1)
    worst = np.take_along_axis(dist, nearest[..., None], axis=-1)[..., 0]
    opaque = rgba[..., 3] >= 128
    bad = opaque & (worst > tolerance)
    if bad.any():
        y, x = np.argwhere(bad)[0]
        raise LabelRenderError(f"label render: {int(bad.sum())} pixels match no class colour, e.g. "
                               f"{tuple(int(c) for c in rgba[y, x])} at (x={x}, y={y}); anti-aliasing, "
                               "colour management or a compositor changed the colours")
    return np.where(opaque, ids[nearest], 0).astype(np.uint8)


@contextmanager
def label_render_settings(scene: bpy.types.Scene, filepath: str) -> Iterator[None]:
    """Temporarily set `scene` up for an exact flat-colour Workbench render to `filepath`."""
    render, fmt, shading, view = (scene.render, scene.render.image_settings, scene.display.shading,
                                  scene.view_settings)
    changes = (
        (render, "engine", "BLENDER_WORKBENCH"), (render, "filepath", filepath),
        (render, "use_file_extension", False), (render, "use_sequencer", False),
        (render, "use_compositing", False), (render, "film_transparent", True),
        (render, "dither_intensity", 0.0), (render, "use_motion_blur", False),
        (render, "use_freestyle", False), (render, "use_single_layer", True),
        (fmt, "media_type", "IMAGE"), (fmt, "file_format", "PNG"), (fmt, "color_mode", "RGBA"),
        (fmt, "color_depth", "8"), (fmt, "color_management", "FOLLOW_SCENE"),
        (scene.display_settings, "display_device", "sRGB"),
        (view, "view_transform", "Raw"), (view, "look", "None"), (view, "exposure", 0.0),
        (view, "gamma", 1.0), (view, "use_curve_mapping", False), (view, "use_white_balance", False),
        (scene.display, "render_aa", "OFF"),
        (shading, "light", "FLAT"), (shading, "color_type", "MATERIAL"),
        (shading, "show_object_outline", False), (shading, "show_cavity", False),
        (shading, "show_shadows", False), (shading, "show_specular_highlight", False),
        (shading, "show_xray", False), (shading, "use_dof", False))
    with temporary_settings(changes):
        yield


def _scene_objects(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    """Objects of the scene, including those of instanced collections."""
    seen: dict[str, bpy.types.Object] = {}
    stack = list(scene.objects)
    while stack:
        obj = stack.pop()
        if obj.name_full in seen:
            continue
        seen[obj.name_full] = obj
        if obj.instance_type == "COLLECTION" and obj.instance_collection is not None:
            stack.extend(obj.instance_collection.all_objects)
    return list(seen.values())


def part_class_of(target: bpy.types.Object) -> Callable[[bpy.types.Object, object], int]:
    """class_of for `label_materials`: `target`'s materials by their `pass_index` (a
    factory character's part classes), everything else background."""

    def class_of(obj, mat) -> int:
        if obj != target or mat is None:
            return 0
        return int(mat.pass_index) if int(mat.pass_index) in _PALETTE else 0

    return class_of


@contextmanager
def label_materials(scene: bpy.types.Scene,
                    class_of: Callable[[bpy.types.Object, object], int]) -> Iterator[None]:
    """Temporarily show every material slot in the colour of class `class_of(object,
    material)`; hide overlays (objects with `face_parts.OVERLAY_PROPERTY`, such as
    outlines)."""
    made: dict[int, bpy.types.Material] = {}

    def label_material(cid: int) -> bpy.types.Material:
        if cid not in made:
            mat = bpy.data.materials.new(f"_lipsync_label_{cid}")
            mat.diffuse_color = (*(c / 255.0 for c in _PALETTE[cid]), 1.0)
            made[cid] = mat
        return made[cid]

    saved: list = []  # (slot owner, index, link, object-level material)
    hidden: list = []  # (overlay object, its hide_render)
    try:
        for obj in _scene_objects(scene):
            if obj.get(OVERLAY_PROPERTY):
                hidden.append((obj, obj.hide_render))
                obj.hide_render = True
            if obj.library is not None:
                continue
            for i, slot in enumerate(obj.material_slots):
                cid = class_of(obj, slot.material)
                link = slot.link
                slot.link = "OBJECT"
                saved.append((obj, i, link, slot.material))
                slot.material = label_material(cid)
        yield
    finally:
        for obj, i, link, mat in reversed(saved):
            slot = obj.material_slots[i]
            slot.material = mat
            slot.link = link
        for obj, hide in hidden:
            obj.hide_render = hide
        for mat in made.values():
            bpy.data.materials.remove(mat)


def _read_rgba(path: str) -> np.ndarray:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    bgra = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if bgra is None or bgra.ndim != 3 or bgra.shape[2] != 4:
        raise LabelRenderError(f"label render: cannot read RGBA PNG {path}")
    return bgra[..., [2, 1, 0, 3]]


def write_label_png(labels: np.ndarray, path: str | os.PathLike) -> None:
    """Write (H, W) uint8 class ids as an 8-bit grey PNG (atomically)."""
    import cv2

    path = Path(path)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(labels, dtype=np.uint8))
    if not ok:
        raise LabelRenderError(f"cannot encode label PNG for {path}")
    partial = path.with_name(path.stem + ".tmp" + path.suffix)
    partial.write_bytes(buf.tobytes())
    os.replace(partial, path)


def render_labels(scene: bpy.types.Scene, character: Character | bpy.types.Object, frame: int,
                  path: str | os.PathLike) -> np.ndarray:
    """Render the part labels of scene frame `frame` to the grey PNG `path`.

    Uses the scene's camera, resolution and border; the current frame, render
    settings and materials are as before afterwards.

    Returns:
        (H, W) uint8 class ids (`PART_CLASSES`; 0 is background and other objects).

    Raises:
        InputError: the scene has no camera.
        LabelRenderError: the render has pixels of no class colour.
    """
    target = character.object if isinstance(character, Character) else character
    require_camera(scene)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame_before = scene.frame_current
    with tempfile.TemporaryDirectory(prefix="lipsync-labels-") as tmp:
        raw = os.path.join(tmp, "labels_rgba.png")
        try:
            with label_render_settings(scene, raw), label_materials(scene, part_class_of(target)):
                scene.frame_set(int(frame))
                with quiet_blender():
                    bpy.ops.render.render(write_still=True, scene=scene.name)
        finally:
            scene.frame_set(frame_before)
        if not os.path.isfile(raw):
            raise LabelRenderError(f"label render of frame {frame} wrote no image")
        labels = labels_from_rgba(_read_rgba(raw))
    write_label_png(labels, path)
    return labels



def render_label_range(scene: bpy.types.Scene, character: Character | bpy.types.Object,
                       first: int, last: int, class_of=None) -> np.ndarray:
    """Part labels of scene frames first..last, rendered in one animation render.

    class_of: (object, material) -> class id of `_PALETTE` (default `part_class_of` the
    character).

    Returns:
        (F, H, W) uint8 class ids, F = last - first + 1.
    """
    target = character.object if isinstance(character, Character) else character
    class_of = class_of or part_class_of(target)
    require_camera(scene)
    frame_before = scene.frame_current
    with tempfile.TemporaryDirectory(prefix="lipsync-labels-") as tmp:
        changes = ((scene, "frame_start", first), (scene, "frame_end", last))
        try:
            with temporary_settings(changes), \
                    label_render_settings(scene, os.path.join(tmp, "#####")), \
                    label_materials(scene, class_of):
                scene.render.use_file_extension = True
                with quiet_blender():
                    bpy.ops.render.render(animation=True, scene=scene.name)
        finally:
            scene.frame_set(frame_before)
        stack = []
        for frame in range(first, last + 1):
            raw = os.path.join(tmp, f"{frame:05d}.png")
            if not os.path.isfile(raw):
                raise LabelRenderError(f"label render of frame {frame} wrote no image")
            stack.append(labels_from_rgba(_read_rgba(raw)))
    return np.stack(stack)
