"""Which vertices of a character's mesh are its lips (the mouth keypoints come from them).

In order, the first that gives at least 25 vertices:
1. the vertex group the user named (Mouth group in the panel, ``--mouth-group``): it
   overrides everything, and a missing or too small one is an error;
2. a vertex group whose name contains 'lip' or 'mouth';
3. the shape keys that open the mouth (`core.mesh.lips.lips_from_shape_keys`): those
   given (the character's viseme map), else the "open" row of the viseme map that fits the
   key names (`core.mesh.viseme_map.opening_keys`: Oculus viseme_aa, ARKit jawOpen...),
   else those named like mouth keys (Oculus, ARKit, VRM/VRoid, MMD, this project's
   visemes, generic mouth/jaw names);
4. a jaw bone: an armature (modifier) bone whose name contains 'jaw', turned open about
   its own X axis, its vertex group's weights giving each vertex its share
   (`core.mesh.lips.lips_from_jaw`);
5. the faces of material slots named lip/mouth (a 'mouth' material is often the
   inside of the mouth, hidden behind the lips);
6. with a camera given, a mouth painted in the texture, as that camera sees the face
   (`core.mesh.painted`): its lips are points between vertices (`MouthVertices.points`);
else an InputError that says how to name the lips.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import numpy as np

from ...core.errors import InputError
from ...core.mesh.surface import SurfacePoints
from ...core.preprocess.keypoints import N_MOUTH_KEYPOINTS

LOG = logging.getLogger(__name__)
MOUTH_NAME = re.compile(r"lip|mouth", re.IGNORECASE)
JAW_NAME = re.compile(r"jaw", re.IGNORECASE)
JAW_OPENING_DEG = 20.0   # the turn that opens a jaw bone, degrees (any clear opening will do)


@dataclass(frozen=True, eq=False)
class MouthVertices:
    """The lips of a mesh: indices (M,) int64 into the evaluated mesh, M >= 25, where they
    came from, for the user ("vertex group 'mouth'", "shape keys (jawOpen)"...), and the
    points on the surface that stand for them (default: those vertices; a painted mouth's
    lie between its vertices `indices`)."""

    indices: np.ndarray
    source: str
    points: SurfacePoints | None = None

    def __post_init__(self):
        if self.points is None:
            object.__setattr__(self, "points", SurfacePoints.of_vertices(self.indices))


def group_vertices(mesh, group_index: int) -> np.ndarray:
    """(M,) int64 indices of the vertices of `mesh` in vertex group `group_index`."""
    return np.array([v.index for v in mesh.vertices
                     if any(g.group == group_index and g.weight > 0 for g in v.groups)], np.int64)


def _group_weights(obj, group_name: str) -> np.ndarray | None:
    """(N,) float weights of the original mesh's vertices in `group_name` (0 outside)."""
    group = obj.vertex_groups.get(group_name)
    if group is None:
        return None
    weights = np.zeros(len(obj.data.vertices))
    for v in obj.data.vertices:
        for g in v.groups:
            if g.group == group.index:
                weights[v.index] = g.weight
    return weights


def basis_and_edges(obj) -> tuple[np.ndarray, np.ndarray]:
    """(basis (N, 3) float64 object-space positions: the reference shape key's or the
    mesh's, edges (E, 2) int64) of `obj`'s original mesh."""
    mesh = obj.data
    n = len(mesh.vertices)
    co = np.empty(n * 3, np.float64)
    keys = mesh.shape_keys
    source = keys.reference_key.data if keys is not None else mesh.vertices
    source.foreach_get("co", co)
    edges = np.empty(len(mesh.edges) * 2, np.int64)
    mesh.edges.foreach_get("vertices", edges)
    return co.reshape(n, 3), edges.reshape(-1, 2)


def shape_key_deltas(obj, basis: np.ndarray, names=None) -> dict[str, np.ndarray]:
    """Shape key name -> (N, 3) float64 displacement of the original mesh's vertices from
    `basis` (N, 3), object space: the keys `names`, default every key but the reference."""
    keys = obj.data.shape_keys
    blocks = ([keys.key_blocks[name] for name in names] if names is not None else
              [b for b in keys.key_blocks if b != keys.reference_key])
    co = np.empty(basis.size, np.float64)
    deltas = {}
    for block in blocks:
        block.data.foreach_get("co", co)
        deltas[block.name] = co.reshape(basis.shape) - basis
    return deltas


def _from_shape_keys(obj, basis, edges, opening=()):
    keys = obj.data.shape_keys
    if keys is None or len(keys.key_blocks) < 2:
        return None
    deltas = shape_key_deltas(obj, basis)
    from ...core.mesh.lips import lips_from_shape_keys   # scipy: only when needed

    found = lips_from_shape_keys(basis, deltas, edges, opening)
    return None if found is None else (found.indices, f"shape keys ({', '.join(found.used)})")


def jaw_bones(obj):
    """(armature object, bone) pairs of the armature modifiers' bones named like a jaw that
    have a vertex group on `obj`."""
    for mod in obj.modifiers:
        arm = getattr(mod, "object", None) if mod.type == "ARMATURE" else None
        if arm is None or arm.type != "ARMATURE":
            continue
        for bone in arm.data.bones:
            if JAW_NAME.search(bone.name) and bone.name in obj.vertex_groups:
                yield arm, bone


def _from_jaw(obj, basis, edges):
    from mathutils import Matrix

    from ...core.mesh.lips import lips_from_jaw

    for arm, bone in jaw_bones(obj):
        weights = _group_weights(obj, bone.name)
        if weights is None or not weights.any():
            continue
        to_object = obj.matrix_world.inverted() @ arm.matrix_world @ bone.matrix_local
        turn = to_object @ Matrix.Rotation(math.radians(JAW_OPENING_DEG), 4, "X") \
            @ to_object.inverted()                                    # object space
        m = np.array(turn)
        moved = basis @ m[:3, :3].T + m[:3, 3]
        found = lips_from_jaw(basis, weights[:, None] * (moved - basis), edges, bone.name)
        if found is not None:
            return found.indices, f"jaw bone '{bone.name}'"
    return None


def _from_materials(obj, mesh):
    slots = [i for i, slot in enumerate(obj.material_slots) if MOUTH_NAME.search(slot.name or "")]
    if not slots:
        return None
    found = np.array(sorted({v for p in mesh.polygons if p.material_index in slots
                             for v in p.vertices}), np.int64)
    names = ", ".join(f"'{obj.material_slots[i].name}'" for i in slots)
    return found, f"material {names}"


def _from_paint(obj, mesh, camera) -> MouthVertices | None:
    from ...core.mesh.painted import painted_mouth
    from .textured_mesh import camera_axes, textured_mesh

    textured, images = textured_mesh(obj, mesh)
    if not images:
        return None
    found = painted_mouth(textured, *camera_axes(obj, camera))
    if found is None:
        return None
    used = textured.texture_of[found.triangles]
    image = images[np.bincount(used[used >= 0], minlength=len(images)).argmax()]
    return MouthVertices(found.lips.vertices, f"paint of image '{image}' (a painted mouth)",
                         found.lips)


def find_mouth_vertices(obj, mesh, group_name: str = "", opening_keys=(),
                        camera=None) -> MouthVertices:
    """The lips of `obj` as vertices of `mesh` (its evaluated mesh); see the module docstring
    for the order of the sources; `opening_keys`: shape keys known to open the mouth (else
    those of the viseme map that fits the key names); `camera`: the camera whose view a
    painted mouth is looked for in (None: not looked for). Raises InputError when none gives
    25 points."""
    if group_name:
        group = obj.vertex_groups.get(group_name)
        if group is None:
            names = ", ".join(g.name for g in obj.vertex_groups) or "none"
            raise InputError(f"'{obj.name}' has no vertex group '{group_name}' (groups: {names}).")
        found = group_vertices(mesh, group.index)
        if found.size < N_MOUTH_KEYPOINTS:
            raise InputError(f"Found {found.size} mouth vertices on '{obj.name}', need at least "
                             f"{N_MOUTH_KEYPOINTS}: assign the lip vertices to a vertex group "
                             "and pick it in the Lip Sync panel (Mouth group).")
        return MouthVertices(found, f"vertex group '{group_name}'")
    groups = [g for g in obj.vertex_groups if MOUTH_NAME.search(g.name)]
    if groups:
        found = np.unique(np.concatenate([group_vertices(mesh, g.index) for g in groups]))
        if found.size >= N_MOUTH_KEYPOINTS:
            names = ", ".join(f"'{g.name}'" for g in groups)
            return MouthVertices(found.astype(np.int64), f"vertex group {names}")
    same_topology = len(obj.data.vertices) == len(mesh.vertices)
    if same_topology:          # shape keys and weights index the original mesh's vertices
        basis, edges = basis_and_edges(obj)
        result = _from_shape_keys(obj, basis, edges, tuple(opening_keys)) \
            or _from_jaw(obj, basis, edges)
        if result is not None:
            return MouthVertices(*result)
    result = _from_materials(obj, mesh)
    if result is not None and result[0].size >= N_MOUTH_KEYPOINTS:
        return MouthVertices(*result)
    painted = _from_paint(obj, mesh, camera) if camera is not None else None
    if painted is not None:
        return painted
    raise InputError(
        f"Could not find the mouth of '{obj.name}': no vertex group or material named lip/"
        "mouth, no mouth shape keys (jawOpen, viseme_aa, Fcl_MTH_A...) or jaw bone that "
        "open a closed mouth"
        + ("" if same_topology else " (its modifiers change the vertex count, so shape keys "
           "and bones were not used)")
        + (", and no mouth painted in its texture on the side the camera sees"
           if camera is not None else "")
        + ". Assign the lip vertices to a vertex group and pick it in the Lip Sync panel "
        "(Mouth group), or pass --mouth-group on the command line.")
