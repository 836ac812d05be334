"""The look of "realistic" characters in Blender: vertex colours, procedural materials,
wires (glasses) and the Workbench setting.

- Vertex colours (`write_vertex_colours`): every vertex gets its part's colour; skin and
  nose vertices get `realistic_skin.skin_colours` (blush, shade, unevenness, freckle tint),
  with facial hair in `COLOUR_ATTRIBUTE` (active: what Workbench shows, `style_scene`
  setting its colour type to "VERTEX") and without it in `SKIN_ATTRIBUTE` (the shader's
  base, which draws the hairs itself); the skin's masks become point attributes
  (`ATTRIBUTES`). So Workbench keeps the skin's variation, lips, teeth and beards without
  shader nodes.
- Materials (`realistic_material`, Cycles and EEVEE): Principled with subsurface scattering
  on skin, lips, gums and tongue; procedural detail in object space (metres): pores (noise
  and Voronoi bump), freckle dots (Voronoi) and facial hair (fine noise) where the masks
  say, age lines (wave bands) where "wrinkle" says, fine vertical lines on the lips, gaps
  between teeth, strands in hair, brows and lashes. No image files.
Every material keeps `pass_index` = its part's class id (`face_parts.make_material`).
"""

from __future__ import annotations

import bpy
import numpy as np

from .face_parts import make_material
from .realistic_skin import HAIR_COVER, skin_colours, skin_maps

COLOUR_ATTRIBUTE = "lipsync_colour"      # with facial hair: Workbench
SKIN_ATTRIBUTE = "lipsync_skin"          # without: the shader's base (it draws the hairs)
ATTRIBUTES = {"hair": "lipsync_hair", "freckle": "lipsync_freckle", "wrinkle": "lipsync_wrinkle"}
EYE_WHITE = (0.62, 0.57, 0.53)     # linear RGB, a little warmer and darker than paper white
_SKIN_SLOTS = ("skin", "nose")
_SSS_RADIUS = (1.0, 0.25, 0.12)    # red scatters furthest
_HAIRY = ("hair", "brow_left", "brow_right", "lash_left", "lash_right")


def wire(b, points: np.ndarray, radius: float, part: str, m: int = 8) -> None:
    """A round wire of `radius` (builder units) along `points` (K, 3), into builder `b`."""
    bm = b.bm
    pts = np.asarray(points, dtype=np.float64)
    tangent = np.gradient(pts, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    rings, verts = [], []
    for p, t in zip(pts, tangent):
        ref = np.array([0.0, 0.0, 1.0]) if abs(t[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        n1 = np.cross(t, ref)
        n1 /= np.linalg.norm(n1)
        n2 = np.cross(t, n1)
        ring = [bm.verts.new(tuple(p + radius * (np.cos(a) * n1 + np.sin(a) * n2)))
                for a in 2.0 * np.pi * np.arange(m) / m]
        rings.append(ring)
        verts += ring
    for r0, r1 in zip(rings, rings[1:]):
        for j in range(m):
            bm.faces.new((r0[j], r0[(j + 1) % m], r1[(j + 1) % m], r1[j]))
    b.tag(verts, part)


def write_vertex_colours(mesh, face, co: np.ndarray, slots: list[str],
                         colours: dict) -> None:
    """Colour attribute `COLOUR_ATTRIBUTE` (active) and the skin masks of `ATTRIBUTES` on
    `mesh`; co: (N, 3) builder-unit vertex positions; slots: part name per material slot;
    colours: part name -> linear RGB."""
    n = len(mesh.vertices)
    index = np.empty(len(mesh.polygons), dtype=np.int32)
    mesh.polygons.foreach_get("material_index", index)
    slot_of = np.zeros(n, dtype=np.int32)
    for poly, mi in zip(mesh.polygons, index):
        slot_of[list(poly.vertices)] = mi
    rgb = np.array([colours.get(name, (0.5, 0.5, 0.5)) for name in slots])[slot_of]
    for i, name in enumerate(slots):
        if name.startswith("eye_"):
            rgb[slot_of == i] = EYE_WHITE
    skin = np.isin(slot_of, [slots.index(s) for s in _SKIN_SLOTS if s in slots])
    maps = skin_maps(face, co[skin])
    for name, hairs in ((SKIN_ATTRIBUTE, False), (COLOUR_ATTRIBUTE, True)):
        rgb[skin] = skin_colours(face.s, maps, co[skin], facial_hair=hairs)
        attr = mesh.color_attributes.new(name, "FLOAT_COLOR", "POINT")
        rgba = np.concatenate([rgb, np.ones((n, 1))], axis=1).astype(np.float32)
        attr.data.foreach_set("color", rgba.ravel())
    mesh.color_attributes.active_color = attr
    mesh.color_attributes.render_color_index = mesh.color_attributes.active_color_index
    for key, name in ATTRIBUTES.items():
        values = np.zeros(n, dtype=np.float32)
        values[skin] = maps[key]
        mesh.attributes.new(name, "FLOAT", "POINT").data.foreach_set("value", values)


class _Nodes:
    """Small helpers to build one material's node tree."""

    def __init__(self, mat):
        self.tree = mat.node_tree
        self.bsdf = next(n for n in self.tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
        self.coords = self.new("ShaderNodeTexCoord").outputs["Object"]

    def new(self, kind: str, **inputs):
        node = self.tree.nodes.new(kind)
        for key, value in inputs.items():
            if key in node.inputs:
                node.inputs[key].default_value = value
            else:
                setattr(node, key, value)
        return node

    def link(self, a, b):
        self.tree.links.new(a, b)

    def attribute(self, name: str, output: str = "Factor"):
        return self.new("ShaderNodeAttribute", attribute_name=name).outputs[output]

    def math(self, op: str, a, b=None, clamp: bool = False):
        node = self.new("ShaderNodeMath", operation=op, use_clamp=clamp)
        for i, value in enumerate((a, b)):
            if value is None:
                continue
            if isinstance(value, (int, float)):
                node.inputs[i].default_value = float(value)
            else:
                self.link(value, node.inputs[i])
        return node.outputs[0]

    def texture(self, kind: str, scale: float, output: str, **settings):
        node = self.new(kind, Scale=scale, **settings)
        self.link(self.coords, node.inputs["Vector"])
        return node.outputs[output]

    def mix(self, factor, a, b):
        node = self.new("ShaderNodeMix", data_type="RGBA", blend_type="MIX")
        self.link(factor, node.inputs["Factor"])
        for socket, value in ((node.inputs[6], a), (node.inputs[7], b)):
            if isinstance(value, tuple):
                socket.default_value = (*value, 1.0)
            else:
                self.link(value, socket)
        return node.outputs[2]

    def bump(self, height, strength: float, distance: float = 0.001):
        node = self.new("ShaderNodeBump", Strength=strength, Distance=distance)
        self.link(height, node.inputs["Height"])
        self.link(node.outputs["Normal"], self.bsdf.inputs["Normal"])

    def sss(self, weight: float, scale: float = 0.004):
        self.bsdf.subsurface_method = "BURLEY"    # cheaper than random walk at few samples
        self.bsdf.inputs["Subsurface Weight"].default_value = weight
        self.bsdf.inputs["Subsurface Radius"].default_value = _SSS_RADIUS
        self.bsdf.inputs["Subsurface Scale"].default_value = scale


def _skin(nd: _Nodes, spec) -> None:
    colour = nd.attribute(SKIN_ATTRIBUTE, "Color")
    pores = nd.texture("ShaderNodeTexNoise", 450.0, "Factor", Detail=2.0)
    cells = nd.texture("ShaderNodeTexVoronoi", 700.0, "Distance")
    height = nd.math("ADD", pores, nd.math("MULTIPLY", cells, 0.6))
    # Freckles: Voronoi cells near their centre, where the freckle mask is.
    spots = nd.texture("ShaderNodeTexVoronoi", 380.0, "Distance")
    dots = nd.math("MULTIPLY", nd.math("LESS_THAN", spots, 0.22),
                   nd.attribute(ATTRIBUTES["freckle"]))
    colour = nd.mix(nd.math("MULTIPLY", dots, 0.7), colour,
                    tuple(c * 0.55 for c in spec.skin_colour))
    # Facial hair: fine noise thresholded into hairs over the hair mask.
    hairs = nd.texture("ShaderNodeTexNoise", 1500.0, "Factor", Detail=1.0)
    threshold = 0.62 - 0.2 * HAIR_COVER[spec.facial_hair]
    strand = nd.math("MULTIPLY", nd.math("GREATER_THAN", hairs, threshold),
                     nd.attribute(ATTRIBUTES["hair"]))
    colour = nd.mix(nd.math("MULTIPLY", strand, 0.95), colour,
                    tuple(c * 0.8 for c in spec.facial_hair_colour))
    nd.link(colour, nd.bsdf.inputs["Base Color"])
    # Age lines: wave bands across the forehead and around the eyes.
    lines = nd.texture("ShaderNodeTexWave", 40.0, "Factor", bands_direction="Z", Distortion=3.0)
    wrinkles = nd.math("MULTIPLY", lines, nd.attribute(ATTRIBUTES["wrinkle"]))
    height = nd.math("ADD", nd.math("MULTIPLY", height, 0.3 + 0.7 * spec.skin_detail),
                     nd.math("MULTIPLY", wrinkles, 3.0))
    height = nd.math("ADD", height, nd.math("MULTIPLY", strand, 0.8))
    nd.bump(height, 0.12, 0.0004)
    rough = nd.math("ADD", nd.math("MULTIPLY", pores, 0.2), spec.roughness - 0.1)
    nd.link(rough, nd.bsdf.inputs["Roughness"])
    nd.bsdf.inputs["Specular IOR Level"].default_value = spec.specular
    nd.sss(0.3)


def realistic_material(name: str, part: str, colour, spec) -> bpy.types.Material:
    """The material of part `part` (a slot name of `character._build_mesh`) of realistic
    `spec`, base colour `colour` (linear RGB)."""
    if part.startswith("eye_"):
        colour = EYE_WHITE
    metal = part == "glasses" and max(colour) > 0.2
    rough = {"eye_left": 0.05, "eye_right": 0.05, "teeth": 0.2, "gums": 0.3, "tongue": 0.35,
             "mouth_interior": 0.9, "glasses": 0.25}.get(part, 0.45)
    if part.startswith(("lip_",)):
        rough = 0.22 if spec.lipstick else 0.38
    mat = make_material(name, part, colour, roughness=rough, specular=0.4)
    nd = _Nodes(mat)
    nd.bsdf.inputs["Metallic"].default_value = 0.8 if metal else 0.0
    if part in _SKIN_SLOTS:
        _skin(nd, spec)
    elif part.startswith("lip_"):
        lines = nd.texture("ShaderNodeTexWave", 160.0, "Factor", bands_direction="X",
                           Distortion=2.0)
        nd.bump(lines, 0.15, 0.0004)
        nd.sss(0.0 if spec.lipstick else 0.25)
    elif part == "teeth":
        gaps = nd.texture("ShaderNodeTexWave", 55.0, "Factor", bands_direction="X")
        dark = nd.math("LESS_THAN", gaps, 0.06)
        nd.link(nd.mix(dark, colour, tuple(c * 0.35 for c in colour)), nd.bsdf.inputs["Base Color"])
        nd.sss(0.1, 0.001)
    elif part in ("gums", "tongue"):
        nd.bump(nd.texture("ShaderNodeTexNoise", 600.0, "Factor"), 0.2, 0.0005)
        nd.sss(0.3, 0.002)
    elif part in _HAIRY:
        strands = nd.texture("ShaderNodeTexNoise", 900.0, "Factor", Detail=2.0)
        shade = nd.math("ADD", nd.math("MULTIPLY", strands, 0.8), 0.6)
        tint = nd.new("ShaderNodeMix", data_type="RGBA", blend_type="MULTIPLY")
        tint.inputs["Factor"].default_value = 1.0
        tint.inputs[6].default_value = (*colour, 1.0)
        nd.link(shade, tint.inputs[7])
        nd.link(tint.outputs[2], nd.bsdf.inputs["Base Color"])
        nd.bump(strands, 0.4, 0.0008)
    return mat


def style_scene(scene: bpy.types.Scene, character) -> None:
    """After the shot is set up: Workbench shows the realistic character's vertex colours.
    No-op for other families."""
    if character.spec.family != "realistic":
        return
    if scene.render.engine == "BLENDER_WORKBENCH":
        shading = scene.display.shading
        shading.color_type = "VERTEX"
        shading.show_specular_highlight = True
