"""Mouth keypoints and face boxes from the scene: mesh vertices projected through the camera.

Per frame the character's evaluated mesh (shape keys, armature, modifiers applied)
is projected with the camera's own projection matrix. The 25 mouth keypoints are
25 fixed points of the lips (vertices, or points between them for a mouth painted in the
texture), chosen once per shot by
`core.preprocess.keypoints.select_mouth_landmarks` on the first frame where the
mouth lies in front of the camera, so the points move with the mesh and never jump
between vertices. A point is visible when it is inside the image and no surface hides it
(a ray cast from the camera), so a character turned away or behind another object has no
visible mouth. Pixel coordinates: x right, y down, origin at the image's top-left corner.
"""

from __future__ import annotations

import logging

import bpy
import numpy as np

from ...core.errors import InputError
from ...core.mesh.surface import SurfacePoints
from ...core.mesh.viseme_map import opening_keys
from ...core.preprocess.keypoints import KeypointTrack, N_MOUTH_KEYPOINTS, select_mouth_landmarks
from .mouth_vertices import (MOUTH_NAME, basis_and_edges, find_mouth_vertices,  # noqa: F401
                             group_vertices, shape_key_deltas)

LOG = logging.getLogger(__name__)
FACE_GROUP_NAMES = ("face", "head")


def require_mesh(scene, name: str) -> bpy.types.Object:
    """The mesh object called `name` in `scene`, or InputError listing the scene's meshes."""
    obj = scene.objects.get(name)
    if obj is None or obj.type != "MESH":
        meshes = ", ".join(o.name for o in scene.objects if o.type == "MESH") or "none"
        raise InputError(f"Character '{name}' is not a mesh object of scene '{scene.name}' "
                         f"(meshes: {meshes}): pick the character's mesh in the Lip Sync panel.")
    return obj


def _face_vertex_indices(obj, mesh) -> np.ndarray | None:
    for name in FACE_GROUP_NAMES:
        group = obj.vertex_groups.get(name)
        if group is not None:
            return group_vertices(mesh, group.index)
    return None


def render_size(scene, percentage: int | None = None) -> tuple[int, int]:
    """Rendered image size (width, height) in pixels, at the scene's resolution
    percentage or at `percentage`."""
    r = scene.render
    pct = r.resolution_percentage if percentage is None else percentage
    return int(r.resolution_x * pct / 100), int(r.resolution_y * pct / 100)


def project_points(scene, depsgraph, camera, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) -> pixel coordinates (N, 2) float32 and in-front flags (N,) bool."""
    width, height = render_size(scene)
    proj = np.array(camera.calc_matrix_camera(depsgraph, x=width, y=height,
                                              scale_x=scene.render.pixel_aspect_x,
                                              scale_y=scene.render.pixel_aspect_y))
    view = np.array(camera.matrix_world.inverted())
    homo = np.concatenate([world, np.ones((len(world), 1))], axis=1)  # (N, 4)
    eye = homo @ view.T                                                # (N, 4) camera space
    clip = eye @ proj.T                                                # (N, 4)
    in_front = eye[:, 2] < 0                                           # camera looks down -Z
    w = np.where(np.abs(clip[:, 3]) > 1e-12, clip[:, 3], 1e-12)
    ndc = clip[:, :2] / w[:, None]
    pixels = np.stack([(ndc[:, 0] + 1) * 0.5 * width, (1 - ndc[:, 1]) * 0.5 * height], axis=1)
    return pixels.astype(np.float32), in_front


class MouthProjector:
    """Projects one character's mouth and face through the scene camera, frame by frame.

    face: (M,) vertex indices whose projection is the face box (default: a "face"/"head"
    vertex group, else the whole mesh). The 25 keypoint vertices are chosen on the mouth
    opened by its opening shape keys (`open_mouth`, the viseme map's "open" row), as the
    factory chose them for the characters the networks learnt from (`import_clip.
    open_landmarks`): on lips that touch at rest, only an open mouth shows which vertices
    line its inside."""

    def __init__(self, scene, obj, camera, mouth_group: str = "", face: np.ndarray | None = None,
                 open_mouth: bool = True):
        self.scene, self.obj, self.camera, self.mouth_group = scene, obj, camera, mouth_group
        self.open_mouth = open_mouth    # choose the 25 vertices on the mouth opened by its
                                        # opening shape keys (False: as posed at that frame)
        self.landmarks: np.ndarray | None = None  # (25,) indices into `lips`, chosen once
        self.lips: SurfacePoints | None = None    # the lips' points on the surface
        self.mouth_source = ""          # where the lips came from, for the user
        self.face: np.ndarray | None = face
        self._face_given = face is not None
        self.n_vertices = -1

    def _world_vertices(self, mesh) -> np.ndarray:
        n = len(mesh.vertices)
        co = np.empty(n * 3, np.float64)
        mesh.vertices.foreach_get("co", co)
        matrix = np.array(self.obj.matrix_world)
        return co.reshape(n, 3) @ matrix[:3, :3].T + matrix[:3, 3]

    def _unoccluded(self, depsgraph, points: np.ndarray, tolerance: float) -> np.ndarray:
        """(N,) bool: no surface lies more than `tolerance` (m) in front of each world point.

        One ray per point from the camera; the lips' own thickness stays within the
        tolerance, the back of the head (character turned away) or another object does not.
        """
        from mathutils import Vector

        cam = self.camera
        forward = np.array(cam.matrix_world.to_3x3() @ Vector((0, 0, -1)))
        out = np.zeros(len(points), bool)
        for i, point in enumerate(points):
            if cam.data.type == "ORTHO":
                direction = forward
                origin = point - forward * cam.data.clip_end
            else:
                origin = np.array(cam.matrix_world.translation)
                direction = point - origin
            distance = float(np.linalg.norm(point - origin))
            hit, *_ = self.scene.ray_cast(depsgraph, Vector(origin), Vector(direction / distance),
                                          distance=max(distance - tolerance, 0.0))
            out[i] = not hit
        return out

    def project(self, frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keypoints (25, 2) px, visibility (25,) bool and face box (4,) px at scene `frame`."""
        self.scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        obj_eval = self.obj.evaluated_get(depsgraph)
        mesh = obj_eval.to_mesh()
        try:
            if self.lips is None:
                found = find_mouth_vertices(self.obj, mesh, self.mouth_group, camera=self.camera)
                self.lips, self.mouth_source = found.points, found.source
                LOG.info("character '%s': %d lip points from the %s", self.obj.name,
                         len(found.points), found.source)
                if not self._face_given:
                    self.face = _face_vertex_indices(self.obj, mesh)
                self.n_vertices = len(mesh.vertices)
            elif len(mesh.vertices) != self.n_vertices:
                raise InputError(f"'{self.obj.name}' changes its vertex count at frame {frame} "
                                 f"({self.n_vertices} -> {len(mesh.vertices)}): mouth keypoints "
                                 "need a fixed topology; apply or disable the modifier that "
                                 "adds or removes vertices over time.")
            world = self._world_vertices(mesh)
        finally:
            obj_eval.to_mesh_clear()
        return self._keypoints(depsgraph, world)

    def _opened(self, mouth: np.ndarray) -> np.ndarray | None:
        """The lips' world points `mouth` (P, 3) moved by the character's opening shape
        keys (each at 1), or None without such keys or with modifiers that change the
        vertex count."""
        keys = self.obj.data.shape_keys
        if keys is None or len(self.obj.data.vertices) != self.n_vertices:
            return None
        names = opening_keys([block.name for block in keys.key_blocks])
        if not names:
            return None
        basis, _ = basis_and_edges(self.obj)
        delta = sum(shape_key_deltas(self.obj, basis, names).values())           # (N, 3)
        matrix = np.array(self.obj.matrix_world)[:3, :3]
        return mouth + self.lips.at(delta) @ matrix.T

    def _keypoints(self, depsgraph, world):
        width, height = render_size(self.scene)
        box_vertices = world if self.face is None or self.face.size == 0 else world[self.face]
        box_px, box_front = project_points(self.scene, depsgraph, self.camera, box_vertices)
        box = np.zeros(4, np.float32)
        if box_front.any():
            lo = np.clip(box_px[box_front].min(axis=0), 0, [width, height])
            hi = np.clip(box_px[box_front].max(axis=0), 0, [width, height])
            box[:] = [lo[0], lo[1], hi[0], hi[1]]

        mouth = self.lips.at(world)
        mouth_px, mouth_front = project_points(self.scene, depsgraph, self.camera, mouth)
        if self.landmarks is None:
            if not mouth_front.all():
                return np.zeros((N_MOUTH_KEYPOINTS, 2), np.float32), \
                    np.zeros(N_MOUTH_KEYPOINTS, bool), box
            opened = self._opened(mouth) if self.open_mouth else None
            self.landmarks = select_mouth_landmarks(
                mouth_px if opened is None
                else project_points(self.scene, depsgraph, self.camera, opened)[0])
        points = mouth_px[self.landmarks]
        inside = ((points[:, 0] >= 0) & (points[:, 0] < width)
                  & (points[:, 1] >= 0) & (points[:, 1] < height))
        visible = inside & mouth_front[self.landmarks]
        if visible.any():
            mouth_width = float(np.ptp(mouth, axis=0).max())
            candidates = np.flatnonzero(visible)
            visible[candidates] = self._unoccluded(depsgraph, mouth[self.landmarks][candidates],
                                                   tolerance=0.5 * mouth_width)
        return points, visible, box


def empty_track(frames: list[int], n_characters: int) -> KeypointTrack:
    """A track with room for `n_characters` on each frame, all invisible."""
    f = len(frames)
    return KeypointTrack(points=np.zeros((f, n_characters, N_MOUTH_KEYPOINTS, 2), np.float32),
                         visible=np.zeros((f, n_characters, N_MOUTH_KEYPOINTS), bool),
                         boxes=np.zeros((f, n_characters, 4), np.float32),
                         frames=np.asarray(frames, np.int64))
