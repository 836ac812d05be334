"""A mesh's triangles, UVs and colours, read for `core.mesh.painted` (the painted mouth).

Each material slot gives its triangles one colour source: the largest colour image of its
nodes (an Image Texture whose image is not "Non-Color" data, so not a normal or roughness
map), read through the active UV map; else the material's viewport colour.
"""

from __future__ import annotations

import numpy as np

from ...core.mesh.painted import TexturedMesh

MAX_SIDE = 2048   # images are read at this many pixels a side at most (every n-th pixel)


def colour_image(material):
    """The largest colour Image Texture image of `material`'s nodes, or None."""
    tree = getattr(material, "node_tree", None) if material is not None else None
    if tree is None:
        return None
    images = [n.image for n in tree.nodes
              if n.type == "TEX_IMAGE" and n.image is not None
              and n.image.colorspace_settings.name != "Non-Color"
              and n.image.size[0] > 0 and n.image.size[1] > 0]
    return max(images, key=lambda im: im.size[0] * im.size[1], default=None)


def image_rgb(image) -> np.ndarray:
    """(H, W, 3) float32 RGB 0-1 of `image`, row 0 at the bottom, at most MAX_SIDE a side."""
    w, h = image.size
    channels = image.channels
    pixels = np.empty(w * h * channels, np.float32)
    image.pixels.foreach_get(pixels)
    step = max(1, int(np.ceil(max(w, h) / MAX_SIDE)))
    rgb = pixels.reshape(h, w, channels)[::step, ::step, :3]
    if channels < 3:
        rgb = np.repeat(rgb[..., :1], 3, axis=2)
    return np.ascontiguousarray(rgb)


def textured_mesh(obj, mesh) -> tuple[TexturedMesh, list[str]]:
    """`mesh` (the evaluated mesh of `obj`, object space) with its colours, and the names
    of the images read (index = `TexturedMesh.texture_of`)."""
    mesh.calc_loop_triangles()
    n_tri = len(mesh.loop_triangles)
    triangles = np.empty(n_tri * 3, np.int32)
    mesh.loop_triangles.foreach_get("vertices", triangles)
    loops = np.empty(n_tri * 3, np.int32)
    mesh.loop_triangles.foreach_get("loops", loops)
    slot = np.empty(n_tri, np.int32)
    mesh.loop_triangles.foreach_get("material_index", slot)
    positions = np.empty(len(mesh.vertices) * 3, np.float64)
    mesh.vertices.foreach_get("co", positions)

    uv_layer = mesh.uv_layers.active
    uvs = np.zeros((len(mesh.loops), 2), np.float32)
    if uv_layer is not None:
        uvs_flat = np.empty(len(mesh.loops) * 2, np.float32)
        uv_layer.data.foreach_get("uv", uvs_flat)
        uvs = uvs_flat.reshape(-1, 2)
    materials = [s.material for s in obj.material_slots] or [None]
    slot = np.clip(slot, 0, len(materials) - 1)
    textures, names, slot_texture = [], [], []
    slot_flat = np.empty((len(materials), 3))
    for i, material in enumerate(materials):
        image = colour_image(material) if uv_layer is not None else None
        if image is not None and image.name not in names:
            names.append(image.name)
            textures.append(image_rgb(image))
        slot_texture.append(-1 if image is None else names.index(image.name))
        slot_flat[i] = (material.diffuse_color[:3] if material is not None else (0.8, 0.8, 0.8))
    return TexturedMesh(positions.reshape(-1, 3), triangles.reshape(-1, 3).astype(np.int64),
                        uvs[loops.reshape(-1, 3)].astype(np.float64),
                        np.asarray(slot_texture, np.int64)[slot], slot_flat[slot],
                        textures), names


def camera_axes(obj, camera) -> tuple[np.ndarray, np.ndarray]:
    """The camera's viewing and up directions (3,) in `obj`'s object space."""
    from mathutils import Vector

    to_object = obj.matrix_world.to_3x3().inverted()
    turn = camera.matrix_world.to_3x3()
    return (np.array(to_object @ (turn @ Vector((0, 0, -1)))),
            np.array(to_object @ (turn @ Vector((0, 1, 0)))))
