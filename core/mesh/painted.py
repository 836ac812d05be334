"""Find a mouth painted in a mesh's texture (no bpy).

A toon character often has no lip geometry: its mouth is a line or a small shape drawn in
the face's texture, and no shape key or bone parts the mesh there. Its lips are then points
on the surface between vertices (`SurfacePoints`), found as the camera sees the face:

1. the triangles that face the camera are sampled evenly, about one point per texel (and at
   least `FLAT_SAMPLES` points over those without a texture), each point taking the colour
   of its texture (or of its material) there; points hidden behind nearer ones are dropped;
2. the skin is the visible points' median colour; paint is a point further from it than
   `PAINT` (RGB distance, 0-1 units);
3. paint points laid out as the camera sees them, within a cell or two of each other, make
   strokes;
4. the mouth is a stroke that crosses the face's middle (the mesh's symmetry plane: x = the
   vertices' median x, object space), lies inside the visible surface (a stroke at its edge
   is hair or an outline) and is at least `MIN_CELLS` cells wide; among those, the lowest
   with a stroke above it on either side of the middle within `EYES_REACH` of its widths
   (the eyes), else the lowest. Eyes, blush and eyebrows lie off the middle, a nose above
   the mouth.

Conventions: object space throughout; `forward` and `up` are the camera's viewing and up
directions in that space (unit (3,)); a texture is (H, W, 3) float RGB 0-1 with row 0 at
v = 0 (Blender's bottom row), repeated outside 0-1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .surface import SurfacePoints

PAINT = 0.25           # colour distance from the skin that makes paint (RGB 0-1)
FACING = 0.05          # a triangle faces the camera: cos(normal, toward camera) above this
FLAT_SAMPLES = 100_000  # points over the facing triangles when none has a texture
MAX_SAMPLES = 3_000_000  # points in all at most (the per-triangle density scales down)
MAX_K = 64             # subdivisions of a triangle's sides at most
CELL = 1.5             # a layout cell: this x the median spacing of the points
MAX_GRID = 4096        # layout cells along a side at most
DEPTH = 3.0            # a point this many cells behind its cell's nearest is hidden
EDGE = 3               # a stroke within this many cells of the visible edge: not a mouth
MIN_CELLS = 4          # a mouth is at least this many cells wide
EYES_REACH = 5.0       # eyes lie within this many mouth widths above the mouth
MIN_POINTS = 25        # the mouth keypoints need this many lip points
MAX_POINTS = 4000      # lip points kept at most (evenly thinned)


@dataclass(frozen=True, eq=False)
class TexturedMesh:
    """A triangulated mesh with its colours.

    positions (N, 3) float; triangles (T, 3) int64; uvs (T, 3, 2) float per corner;
    texture_of (T,) int64 index into `textures`, -1 for a triangle of one colour;
    flat (T, 3) float RGB 0-1 of such triangles; textures: (H, W, 3) float arrays."""

    positions: np.ndarray
    triangles: np.ndarray
    uvs: np.ndarray
    texture_of: np.ndarray
    flat: np.ndarray
    textures: Sequence[np.ndarray]


@dataclass(frozen=True, eq=False)
class PaintedMouth:
    """The lips (P points on the surface) and the triangle (P,) int64 each point lies on."""

    lips: SurfacePoints
    triangles: np.ndarray


def _pattern(k: int) -> np.ndarray:
    """(k*k, 3) barycentric centroids of a triangle cut into k*k equal triangles."""
    rows = []
    for i in range(k):
        for j in range(k - i):
            rows.append(((i + 1 / 3) / k, (j + 1 / 3) / k))
            if i + j <= k - 2:
                rows.append(((i + 2 / 3) / k, (j + 2 / 3) / k))
    a = np.array(rows)
    return np.column_stack([1.0 - a.sum(axis=1), a[:, 0], a[:, 1]])


def _subdivisions(mesh: TexturedMesh, chosen: np.ndarray) -> np.ndarray:
    """(F,) int subdivisions per side of the triangles `chosen` (F,): a point per texel."""
    corners = mesh.positions[mesh.triangles[chosen]]                      # (F, 3, 3)
    side = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).max(axis=1)
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0],
                                         corners[:, 2] - corners[:, 0]), axis=1)
    k = np.ones(len(chosen))
    textured = mesh.texture_of[chosen] >= 0
    if textured.any():
        sizes = np.array([t.shape[1::-1] for t in mesh.textures], np.float64)   # (n, 2) W, H
        uv = mesh.uvs[chosen[textured]] * sizes[mesh.texture_of[chosen[textured]]][:, None]
        k[textured] = np.linalg.norm(uv - np.roll(uv, 1, axis=1), axis=2).max(axis=1)
    if (~textured).any():                    # as fine as the textured points, or a budget
        spacing = (np.median(side[textured] / k[textured]) if textured.any()
                   else np.sqrt(2.0 * area.sum() / FLAT_SAMPLES))
        k[~textured] = side[~textured] / max(spacing, 1e-12)
    k = np.clip(np.ceil(k), 1, MAX_K)
    total = float((k * k).sum())
    if total > MAX_SAMPLES:
        k = np.clip(np.floor(k * np.sqrt(MAX_SAMPLES / total)), 1, MAX_K)
    return k.astype(np.int64)


def _sample(mesh: TexturedMesh, chosen: np.ndarray):
    """Points over the triangles `chosen`: (triangle (S,) int64, weights (S, 3),
    spacing (S,) float, the sides' length / subdivisions)."""
    k = _subdivisions(mesh, chosen)
    corners = mesh.positions[mesh.triangles[chosen]]
    side = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).max(axis=1)
    triangles, weights, spacing = [], [], []
    for kk in np.unique(k):
        where = chosen[k == kk]
        pattern = _pattern(int(kk))
        triangles.append(np.repeat(where, len(pattern)))
        weights.append(np.tile(pattern, (len(where), 1)))
        spacing.append(np.repeat(side[k == kk] / kk, len(pattern)))
    return np.concatenate(triangles), np.concatenate(weights), np.concatenate(spacing)


def _colours(mesh: TexturedMesh, triangle: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(S, 3) RGB of the points (nearest texel, textures repeated)."""
    colour = mesh.flat[triangle].astype(np.float64)
    which = mesh.texture_of[triangle]
    for i, texture in enumerate(mesh.textures):
        on = which == i
        if not on.any():
            continue
        uv = np.einsum("sk,skd->sd", weights[on], mesh.uvs[triangle[on]])
        h, w = texture.shape[:2]
        x = np.floor(uv[:, 0] * w).astype(np.int64) % w
        y = np.floor(uv[:, 1] * h).astype(np.int64) % h
        colour[on] = texture[y, x, :3]
    return colour


def _strokes(paint_cells: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected strokes of a (H, W) bool grid, gaps of a cell closed: (count, labels)."""
    closed = cv2.morphologyEx(paint_cells.astype(np.uint8), cv2.MORPH_CLOSE,
                              np.ones((3, 3), np.uint8))
    return cv2.connectedComponents(closed, connectivity=8)


def painted_mouth(mesh: TexturedMesh, forward: np.ndarray, up: np.ndarray) -> PaintedMouth | None:
    """The mouth painted on `mesh` as the camera (`forward`, `up`) sees it, or None
    (see the module docstring)."""
    forward = np.asarray(forward, np.float64) / np.linalg.norm(forward)
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    right = np.cross(forward, up)
    corners = mesh.positions[mesh.triangles]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(normal, axis=1)
    facing = (length > 0) & (normal @ -forward > FACING * length)
    if not facing.any():
        return None
    triangle, weights, spacing = _sample(mesh, np.flatnonzero(facing))
    points = np.einsum("sk,skd->sd", weights, corners[triangle])              # (S, 3)
    cell = CELL * float(np.median(spacing))
    xy = np.stack([points @ right, points @ up], axis=1)
    cell = max(cell, float(np.ptp(xy, axis=0).max()) / (MAX_GRID - 2 * EDGE - 4))
    grid = np.floor((xy - xy.min(axis=0)) / cell).astype(np.int64) + EDGE + 2
    shape = tuple(grid.max(axis=0)[::-1] + EDGE + 3)                           # rows, columns
    cells = grid[:, 1] * shape[1] + grid[:, 0]
    depth = points @ forward
    nearest = np.full(shape[0] * shape[1], np.inf)
    np.minimum.at(nearest, cells, depth)
    seen = depth <= nearest[cells] + DEPTH * cell
    triangle, weights, points, xy, cells = (a[seen] for a in (triangle, weights, points, xy, cells))

    colour = _colours(mesh, triangle, weights)
    paint = np.linalg.norm(colour - np.median(colour, axis=0), axis=1) > PAINT
    visible = np.zeros(shape, np.uint8)
    visible.flat[cells] = 1
    visible = cv2.morphologyEx(visible, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    inside = cv2.erode(visible, np.ones((2 * EDGE + 1, 2 * EDGE + 1), np.uint8)).ravel() > 0
    painted = np.zeros(shape, bool)
    painted.flat[cells[paint]] = True
    count, labels = _strokes(painted)
    label = np.where(paint, labels.ravel()[cells], 0)

    middle = float(np.median(mesh.positions[:, 0]))
    x = points[:, 0]
    strokes = []                        # (label, centre y, width, centre x side)
    for stroke in range(1, count):
        member = label == stroke
        if member.sum() < MIN_POINTS or not inside[np.unique(cells[member])].all():
            continue
        width = float(np.ptp(xy[member, 0]))
        side = np.sign(np.median(x[member]) - middle)
        crosses = x[member].min() < middle < x[member].max()
        strokes.append((stroke, float(xy[member, 1].mean()), width, 0.0 if crosses else side))
    mouths = sorted((s for s in strokes if s[3] == 0.0 and s[2] >= MIN_CELLS * cell),
                    key=lambda s: s[1])
    if not mouths:
        return None

    def has_eyes(mouth) -> bool:
        above = [s for s in strokes if mouth[1] < s[1] <= mouth[1] + EYES_REACH * mouth[2]]
        return {-1.0, 1.0} <= {s[3] for s in above}

    chosen = next((m for m in mouths if has_eyes(m)), mouths[0])
    member = np.flatnonzero(label == chosen[0])
    member = member[np.linspace(0, len(member) - 1, min(len(member), MAX_POINTS)).astype(int)]
    return PaintedMouth(SurfacePoints(mesh.triangles[triangle[member]], weights[member]),
                        triangle[member])
