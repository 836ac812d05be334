"""Characters made outside the factory's code, from plain bpy, as another tool would make
them: a face mesh (looking -Y, 0.22 m tall) whose mouth is a cut with red lips around it
and a dark inside behind it (a sheet wider than the mouth, as a mouth's inside is), and shape keys that open, spread or round the mouth by name.
Files: a .glb by Blender's glTF exporter, the same with a VRM 1.0 expression table written
into its JSON, or a .blend."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import bpy
import numpy as np

N = 61                      # grid vertices per side
HALF_W, HALF_H = 0.08, 0.11
MOUTH_Z, MOUTH_HALF = -0.044, 0.025          # the cut: z, half width (m)
DROP = 0.03                                  # lower lip's drop when fully open (m)
SKIN, LIPS, INSIDE = (0.75, 0.55, 0.45, 1.0), (0.55, 0.03, 0.06, 1.0), (0.02, 0.0, 0.0, 1.0)

# key name -> (opening 0-1, width factor): a stand-in for each tool's mouth shapes
OCULUS = {"viseme_sil": (0, 1), "viseme_PP": (0, 0.95), "viseme_FF": (0.1, 1),
          "viseme_TH": (0.2, 1), "viseme_DD": (0.25, 1), "viseme_kk": (0.3, 1),
          "viseme_CH": (0.3, 0.9), "viseme_SS": (0.15, 1.1), "viseme_nn": (0.2, 1),
          "viseme_RR": (0.25, 0.85), "viseme_aa": (1, 1), "viseme_E": (0.5, 1.15),
          "viseme_I": (0.3, 1.2), "viseme_O": (0.7, 0.75), "viseme_U": (0.4, 0.65)}
ARKIT = {"jawOpen": (1, 1), "mouthFunnel": (0.3, 0.75), "mouthPucker": (0, 0.7),
         "mouthSmileLeft": (0, 1.1), "mouthSmileRight": (0, 1.1), "mouthClose": (0, 1)}
ODD = {"Kuchi_Big": (1, 1), "Kuchi_Thin": (0.3, 1.2), "Kuchi_Round": (0.4, 0.65),
       "Kuchi_Mid": (0.5, 1.15), "Kuchi_Pout": (0.6, 0.75)}     # names no scheme knows


def _face_y(x, z):
    return -0.09 * np.sqrt(np.maximum(0.08, 1 - 0.7 * (x / HALF_W) ** 2 - 0.5 * (z / HALF_H) ** 2))


def _grid():
    """Vertices (V, 3), faces, and (V,) bool: below the cut (the lower lip's side)."""
    xs, zs = np.linspace(-HALF_W, HALF_W, N), np.linspace(-HALF_H, HALF_H, N)
    row = int(np.argmin(np.abs(zs - MOUTH_Z)))
    zs[row] = MOUTH_Z
    ids = np.arange(N * N).reshape(N, N)            # [z row, x column]
    co = [(x, _face_y(x, z), z) for z in zs for x in xs]
    lower = ids.copy()
    for c in np.flatnonzero(np.abs(xs) < MOUTH_HALF - 1e-9):
        lower[row, c] = len(co)
        co.append(co[ids[row, c]])
    faces = []
    for r in range(N - 1):
        top = lower if r == row - 1 else ids        # the faces just under the cut: copies
        for c in range(N - 1):
            faces.append((ids[r, c], ids[r, c + 1], top[r + 1, c + 1], top[r + 1, c]))
    co = np.array(co)
    is_lower = co[:, 2] < MOUTH_Z - 1e-9
    is_lower[lower[row][lower[row] != ids[row]]] = True
    return co, faces, is_lower


def _offsets(co, is_lower, opening, width):
    """Per-vertex displacement (V, 3) of a mouth shape."""
    x, z = co[:, 0], co[:, 2]
    lat = np.clip(1 - (x / (1.3 * MOUTH_HALF)) ** 2, 0, 1) ** 0.7
    off = np.zeros_like(co)
    below = np.exp(-(((MOUTH_Z - z) / 0.035) ** 2))
    above = np.exp(-(((z - MOUTH_Z) / 0.012) ** 2))
    off[:, 2] = np.where(is_lower, -DROP * opening * lat * below, 0.15 * DROP * opening * lat * above)
    near = np.exp(-((x / 0.04) ** 2 + ((z - MOUTH_Z) / 0.02) ** 2))
    off[:, 0] = (width - 1) * x * near
    off[:, 1] = -0.004 * (1 - width) * near          # rounded lips push forward
    return off


def face_object(name: str = "Head", keys: dict | None = None, scene=None) -> bpy.types.Object:
    """The face mesh with shape keys `keys` (name -> (opening, width)), linked to `scene`."""
    scene = scene or bpy.context.scene
    co, faces, is_lower = _grid()
    inside = len(co) + np.arange(4)
    corners = [(-0.05, MOUTH_Z - 0.03), (0.05, MOUTH_Z - 0.03), (0.05, MOUTH_Z + 0.01),
               (-0.05, MOUTH_Z + 0.01)]                      # behind the convex face
    co = np.vstack([co, [(x, _face_y(x, z) + 0.01, z) for x, z in corners]])
    is_lower = np.concatenate([is_lower, [False] * 4])
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(co.tolist(), [], [*faces, tuple(int(i) for i in inside)])
    for colour, label in ((SKIN, "Skin"), (LIPS, "Lips"), (INSIDE, "Inside")):
        material = bpy.data.materials.new(f"{name}_{label}")
        material.diffuse_color = colour
        material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = colour
        mesh.materials.append(material)
    centres = np.array([co[list(p.vertices)].mean(axis=0) for p in mesh.polygons])
    dx, dz = centres[:, 0] / (1.25 * MOUTH_HALF), (centres[:, 2] - MOUTH_Z) / 0.016
    slots = np.where(dx ** 2 + dz ** 2 < 1, 1, 0)
    slots[-1] = 2
    mesh.polygons.foreach_set("material_index", slots.astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(slots), bool))
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(obj)
    if keys:
        obj.shape_key_add(name="Basis")
        for key, (opening, width) in keys.items():
            block = obj.shape_key_add(name=key, from_mix=False)
            moved = co + _offsets(co, is_lower, opening, width)
            block.data.foreach_set("co", moved.astype(np.float32).ravel())
    return obj


def fresh_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def export_glb(path: Path, keys: dict, name: str = "Head") -> Path:
    """A fresh file with the face (and a camera and a light, which the import leaves out),
    exported by Blender's glTF exporter."""
    scene = fresh_scene()
    face_object(name, keys, scene)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    bpy.ops.export_scene.gltf(filepath=str(path), export_format="GLB", export_cameras=True)
    return path


def read_glb(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    length = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + length]), data[20 + length:]


def write_glb(path: Path, doc: dict, rest: bytes) -> None:
    """A glTF binary with JSON chunk `doc` and the chunks `rest` (as read) after it."""
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + rest
    path.write_bytes(b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body)


def add_vrm1_expressions(glb: Path, out: Path, expressions: dict[str, dict[str, float]]) -> Path:
    """Copy `glb` to `out` with a VRM 1.0 table: vowel -> {morph target name: weight},
    bound by morph target index on the node of the mesh that has them."""
    doc, rest = read_glb(glb)
    node = next(i for i, n in enumerate(doc["nodes"]) if "mesh" in n)
    names = doc["meshes"][doc["nodes"][node]["mesh"]]["extras"]["targetNames"]
    preset = {vowel: {"morphTargetBinds": [{"node": node, "index": names.index(key),
                                            "weight": weight} for key, weight in keys.items()]}
              for vowel, keys in expressions.items()}
    doc["extensionsUsed"] = [*doc.get("extensionsUsed", []), "VRMC_vrm"]
    doc.setdefault("extensions", {})["VRMC_vrm"] = {
        "specVersion": "1.0", "meta": {"name": "test", "licenseUrl": "", "authors": ["test"]},
        "humanoid": {"humanBones": {}}, "expressions": {"preset": preset}}
    write_glb(out, doc, rest)
    return out


def save_blend(path: Path, keys: dict) -> Path:
    """A .blend with the face "Head", a hat mesh without mouth keys, a camera and a light."""
    scene = fresh_scene()
    face_object("Head", keys, scene)
    bpy.ops.mesh.primitive_cube_add(size=0.1, location=(0, 0, 0.16))
    bpy.context.object.name = "Hat"
    light = bpy.data.objects.new("Lamp", bpy.data.lights.new("Lamp", "POINT"))
    scene.collection.objects.link(light)
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path
