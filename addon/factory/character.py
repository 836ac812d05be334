"""Procedural cartoon characters for the synthetic training-data factory, in Blender.

`build_character(scene, spec)` turns a `character_spec.CharacterSpec` into ONE mesh
object "Character" whose material slots carry the part classes of
`face_parts.PART_CLASSES` as `pass_index`, a vertex group "mouth" (both lips) and one
shape key per viseme of `VISEMES` (neutral is the basis). The shapes come from
`head_geometry` (builder units, scaled by `UNIT` metres per unit, so a head is
0.21-0.25 m tall); this module only writes them into Blender data. The face looks
towards the object's -Y axis, +Z up; the character's left is +X. Cameras and lights are
not part of a character: `face_anchor` tells where to put them.
"""

from __future__ import annotations

from dataclasses import dataclass

import bmesh
import bpy
import numpy as np

from ...core.errors import InputError
from ...core.mesh.viseme_names import VISEMES
from .character_spec import CharacterSpec, part_colours
from .toon import add_outline, toon_material
from .face_parts import (MOUTH_GROUP, PART_CLASSES, MeshBuilder, add_shape_key, add_vertex_group,
                         make_material, matrix_from, mesh_from_builder)
from .family_geometry import face_for, horns
from .head_geometry import UNIT, R_SKIN, Face, Sphere, mouth_grids, pose_positions
from .realistic_geometry import RIM_RADIUS, RealisticFace


def _sphere(b: MeshBuilder, sphere: Sphere):
    return b.sphere(sphere.centre, sphere.scale, sphere.part, segs=sphere.segs)


def _build_mesh(face: Face) -> MeshBuilder:
    s, b = face.s, MeshBuilder(params=True)
    rx, rz = face.rx, face.rz

    head = b.sphere((0, 0, 0), (1, 1, 1), "skin", segs=face.head_segs, role=R_SKIN)
    for v in head:
        v.co = face.head_vertex(*v.co)
    neck = bmesh.ops.create_cone(b.bm, cap_ends=False, segments=24, radius1=face.neck * rx,
                                 radius2=(face.neck + 0.02) * rx, depth=0.9,
                                 matrix=matrix_from((0, 0.15, -0.78 * rz - 0.3), (1, 1, 1)))["verts"]
    b.tag(neck, "skin")
    for sphere in face.ears() + face.nose() + horns(face):
        _sphere(b, sphere)
    for side in ("left", "right"):
        eye = face.eye(side)
        _sphere(b, eye.ball)
        lid = _sphere(b, eye.lid)
        bmesh.ops.delete(b.bm, geom=[v for v in lid if v.co.z < eye.lid_edge], context="VERTS")
        _sphere(b, eye.iris)
        _sphere(b, eye.pupil)
        b.tube(lambda t, side=side: face.brow_centre(t, side), face.brow_radius, 14, 8,
               f"brow_{side}", depth=0.7)
    if s.has_hair:
        shell = b.sphere((0, 0, 0), (1, 1, 1), "hair", segs=face.hair_segs)
        drop = []
        for v in shell:
            co = face.hair_vertex(*v.co)
            if co is None:
                drop.append(v)
            else:
                v.co = co
        bmesh.ops.delete(b.bm, geom=drop, context="VERTS")
    if isinstance(face, RealisticFace):
        from .realistic_look import wire

        for side in ("left", "right"):
            b.tube(lambda t, side=side: face.lash_centre(t, side), face.lash_radius, 16, 6,
                   f"lash_{side}", depth=2.5)
        for path in face.glasses_paths():
            wire(b, np.array(path), RIM_RADIUS, "glasses")
    for g in mouth_grids(face, face.poses["neutral"]):
        b.grid(g.points, g.pu, g.pv, g.part, g.role, wrap=g.wrap, caps=g.caps, flip=g.flip)
    return b


@dataclass
class Character:
    """What `build_character` made."""

    object: bpy.types.Object
    spec: CharacterSpec
    mouth_group: str = MOUTH_GROUP
    mouth_centre_local: tuple[float, float, float] = (0.0, 0.0, 0.0)  # object space, metres
    face_height_local: float = 0.0  # crown to chin, metres (object space)

    @property
    def shape_keys(self) -> list[str]:
        """Names of the viseme shape keys, in `VISEMES` order without "neutral"."""
        return list(VISEMES[1:])


def build_character(scene: bpy.types.Scene, spec: CharacterSpec) -> Character:
    """Add the character of `spec` to `scene` (linked to its master collection).

    Returns a `Character` holding the mesh object "Character": one material slot per
    part (`pass_index` = class id), vertex group "mouth" (upper and lower lip) and
    shape keys "Basis" (= neutral) plus one per other viseme of `VISEMES`, all 0.
    """
    if not isinstance(spec, CharacterSpec):
        raise InputError(f"build_character: spec must be a CharacterSpec, got {type(spec).__name__}")
    face = face_for(spec)
    b = _build_mesh(face)
    mesh, arrays = mesh_from_builder(b, "Character")
    role, part, pu, pv = arrays["role"], arrays["part"], arrays["pu"], arrays["pv"]
    for name in ("role", "pu", "pv"):  # construction data, not for users
        attr = mesh.attributes.get(name)
        if attr is not None:
            mesh.attributes.remove(attr)

    colours = part_colours(spec)
    rough = {"eye_left": 0.15, "eye_right": 0.15, "iris_left": 0.15, "iris_right": 0.15,
             "pupil_left": 0.1, "pupil_right": 0.1, "teeth": 0.3, "mouth_interior": 0.9, "tongue": 0.4}
    for name in b.slots:
        if spec.family == "realistic":
            from .realistic_look import realistic_material

            mesh.materials.append(realistic_material(f"Character_{name}", name, colours[name],
                                                     spec))
            continue
        if spec.toon_bands:
            mesh.materials.append(toon_material(f"Character_{name}", name, colours[name],
                                                spec.toon_bands))
            continue
        flat = spec.flatness if name not in ("mouth_interior",) else 0.0
        mesh.materials.append(make_material(f"Character_{name}", name, colours[name],
                                            roughness=rough.get(name, spec.roughness),
                                            specular=spec.specular, emission=flat))

    n = len(mesh.vertices)
    co = np.empty(n * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(n, 3).astype(np.float64)
    mesh.vertices.foreach_set("co", (co * UNIT).astype(np.float32).ravel())
    if spec.family == "realistic":
        from .realistic_look import write_vertex_colours

        write_vertex_colours(mesh, face, co, b.slots, colours)

    obj = bpy.data.objects.new("Character", mesh)
    scene.collection.objects.link(obj)
    lips = np.flatnonzero((part == PART_CLASSES["lip_upper"]) | (part == PART_CLASSES["lip_lower"]))
    add_vertex_group(obj, MOUTH_GROUP, lips)

    for name in VISEMES[1:]:
        add_shape_key(obj, name, pose_positions(face, co, role, pu, pv, face.poses[name]) * UNIT)
    mesh.update()
    if spec.outline > 0:
        add_outline(scene, obj, part, spec.outline)
    centre = tuple(float(c) for c in co[lips].mean(axis=0) * UNIT)
    return Character(object=obj, spec=spec, mouth_centre_local=centre,
                     face_height_local=2.0 * spec.head_height * UNIT)


def set_viseme_weights(character: Character, weights: np.ndarray, frame_start: int) -> None:
    """Keyframe the viseme shape keys, one row of `weights` per frame from `frame_start`.

    Args:
        weights: (F, len(VISEMES)) float in [0, 1], columns in `VISEMES` order; the
            "neutral" column is ignored (neutral is the basis).
        frame_start: scene frame of row 0.

    Existing keyframes of these shape keys are replaced.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != len(VISEMES) or w.shape[0] == 0:
        raise InputError(f"set_viseme_weights: weights must have shape (F, {len(VISEMES)}) with F >= 1, "
                         f"got {w.shape}")
    if not np.all(np.isfinite(w)) or w.min() < -1e-6 or w.max() > 1.0 + 1e-6:
        raise InputError(f"set_viseme_weights: weights must be finite and in [0, 1], got min {np.nanmin(w):g} "
                         f"max {np.nanmax(w):g}")
    from ..blender.animate import keyframe_shape_keys

    keyframe_shape_keys(character.object, list(VISEMES[1:]), np.clip(w[:, 1:], 0, 1),
                        frame_start)


def face_anchor(character: Character) -> tuple[np.ndarray, np.ndarray, float]:
    """Where the face is, for placing a camera.

    Returns:
        mouth centre (3,) world xyz in metres (centre of the lips at rest),
        forward (3,) unit vector, world direction the face looks in,
        face height in metres (crown to chin, object scale applied).
    """
    from mathutils import Vector

    m = character.object.matrix_world
    centre = np.array(m @ Vector(character.mouth_centre_local))
    forward = np.array((m.to_3x3() @ Vector((0.0, -1.0, 0.0))).normalized())
    scale = float(np.mean(np.abs(m.to_scale())))
    return centre, forward, character.face_height_local * scale
