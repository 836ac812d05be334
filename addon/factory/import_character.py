"""A character made elsewhere, in the factory's scene: a mesh object of a .blend, or a
.glb / .gltf / .vrm file (Blender's bundled glTF importer; a .vrm is a glTF binary whose
VRM expression table is read from its JSON, `core.mesh.vrm`).

`load_character(scene, source)` brings the character into `scene` (cameras and lights of
the file left out; of a .blend only the talking mesh's rig, parents and children), picks
the talking mesh (the one named, else the one whose mouth controls map best), sets its
mouth keys to rest (0: the basis is the closed mouth), maps its own controls to the factory's visemes (`core.mesh.viseme_map`), finds its lips
(`addon.blender.mouth_vertices`) and where its face looks. `drive` keys the mouth from a
viseme track (F, 7). Lengths are world metres; the world's +Z is up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ...core.errors import InputError
from ...core.mesh.viseme_map import VisemeMap
from ...core.mesh.viseme_names import classify_shape_key
from ...core.mesh.vrm import mouth_expressions, read_gltf_json
from ..blender.animate import jaw_turn_sign
from ..blender.mouth_controls import (MouthControls, drive as drive_controls, jaw_of,
                                      map_controls, shape_key_names)
from ..blender.mouth_vertices import find_mouth_vertices

LOG = logging.getLogger(__name__)
CHARACTER_SUFFIXES = (".blend", ".glb", ".gltf", ".vrm")
FACE_PER_MOUTH = 4.3   # face height / mouth width of the factory's characters (as framed)
FACE_RADIUS = 2.2      # the face box's vertices: this many mouth widths around the face
_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class CharacterSource:
    """Which character to import: `path` (.blend/.glb/.gltf/.vrm), the talking mesh's
    `object` name ("" = found), `visemes` (a `viseme_map.CHOICES` entry or a JSON table
    path), `mouth_group` (the lips' vertex group, "" = found)."""

    path: str
    object: str = ""
    visemes: str = "auto"
    mouth_group: str = ""


@dataclass
class ImportedCharacter:
    """A loaded character: the talking mesh `object`, every object of the character
    (`objects`), its `viseme_map`, its jaw (armature, bone, turn sign) or None, and its
    face: lips `mouth` (vertex indices), `centre` (3,), `forward` (3,) unit, the mouth's
    `width` (m) and `face` (M,) vertex indices around it."""

    object: bpy.types.Object
    objects: list
    viseme_map: VisemeMap
    jaw: tuple | None
    mouth: np.ndarray
    mouth_source: str
    centre: np.ndarray
    forward: np.ndarray
    width: float
    face: np.ndarray

    def anchor(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(mouth centre, forward, face height) for `shot.setup_shot`: the face is as tall,
        in mouth widths, as a factory character's."""
        return self.centre, self.forward, FACE_PER_MOUTH * self.width

    def to_dict(self) -> dict:
        return {"object": self.object.name, "visemes": self.viseme_map.to_dict(),
                "jaw": None if self.jaw is None else f"{self.jaw[0].name}/{self.jaw[1]}",
                "mouth": self.mouth_source, "mouth_width_m": round(self.width, 6)}


def _import_file(path: Path) -> list:
    """Bring the file's objects into the scene; returns them."""
    scene = bpy.context.scene
    if path.suffix.lower() == ".blend":
        with bpy.data.libraries.load(str(path), link=False) as (source, loaded):
            loaded.objects = list(source.objects)
        objects = [o for o in loaded.objects if o is not None]
        for obj in objects:
            scene.collection.objects.link(obj)
        return objects
    before = set(bpy.data.objects)
    try:
        result = bpy.ops.import_scene.gltf(filepath=str(path))
    except RuntimeError as exc:
        raise InputError(f"Blender's glTF importer could not read '{path}': {exc}") from None
    if "FINISHED" not in result:
        raise InputError(f"Blender's glTF importer could not read '{path}'")
    return [o for o in bpy.data.objects if o not in before]


def _map(obj, source: CharacterSource, expressions) -> VisemeMap:
    vrm = None if expressions is None else expressions.get(obj.data.name)
    return map_controls(obj, source.visemes, vrm)


def _pick(meshes: list, source: CharacterSource, expressions) -> tuple:
    """(talking mesh, its VisemeMap)."""
    if source.object:
        obj = next((o for o in meshes if o.name == source.object), None)
        if obj is None:
            raise InputError(f"'{source.path}' has no mesh object '{source.object}' (meshes: "
                             f"{', '.join(o.name for o in meshes) or 'none'}): give --object "
                             "the name of the character's face mesh.")
        return obj, _map(obj, source, expressions)
    fits, errors = [], []
    for obj in meshes:
        try:
            fits.append((obj, _map(obj, source, expressions)))
        except InputError as exc:
            errors.append((len(shape_key_names(obj)), obj.name, exc))
    if fits:
        return max(fits, key=lambda f: len(f[1].keys) or 0.5)
    if not errors:
        raise InputError(f"'{source.path}' holds no mesh object: give a character's file.")
    errors.sort(key=lambda e: -e[0])
    names = ", ".join(name for _, name, _ in errors)
    raise InputError(f"No mesh of '{source.path}' ({names}) has mouth controls; the one with "
                     f"the most shape keys: {errors[0][2]}") from None


def _closure(obj) -> list:
    """The character around `obj`: its top parent and all below it, plus the rigs of its
    armature modifiers (with their parents)."""
    roots = [obj] + [m.object for m in obj.modifiers if m.type == "ARMATURE" and m.object]
    out = []
    for root in roots:
        while root.parent is not None:
            root = root.parent
        for o in [root, *root.children_recursive]:
            if o not in out:
                out.append(o)
    return out


def _world_vertices(obj) -> np.ndarray:
    """(N, 3) world positions of the evaluated mesh."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", co)
    finally:
        evaluated.to_mesh_clear()
    m = np.array(obj.matrix_world)
    return co.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]


def _face_geometry(world: np.ndarray, lips: np.ndarray):
    """(centre, forward, width, face indices) from the lips' vertices: the mouth's
    left-right axis is the lips' widest horizontal spread, forward the horizontal normal
    to it pointing away from the head's vertices around the mouth."""
    points = world[lips]
    centre = points.mean(axis=0)
    flat = points[:, :2] - centre[:2]
    _, _, axes = np.linalg.svd(flat, full_matrices=False)
    right = np.array([axes[0, 0], axes[0, 1], 0.0])
    width = float(np.ptp(points @ right))
    if width <= 0:
        raise InputError("the lips found have no width: name the lips' vertex group "
                         "(--mouth-group).")
    forward = np.cross(_UP, right)
    near = np.linalg.norm(world - centre, axis=1) < FACE_RADIUS * width
    if (centre - world[near].mean(axis=0)) @ forward < 0:
        forward = -forward
    face_centre = centre + _UP * 0.9 * width
    face = np.flatnonzero(np.linalg.norm(world - face_centre, axis=1) < FACE_RADIUS * width)
    return centre, forward, width, face


def load_character(scene, source: CharacterSource) -> ImportedCharacter:
    """Import `source` into `scene` (best a fresh, empty one) and make it ready to talk.
    InputError when the file cannot be read, no mesh has mouth controls or lips."""
    path = Path(source.path)
    if path.suffix.lower() not in CHARACTER_SUFFIXES:
        raise InputError(f"'{path}': a character is a {', '.join(CHARACTER_SUFFIXES)} file.")
    expressions = None
    if path.suffix.lower() != ".blend":
        expressions = mouth_expressions(read_gltf_json(path))   # also: does the file exist
    elif not path.is_file():
        raise InputError(f"'{path}' does not exist: give a .blend, .glb, .gltf or .vrm file.")
    objects = _import_file(path)
    meshes = [o for o in objects if o.type == "MESH"]
    obj, viseme_map = _pick(meshes, source, expressions)
    keep = _closure(obj)
    for other in objects:
        if other not in keep:
            bpy.data.objects.remove(other)
    for part in keep:
        part.animation_data_clear()
        if part.type == "MESH":
            if part.data.shape_keys is not None:
                part.data.shape_keys.animation_data_clear()
            if not part.material_slots:             # the label render colours slots
                part.data.materials.append(bpy.data.materials.new(f"{part.name}_plain"))
    rest = set(viseme_map.keys)
    for block in obj.data.shape_keys.key_blocks if obj.data.shape_keys else ():
        if block.name in rest or classify_shape_key(block.name) is not None:
            block.value = 0.0                     # the mouth at rest: closed, as the basis
    jaw = None
    if viseme_map.jaw is not None:
        arm, bone = jaw_of(obj)
        jaw = (arm, bone, jaw_turn_sign(obj, arm, bone))
    scene.frame_set(scene.frame_start)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    try:
        lips = find_mouth_vertices(obj, evaluated.to_mesh(), source.mouth_group,
                                   viseme_map.opening())
    finally:
        evaluated.to_mesh_clear()
    centre, forward, width, face = _face_geometry(_world_vertices(obj), lips.indices)
    LOG.info("character '%s' of %s: visemes by %s, lips from the %s", obj.name, path.name,
             viseme_map.scheme, lips.source)
    return ImportedCharacter(obj, keep, viseme_map, jaw, lips.indices, lips.source, centre,
                             forward, width, face)


def drive(character: ImportedCharacter, visemes: np.ndarray, frame_start: int = 1) -> None:
    """Keyframe the character's mouth from viseme weights (F, 7), one row per scene frame
    from `frame_start` (`mouth_controls.drive`)."""
    drive_controls(MouthControls(character.object, character.viseme_map, character.jaw),
                   visemes, frame_start)
