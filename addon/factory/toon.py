"""The toon look of anime characters, the same in the three render engines, and their outline.

Shading: Shader-to-RGB works only in EEVEE, so the toon tones come from the light's
direction instead:
- Cycles and EEVEE: each part's material emits its base colour times a constant-step colour
  ramp of (world normal . direction to the key light) (`toon_material`); `style_scene`
  points it at the shot's sun. Emission ignores the world and shadows, so two or three flat
  tones with hard edges come out alike in both engines.
- Workbench has no shader nodes: its lighting becomes a matcap of two or three hard-edged
  tones drawn here (`toon_matcap`), which Workbench multiplies with the material colour
  (lit from the upper front, as the camera sees it).

Outline: an inverted hull (`add_outline`): a copy of the skin, nose, ears and hair pushed
out along the normals by the spec's `outline` width with its faces turned inside out, in a
dark material that shows only its back faces (back-face culling in EEVEE, a "Backfacing"
mix to transparent in Cycles), so it shows as a line along the silhouettes. Its shape keys
follow the character's by drivers. Workbench draws the object outline it has instead (the
hull is hidden there). The hull is hidden from ray casts (keypoint visibility) and from
the label render (`face_parts.OVERLAY_PROPERTY`): labels give the part under the line.
Angles of the tone steps are cosines in [-1, 1]; widths are builder units.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import bpy
import numpy as np

from ...core.mesh.viseme_names import VISEMES
from .face_parts import OVERLAY_PROPERTY, PART_CLASSES, make_material
from .head_geometry import UNIT

INK = (0.012, 0.01, 0.014)    # outline colour, linear RGB
# Tone steps: (cosine where the tone starts, brightness), darkest first.
TONES = {2: ((-1.0, 0.6), (0.2, 1.0)), 3: ((-1.0, 0.5), (0.05, 0.78), (0.55, 1.0))}
_OUTLINED = (PART_CLASSES["skin"], PART_CLASSES["nose"], PART_CLASSES["hair"])
_LIGHT_NODE = "toon_light"


def _check_bands(bands: int) -> None:
    if bands not in TONES:
        raise ValueError(f"toon bands must be one of {sorted(TONES)}, got {bands!r}")


def toon_material(name: str, part: str, colour, bands: int) -> bpy.types.Material:
    """A material of part `part` (`pass_index` its class) that emits `colour` (linear RGB)
    in `bands` hard-edged tones of the light direction; its Workbench colour is `colour`."""
    _check_bands(bands)
    mat = make_material(name, part, colour, roughness=0.8, specular=0.0)
    tree = mat.node_tree
    tree.nodes.clear()
    geometry = tree.nodes.new("ShaderNodeNewGeometry")
    dot = tree.nodes.new("ShaderNodeVectorMath")
    dot.operation, dot.name = "DOT_PRODUCT", _LIGHT_NODE
    dot.inputs[1].default_value = (0.0, -0.6, 0.8)
    to_unit = tree.nodes.new("ShaderNodeMapRange")   # cosine [-1, 1] -> ramp factor [0, 1]
    to_unit.inputs["From Min"].default_value = -1.0
    ramp = tree.nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.interpolation = "CONSTANT"
    elements = ramp.color_ramp.elements
    for i, (cosine, k) in enumerate(TONES[bands]):
        element = elements[i] if i < len(elements) else elements.new(0.0)
        element.position = (cosine + 1.0) / 2.0
        element.color = (*(k * c for c in colour), 1.0)
    while len(elements) > len(TONES[bands]):
        elements.remove(elements[-1])
    emission = tree.nodes.new("ShaderNodeEmission")
    output = tree.nodes.new("ShaderNodeOutputMaterial")
    links = tree.links
    links.new(geometry.outputs["Normal"], dot.inputs[0])
    links.new(dot.outputs["Value"], to_unit.inputs["Value"])
    links.new(to_unit.outputs["Result"], ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return mat


def _ink_material() -> bpy.types.Material:
    mat = bpy.data.materials.new("Character_outline")
    mat.pass_index = 0
    mat.diffuse_color = (*INK, 1.0)
    mat.use_backface_culling = True
    tree = mat.node_tree
    tree.nodes.clear()
    geometry = tree.nodes.new("ShaderNodeNewGeometry")
    ink = tree.nodes.new("ShaderNodeEmission")
    ink.inputs["Color"].default_value = (*INK, 1.0)
    clear = tree.nodes.new("ShaderNodeBsdfTransparent")
    mix = tree.nodes.new("ShaderNodeMixShader")
    output = tree.nodes.new("ShaderNodeOutputMaterial")
    tree.links.new(geometry.outputs["Backfacing"], mix.inputs["Fac"])
    tree.links.new(ink.outputs["Emission"], mix.inputs[1])
    tree.links.new(clear.outputs["BSDF"], mix.inputs[2])
    tree.links.new(mix.outputs["Shader"], output.inputs["Surface"])
    return mat


def add_outline(scene: bpy.types.Scene, obj: bpy.types.Object, part: np.ndarray,
                width: float) -> bpy.types.Object:
    """Add the inverted hull of `obj` (see the module docstring), child of `obj`.

    part: (N,) int class id per vertex of `obj`'s mesh; width: builder units (> 0).
    """
    mesh = obj.data
    n = len(mesh.vertices)
    keep = np.isin(part, _OUTLINED)
    index = np.full(n, -1, dtype=np.int64)
    index[keep] = np.arange(int(keep.sum()))
    normal = np.empty(n * 3, dtype=np.float32)
    mesh.vertices.foreach_get("normal", normal)
    push = normal.reshape(n, 3)[keep] * (width * UNIT)
    faces = [tuple(int(index[v]) for v in reversed(p.vertices)) for p in mesh.polygons
             if keep[list(p.vertices)].all()]

    def shifted(block) -> np.ndarray:
        co = np.empty(n * 3, dtype=np.float32)
        block.data.foreach_get("co", co)
        return co.reshape(n, 3)[keep] + push

    blocks = mesh.shape_keys.key_blocks
    hull_mesh = bpy.data.meshes.new("Character_outline")
    hull_mesh.from_pydata(shifted(blocks["Basis"]).tolist(), [], faces)
    hull_mesh.materials.append(_ink_material())
    hull = bpy.data.objects.new("Character_outline", hull_mesh)
    scene.collection.objects.link(hull)
    hull.parent = obj
    hull.shape_key_add(name="Basis", from_mix=False)
    for name in VISEMES[1:]:
        key = hull.shape_key_add(name=name, from_mix=False)
        key.data.foreach_set("co", shifted(blocks[name]).ravel())
        driver = key.driver_add("value").driver
        driver.type = "AVERAGE"
        variable = driver.variables.new()
        variable.type = "SINGLE_PROP"
        variable.targets[0].id_type = "KEY"
        variable.targets[0].id = mesh.shape_keys
        variable.targets[0].data_path = f'key_blocks["{name}"].value'
    hull.hide_viewport = True    # no ray casts hit it
    hull[OVERLAY_PROPERTY] = True
    return hull


def toon_matcap(bands: int, side: int = 256) -> str:
    """Name of a loaded Workbench matcap of `bands` hard-edged tones (drawn once per
    process into a temporary PNG), lit from the upper front."""
    _check_bands(bands)
    name = f"lipsync_toon_{bands}.png"
    lights = bpy.context.preferences.studio_lights
    if any(light.name == name for light in lights):
        return name
    rows, cols = np.mgrid[0:side, 0:side]
    x = (cols + 0.5) / side * 2.0 - 1.0
    y = 1.0 - (rows + 0.5) / side * 2.0
    z = np.sqrt(np.clip(1.0 - x * x - y * y, 0.0, 1.0))
    light = np.array([0.35, 0.55, 0.76]) / np.linalg.norm([0.35, 0.55, 0.76])
    cosine = x * light[0] + y * light[1] + z * light[2]
    value = np.zeros_like(cosine)
    for start, k in TONES[bands]:
        value = np.where(cosine >= start, k, value)
    import cv2

    path = Path(tempfile.gettempdir()) / name
    grey = np.round(value * 255).astype(np.uint8)
    cv2.imwrite(str(path), np.dstack([grey, grey, grey]))
    lights.load(str(path), "MATCAP")
    return name


def style_scene(scene: bpy.types.Scene, character) -> None:
    """After the shot is set up: point the toon tones at the shot's sun, and in Workbench
    use the toon matcap and the object outline instead of the hull. No-op for characters
    without toon shading."""
    spec = character.spec
    if not spec.toon_bands:
        return
    sun = next((o for o in scene.objects if o.type == "LIGHT"), None)
    if sun is not None:
        to_light = tuple(sun.rotation_euler.to_matrix().col[2])  # a sun shines along its -Z
        for slot in character.object.material_slots:
            node = slot.material.node_tree.nodes.get(_LIGHT_NODE) if slot.material else None
            if node is not None:
                node.inputs[1].default_value = to_light
    if scene.render.engine == "BLENDER_WORKBENCH":
        shading = scene.display.shading
        shading.light, shading.color_type = "MATCAP", "MATERIAL"
        shading.studio_light = toon_matcap(spec.toon_bands)
        shading.show_object_outline = spec.outline > 0
        shading.object_outline_color = INK
        for child in character.object.children:
            if child.get(OVERLAY_PROPERTY):
                child.hide_render = True
