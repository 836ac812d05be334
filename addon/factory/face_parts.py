"""Face parts as mesh building blocks, shared by the demo head (`talking_head.py`) and the
characters of the training-data factory (`character.py`).

Every part (skin, lips, teeth, eyes...) has a class id (`PART_CLASSES`, also the
material's `pass_index`, so renders can be labelled per part). `MeshBuilder` makes one
bmesh of many parts and tags each vertex with its part and a role (which shape key moves
it; 0 = none); `mesh_from_builder`, `make_material`, `add_vertex_group` and
`add_shape_key` turn it into Blender data. The vertex group of both lips is `MOUTH_GROUP`.
"""

from __future__ import annotations

import math

import bmesh
import bpy
import numpy as np

PART_CLASSES: dict[str, int] = {
    "background": 0,
    "skin": 1,
    "brow_left": 2,
    "brow_right": 3,
    "eye_left": 4,
    "eye_right": 5,
    "nose": 6,
    "lip_upper": 7,
    "teeth": 8,
    "lip_lower": 9,
    "hair": 10,
    "mouth_interior": 11,
}

# Part names that are not classes of their own: the class they count as.
# Glasses count as hair (things worn on the head); eyelashes as the eye they line.
PART_ALIASES: dict[str, str] = {"tongue": "mouth_interior", "gums": "mouth_interior",
                                "horn": "hair", "glasses": "hair"}

MOUTH_GROUP = "mouth"   # the vertex group of both lips
OVERLAY_PROPERTY = "lipsync_overlay"  # objects with this custom property: drawn, not labelled
_R_NONE = 0             # the role of a vertex no shape key moves

# Roughness per part for `make_material` (0.5 for the others).
_ROUGHNESS = {"eye_left": 0.15, "eye_right": 0.15, "teeth": 0.3, "lip_upper": 0.35,
              "lip_lower": 0.35, "pupil": 0.1, "mouth_interior": 0.9, "hair": 0.7}


class MeshBuilder:
    """Builds one bmesh made of parts; every vertex carries its part's class id and a role.

    Faces get the material slot of their part (`slots` lists the part names in
    slot order). With `params=True` every vertex also carries two floats
    ("pu", "pv"): the parametric coordinates of `grid` surfaces.
    """

    def __init__(self, params: bool = False) -> None:
        self.bm = bmesh.new()
        self.role = self.bm.verts.layers.int.new("role")
        self.part = self.bm.verts.layers.int.new("part")
        self.pu = self.bm.verts.layers.float.new("pu") if params else None
        self.pv = self.bm.verts.layers.float.new("pv") if params else None
        self.slots: list[str] = []

    def slot(self, name: str) -> int:
        if name not in self.slots:
            self.slots.append(name)
        return self.slots.index(name)

    def tag(self, verts, part: str, role: int = _R_NONE) -> None:
        mi = self.slot(part)
        pid = part_class(part)
        faces = set()
        for v in verts:
            v[self.role] = role
            v[self.part] = pid
            faces.update(v.link_faces)
        for f in faces:
            f.material_index = mi
            f.smooth = True

    def sphere(self, centre, scale, part: str, segs=(24, 12), role=_R_NONE):
        mat = matrix_from(centre, scale)
        verts = bmesh.ops.create_uvsphere(self.bm, u_segments=segs[0], v_segments=segs[1],
                                          radius=1.0, matrix=mat)["verts"]
        self.tag(verts, part, role)
        return verts

    def tube(self, centre_fn, radius_fn, n: int, m: int, part: str, role=_R_NONE, depth=0.8):
        """A tube along t in [0, 1]; centre_fn(t) -> (x, y, z); ring in the local y-z plane."""
        bm = self.bm
        rings = []
        for i in range(n):
            t = i / (n - 1)
            cx, cy, cz = centre_fn(t)
            r = radius_fn(t)
            ring = []
            for j in range(m):
                a = 2.0 * math.pi * j / m
                ring.append(bm.verts.new((cx, cy + depth * r * math.cos(a), cz + r * math.sin(a))))
            rings.append(ring)
        for i in range(n - 1):
            for j in range(m):
                j2 = (j + 1) % m
                bm.faces.new((rings[i][j], rings[i][j2], rings[i + 1][j2], rings[i + 1][j]))
        for ring, rev in ((rings[0], True), (rings[-1], False)):
            bm.faces.new(ring[::-1] if rev else ring)
        verts = [v for ring in rings for v in ring]
        self.tag(verts, part, role)
        return verts

    def sheet(self, point_fn, nu: int, nv: int, part: str, role_fn=None):
        """A grid sheet; point_fn(u, v) with u, v in [-1, 1] -> (x, y, z)."""
        bm = self.bm
        grid = [[bm.verts.new(point_fn(-1 + 2 * i / (nu - 1), -1 + 2 * j / (nv - 1)))
                 for j in range(nv)] for i in range(nu)]
        for i in range(nu - 1):
            for j in range(nv - 1):
                bm.faces.new((grid[i][j], grid[i + 1][j], grid[i + 1][j + 1], grid[i][j + 1]))
        verts = [v for row in grid for v in row]
        self.tag(verts, part)
        if role_fn is not None:
            for v in verts:
                v[self.role] = role_fn(v.co)
        return verts

    def grid(self, points: np.ndarray, pu: np.ndarray, pv: np.ndarray, part: str, role: int,
             wrap: bool = False, caps: bool = False, flip: bool = False):
        """A quad grid from precomputed points.

        Args:
            points: (NU, NV, 3) vertex positions.
            pu, pv: (NU, NV) parametric coordinates stored per vertex (needs `params=True`).
            wrap: join the last column to the first (a tube around v).
            caps: close both ends of a wrapped grid with n-gons.
            flip: reverse the face winding (normals the other way).
        """
        nu, nv = points.shape[:2]
        bm = self.bm
        g = [[bm.verts.new(tuple(map(float, points[i, j]))) for j in range(nv)] for i in range(nu)]
        for i in range(nu):
            for j in range(nv):
                g[i][j][self.pu] = float(pu[i, j])
                g[i][j][self.pv] = float(pv[i, j])
        jn = nv if wrap else nv - 1
        for i in range(nu - 1):
            for j in range(jn):
                j2 = (j + 1) % nv
                quad = (g[i][j], g[i][j2], g[i + 1][j2], g[i + 1][j])
                bm.faces.new(quad[::-1] if flip else quad)
        if wrap and caps:
            for ring, rev in ((g[0], not flip), (g[-1], flip)):
                bm.faces.new(ring[::-1] if rev else ring)
        verts = [v for row in g for v in row]
        self.tag(verts, part, role)
        return verts


def part_class(part: str) -> int:
    """Class id of a part name; pupils, irises and lashes count as the eye they belong to."""
    for prefix in ("pupil_", "iris_", "lash_"):
        if part.startswith(prefix):
            part = "eye_" + part[len(prefix):]
    return PART_CLASSES[PART_ALIASES.get(part, part)]


def matrix_from(centre, scale):
    """4x4 matrix: scale by `scale` (x, y, z), then move to `centre`."""
    from mathutils import Matrix

    m = Matrix.Diagonal((*scale, 1.0))
    m.translation = centre
    return m


def mesh_from_builder(b: MeshBuilder, name: str) -> tuple[bpy.types.Mesh, dict[str, np.ndarray]]:
    """Write `b`'s bmesh to a new mesh `name` and free it.

    Returns the mesh (no materials yet) and per-vertex arrays in mesh order:
    "role", "part" (int32, N) and, for a builder with params, "pu", "pv" (float64, N).
    """
    bm = b.bm
    bm.verts.index_update()
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    arrays = {"role": np.array([v[b.role] for v in bm.verts], dtype=np.int32),
              "part": np.array([v[b.part] for v in bm.verts], dtype=np.int32)}
    if b.pu is not None:
        arrays["pu"] = np.array([v[b.pu] for v in bm.verts], dtype=np.float64)
        arrays["pv"] = np.array([v[b.pv] for v in bm.verts], dtype=np.float64)
    bm.free()
    return mesh, arrays


def add_vertex_group(obj: bpy.types.Object, name: str, indices: np.ndarray) -> None:
    """Add vertex group `name` holding the vertices `indices` with weight 1."""
    group = obj.vertex_groups.new(name=name)
    group.add(np.asarray(indices).tolist(), 1.0, "REPLACE")


def add_shape_key(obj: bpy.types.Object, name: str, co: np.ndarray) -> bpy.types.ShapeKey:
    """Add shape key `name` (value 0, range [0, 1]) with positions `co` (N, 3) in object space.

    Adds the "Basis" key first when the object has none.
    """
    if obj.data.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
    key = obj.shape_key_add(name=name, from_mix=False)
    key.data.foreach_set("co", np.asarray(co, dtype=np.float32).ravel())
    key.slider_min, key.slider_max = 0.0, 1.0
    key.value = 0.0
    return key


def make_material(name: str, part: str, colour, *, roughness: float | None = None,
                  specular: float = 0.3, emission: float = 0.0) -> bpy.types.Material:
    """A Principled material for `part` with `pass_index` = its class id.

    Args:
        colour: linear RGB base colour, each in [0, 1] (also the Workbench colour).
        roughness: in [0, 1]; None takes the part's default.
        specular: `specular_intensity` of the viewport/Workbench material, [0, 1].
        emission: in [0, 1]: 0 shaded, 1 flat (the base colour emitted, the diffuse
            part scaled by 1 - emission), for flat-stylised looks in Cycles/EEVEE.
    """
    mat = bpy.data.materials.new(name)
    mat.pass_index = part_class(part)
    rough = _ROUGHNESS.get(part, 0.5) if roughness is None else float(roughness)
    rgba = (*colour, 1.0)
    mat.diffuse_color = rgba
    mat.roughness = rough
    mat.specular_intensity = specular
    tree = mat.node_tree
    if tree is None:  # older files: make sure there is a node tree
        mat.use_nodes = True
        tree = mat.node_tree
    bsdf = next((n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"), None)
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = rgba
        bsdf.inputs["Roughness"].default_value = rough
        if part in ("skin", "nose"):
            bsdf.inputs["Subsurface Weight"].default_value = 0.0
        if emission > 0.0:
            k = 1.0 - float(emission)
            bsdf.inputs["Base Color"].default_value = (colour[0] * k, colour[1] * k, colour[2] * k, 1.0)
            bsdf.inputs["Emission Color"].default_value = rgba
            bsdf.inputs["Emission Strength"].default_value = float(emission)
    return mat
