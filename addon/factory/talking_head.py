"""A small procedural talking head, built from code (demo and integration tests).

`build_talking_head(scene)` adds ONE mesh object "Head" (skin, lips, teeth,
mouth interior, eyes, brows, nose, hair; one material per part, with
`pass_index` = class id from `PART_CLASSES`), a vertex group "mouth" (both
lips), shape keys "Basis" and "open", a camera, a sun light and a world colour.

The face looks towards -Y; the camera sits on the -Y side looking at +Y.

The building blocks (`MeshBuilder`, `make_material`, `mesh_from_builder`,
`add_shape_key`...) are in `face_parts.py`, shared with the characters of the
training-data factory (`character.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import bmesh
import bpy
import numpy as np

from .face_parts import (MOUTH_GROUP, PART_CLASSES, MeshBuilder, add_shape_key, add_vertex_group,
                         make_material, matrix_from, mesh_from_builder)
from .head_geometry import smoothstep

# Linear base colours (RGB) per part; skin is jittered by the seed.
_COLOURS: dict[str, tuple[float, float, float]] = {
    "skin": (0.60, 0.36, 0.25),
    "brow_left": (0.035, 0.022, 0.015),
    "brow_right": (0.035, 0.022, 0.015),
    "eye_left": (0.85, 0.85, 0.82),
    "eye_right": (0.85, 0.85, 0.82),
    "nose": (0.60, 0.34, 0.24),
    "lip_upper": (0.55, 0.08, 0.10),
    "teeth": (0.90, 0.90, 0.86),
    "lip_lower": (0.55, 0.08, 0.10),
    "hair": (0.045, 0.028, 0.018),
    "mouth_interior": (0.012, 0.002, 0.003),
    "pupil": (0.015, 0.015, 0.02),
}

# Roles used to build the "open" shape key (0: not moved).
_R_JAW, _R_LIP_UP, _R_LIP_LO, _R_TEETH_LO, _R_INTERIOR = 1, 2, 3, 4, 5

OPEN_KEY = "open"


@dataclass
class TalkingHead:
    """What `build_talking_head` made."""

    head: bpy.types.Object
    camera: bpy.types.Object
    light: bpy.types.Object
    mouth_group: str = MOUTH_GROUP


@dataclass
class _Dims:
    rx: float  # head half width
    ry: float  # head half depth
    rz: float  # head half height
    mz: float  # mouth line height
    mw: float  # mouth half width
    drop: float  # how far the lower lip drops at open=1

    def taper(self, z: float) -> float:
        """Jaw taper: the head narrows below its middle."""
        t = min(max(-z / self.rz, 0.0), 1.0)
        return 1.0 - 0.28 * t * t

    def chin(self, x: float, z: float) -> float:
        """Extra forward push of the chin (added to -y)."""
        return 0.10 * math.exp(-(((z + 0.80) / 0.16) ** 2) - (x / 0.30) ** 2)

    def face_y(self, x: float, z: float) -> float:
        """y of the front skin surface at (x, z)."""
        xs = x / (self.rx * self.taper(z))
        s = 1.0 - xs * xs - (z / self.rz) ** 2
        return -self.ry * math.sqrt(max(s, 0.0)) - self.chin(x, z)


def _build_mesh(d: _Dims) -> tuple[bmesh.types.BMesh, MeshBuilder]:
    b = MeshBuilder()
    mz, mw = d.mz, d.mw

    # Head: deformed UV sphere (jaw taper, chin).
    head = b.sphere((0, 0, 0), (1, 1, 1), "skin", segs=(48, 32), role=_R_JAW)
    for v in head:
        x, y, z = v.co
        x, y, z = x * d.rx, y * d.ry, z * d.rz
        x *= d.taper(z)
        if y < 0:
            y -= d.chin(x, z) * min(1.0, -y / (0.5 * d.ry))
        v.co = (x, y, z)

    # Neck.
    neck = bmesh.ops.create_cone(b.bm, cap_ends=False, segments=24, radius1=0.40, radius2=0.42,
                                 depth=1.0, matrix=matrix_from((0, 0.12, -1.25), (1, 1, 1)))["verts"]
    b.tag(neck, "skin")

    # Nose: a tall bump plus a round tip.
    fy = d.face_y(0, -0.08)
    b.sphere((0, fy + 0.02, -0.02), (0.085, 0.11, 0.22), "nose", segs=(20, 12))
    b.sphere((0, fy - 0.06, -0.17), (0.10, 0.09, 0.085), "nose", segs=(20, 12))

    # Eyes (white ball + dark pupil) and brows.
    for side, sx in (("left", 1), ("right", -1)):
        # "left" is the character's left, which is image right (+x seen from -y).
        ex, ez, er = 0.30 * sx, 0.16, 0.125
        ey = d.face_y(ex, ez) + 0.07
        b.sphere((ex, ey, ez), (er, er, er), f"eye_{side}", segs=(20, 12))
        b.sphere((ex, ey - er + 0.03, ez), (0.062, 0.04, 0.062), f"pupil_{side}", segs=(16, 8))

        def brow_c(t, sx=sx, ex=ex):
            x = ex + sx * (t - 0.5) * 0.30
            z = 0.37 + 0.045 * math.sin(math.pi * t) - 0.03 * (t - 0.5) * 1.0
            return (x, d.face_y(x, z) - 0.015, z)

        b.tube(brow_c, lambda t: 0.032 * (0.55 + 0.45 * math.sin(math.pi * min(max(t, 0.08), 0.92))),
               12, 8, f"brow_{side}", depth=0.6)

    # Hair: the upper part of a slightly larger head shell.
    hair = b.sphere((0, 0, 0), (1, 1, 1), "hair", segs=(48, 24))
    drop = []
    for v in hair:
        x, y, z = v.co
        # Hairline: high at the front, low at the back.
        thr = 0.40 - 0.30 * y
        if z < thr:
            drop.append(v)
        x, y, z = x * d.rx * 1.07, y * d.ry * 1.08, z * d.rz * 1.06 + 0.04
        x *= d.taper(z)
        v.co = (x, y, z)
    bmesh.ops.delete(b.bm, geom=drop, context="VERTS")

    # Lips: two tubes along the mouth line, meeting at the corners.
    lip_off = 0.045

    def upper_c(t):
        u = 2 * t - 1
        x = mw * u
        z = mz + 0.034 * (1 - u * u) + 0.010 * math.cos(math.pi * u * 3) * (1 - u * u)
        return (x, d.face_y(x, mz) - lip_off + 0.02 * u * u, z)

    def lower_c(t):
        u = 2 * t - 1
        x = mw * u
        z = mz - 0.040 * (1 - u * u)
        return (x, d.face_y(x, mz) - lip_off + 0.02 * u * u, z)

    def lip_r(scale):
        return lambda t: scale * (0.25 + 0.75 * math.sqrt(max(1 - (2 * t - 1) ** 2, 0.0)))

    b.tube(upper_c, lip_r(0.046), 33, 12, "lip_upper", role=_R_LIP_UP)
    b.tube(lower_c, lip_r(0.052), 33, 12, "lip_lower", role=_R_LIP_LO)

    # Mouth interior: a dark sheet just in front of the skin, hidden by closed lips.
    iw = 0.92 * mw

    def interior(u, v):
        x = iw * u
        z = mz + 0.035 * v * math.sqrt(max(1 - u * u, 0.0))
        return (x, d.face_y(x, mz) - 0.010, z)

    b.sheet(interior, 21, 7, "mouth_interior", role_fn=lambda co: _R_INTERIOR)

    # Teeth: curved strips between the interior and the lips.
    tw = 0.68 * mw

    def upper_teeth(u, v):
        x = tw * u
        z = mz + 0.012 + 0.040 * v - 0.01 * u * u
        return (x, d.face_y(x, mz) - 0.022, z)

    def lower_teeth(u, v):
        x = 0.9 * tw * u
        z = mz - 0.032 + 0.040 * v + 0.01 * u * u
        return (x, d.face_y(x, mz) - 0.020, z)

    b.sheet(upper_teeth, 13, 3, "teeth")
    b.sheet(lower_teeth, 13, 3, "teeth", role_fn=lambda co: _R_TEETH_LO)
    return b.bm, b


def _open_offsets(co: np.ndarray, role: np.ndarray, d: _Dims) -> np.ndarray:
    """Per-vertex displacement for the "open" shape key."""
    x, y, z = co[:, 0], co[:, 1], co[:, 2]
    off = np.zeros_like(co)
    u = np.clip(x / d.mw, -1.0, 1.0)
    lat = np.clip(1.0 - u * u, 0.0, 1.0) ** 0.6  # 1 in the middle, 0 at the corners

    lo = role == _R_LIP_LO
    off[lo, 2] = -d.drop * lat[lo]
    up = role == _R_LIP_UP
    off[up, 2] = 0.015 * lat[up]
    lips = lo | up
    off[lips, 0] = -0.06 * x[lips] * np.abs(u[lips])  # corners slightly in

    teeth = role == _R_TEETH_LO
    off[teeth, 2] = -0.85 * d.drop * lat[teeth]
    off[teeth, 1] = 0.01

    inner = role == _R_INTERIOR
    iu = np.clip(x / (0.92 * d.mw), -1.0, 1.0)
    v = np.clip((z - d.mz) / 0.035, -1.0, 1.0)  # -1 bottom edge, +1 top edge
    ilat = np.clip(1.0 - iu * iu, 0.0, 1.0) ** 0.6
    w_in = ilat * (1.0 - v) / 2.0
    off[inner, 2] = (-d.drop * w_in + 0.015 * ilat * (1 + v) / 2)[inner]
    off[inner, 1] = 0.03 * ilat[inner]  # deeper when open
    off[inner, 0] = (-0.06 * x * np.abs(iu))[inner]

    jaw = role == _R_JAW
    wz = smoothstep(d.mz - 0.005, d.mz - 0.13, z)
    wy = smoothstep(-0.25 * d.ry, -0.6 * d.ry, y)
    wx = 1.0 - smoothstep(0.25, 0.65, np.abs(x))
    w = wz * wy * wx
    off[jaw, 2] = -0.85 * d.drop * w[jaw]
    off[jaw, 1] = 0.02 * w[jaw]
    return off


def build_talking_head(
    scene: bpy.types.Scene,
    *,
    seed: int = 0,
    resolution: tuple[int, int] = (256, 256),
    engine: str = "CYCLES",
    samples: int = 16,
    mouth_open: Sequence[float] | None = None,
) -> TalkingHead:
    """Add a procedural talking head, camera and light to `scene`; return them.

    `mouth_open`, if given, is one value in [0, 1] per frame from
    `scene.frame_start`; the "open" shape key is keyframed with it.
    """
    rng = np.random.default_rng(seed)
    width = float(rng.uniform(0.94, 1.06))
    d = _Dims(rx=0.80 * width, ry=0.86, rz=1.05, mz=-0.45, mw=0.31, drop=0.24)

    bm, b = _build_mesh(d)
    mesh, arrays = mesh_from_builder(b, "Head")
    part = arrays["part"]

    # Materials, one slot per part.
    tone = float(rng.uniform(0.85, 1.15))
    warm = float(rng.uniform(-0.03, 0.03))
    for name in b.slots:
        colour = _COLOURS.get(name) or _COLOURS["pupil"]
        if name.startswith("pupil"):
            colour = _COLOURS["pupil"]
        if name in ("skin", "nose"):
            r, g, bb = colour
            colour = (r * tone, g * tone * (1 + warm), bb * tone * (1 - warm))
        mesh.materials.append(make_material(f"Head_{name}", name, colour))

    obj = bpy.data.objects.new("Head", mesh)
    scene.collection.objects.link(obj)

    # Vertex group "mouth": both lips.
    lips = np.flatnonzero((part == PART_CLASSES["lip_upper"]) | (part == PART_CLASSES["lip_lower"]))
    add_vertex_group(obj, MOUTH_GROUP, lips)

    # Shape keys.
    n = len(mesh.vertices)
    co = np.empty(n * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(n, 3).astype(np.float64)
    key = add_shape_key(obj, OPEN_KEY, co + _open_offsets(co, arrays["role"], d))
    mesh.update()

    if mouth_open is not None:
        values = np.clip(np.asarray(mouth_open, dtype=np.float64), 0.0, 1.0)
        for i, value in enumerate(values):
            key.value = float(value)
            key.keyframe_insert("value", frame=scene.frame_start + i)

    # Camera: in front of the face, mouth in the lower-middle of the frame.
    cam_data = bpy.data.cameras.new("HeadCamera")
    cam_data.lens = 50.0
    cam_data.sensor_fit = "AUTO"
    cam_data.clip_start = 0.1
    cam_data.clip_end = 50.0
    camera = bpy.data.objects.new("HeadCamera", cam_data)
    camera.location = (0.0, -4.55, -0.10)
    camera.rotation_euler = (math.pi / 2, 0.0, 0.0)
    scene.collection.objects.link(camera)
    scene.camera = camera

    # Light: a soft sun from the upper front right, and a grey world.
    light_data = bpy.data.lights.new("HeadLight", "SUN")
    light_data.energy = 2.3
    light_data.angle = math.radians(12.0)
    light = bpy.data.objects.new("HeadLight", light_data)
    light.rotation_euler = (math.radians(55.0), 0.0, math.radians(-25.0))
    scene.collection.objects.link(light)

    world = scene.world or bpy.data.worlds.new("HeadWorld")
    scene.world = world
    grey = (0.22, 0.24, 0.28)
    world.color = grey
    if world.node_tree is not None:
        bg = next((n for n in world.node_tree.nodes if n.bl_idname == "ShaderNodeBackground"), None)
        if bg is None:
            bg = world.node_tree.nodes.new("ShaderNodeBackground")
            out = next((n for n in world.node_tree.nodes if n.bl_idname == "ShaderNodeOutputWorld"), None)
            if out is None:
                out = world.node_tree.nodes.new("ShaderNodeOutputWorld")
            world.node_tree.links.new(bg.outputs["Background"], out.inputs["Surface"])
        bg.inputs["Color"].default_value = (*grey, 1.0)
        bg.inputs["Strength"].default_value = 1.0

    # Render settings.
    render = scene.render
    render.resolution_x, render.resolution_y = int(resolution[0]), int(resolution[1])
    render.resolution_percentage = 100
    render.engine = engine
    render.film_transparent = False
    scene.cycles.samples = int(samples)
    scene.cycles.use_denoising = False
    scene.cycles.device = "CPU"
    scene.display.shading.color_type = "MATERIAL"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.show_specular_highlight = False
    return TalkingHead(head=obj, camera=camera, light=light, mouth_group=MOUTH_GROUP)
