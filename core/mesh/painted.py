"""Find a mouth painted in a mesh's texture (no bpy).

A toon character often has no lip geometry: its mouth is a line or a small shape drawn in
the face's texture, and no shape key or bone parts the mesh there. Its lips are then points
on the surface between vertices (`SurfacePoints`), found as the camera sees the face:

1. the triangles that face the camera are sampled evenly, about one point per texel (and at
   least `FLAT_SAMPLES` points over those without a texture), each point taking the colour
   of its texture (or of its material) there; points hidden behind nearer ones are dropped;
2. paint is a point further than `PAINT` (RGB distance, 0-1 units) from its surroundings'
   colour, the median over a window `BACKGROUND` of the visible width wide (a large patch
   of one colour, as hair, is its own surroundings);
3. paint points of like colours (`JOIN`) laid out as the camera sees them, within a cell or
   two of each other, make strokes;
4. the mouth is a stroke that crosses the face's middle (the mesh's symmetry plane: x = the
   vertices' median x, object space), lies inside the visible surface (a stroke at its edge
   is hair or an outline) and is `MIN_CELLS` cells to `MAX_SHARE` of the visible width
   wide; among those, the lowest with a stroke on either side of the middle above it
   (`EYES_REACH`, in its widths: the eyes, painted or eyeballs of their own colour).
   Eyes, blush and eyebrows lie off the middle, a nose above the mouth, a hairline above
   the eyes.

Conventions: object space throughout; `forward` and `up` are the camera's viewing and up
directions in that space (unit (3,)); a texture is (H, W, 3) float RGB 0-1 with row 0 at
v = 0 (Blender's bottom row), repeated outside 0-1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .surface import SurfacePoints

PAINT = 0.25           # colour distance from the surroundings that makes paint (RGB 0-1)
BACKGROUND = 0.25      # the surroundings: a window this share of the visible width wide
FACING = 0.05          # a triangle faces the camera: cos(normal, toward camera) above this
FLAT_SAMPLES = 100_000  # points over the facing triangles when none has a texture
MAX_SAMPLES = 1_500_000  # points in all at most (the per-triangle density scales down)
MAX_K = 64             # subdivisions of a triangle's sides at most
CELL = 1.5             # a layout cell: this x the median spacing of the points
MAX_GRID = 4096        # layout cells along a side at most
DEPTH = 3.0            # a point this many cells behind its cell's nearest is hidden
EDGE = 3               # a stroke within this many cells of the visible edge: not a mouth
JOIN = 0.15            # paint cells of colours this close (RGB distance) join a stroke
REACH = 2              # ... up to this many cells apart
MIN_CELLS = 4          # a mouth is at least this many cells wide
MAX_SHARE = 0.6        # ... and at most this share of the visible surface's width
EYES_REACH = (0.5, 5.0)  # eyes lie this many mouth widths above the mouth
EYE_WIDTH = 0.25       # ... and are at least this share of its width wide
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
        spacing = (np.median(side[textured] / np.maximum(k[textured], 1)) if textured.any()
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


def _background(colour: np.ndarray, cells: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(H, W, 3) float colour around each cell: the median over a window `BACKGROUND` of the
    visible width wide of the cells' mean colours (empty cells take their nearest's)."""
    counts = np.bincount(cells, minlength=visible.size)
    mean = np.stack([np.bincount(cells, colour[:, c], minlength=visible.size)
                     for c in range(3)], axis=1) / np.maximum(counts, 1)[:, None]
    mean = mean.reshape(visible.shape + (3,))
    nearest = distance_transform_edt(visible == 0, return_distances=False, return_indices=True)
    filled = np.clip(mean[nearest[0], nearest[1]] * 255 + 0.5, 0, 255).astype(np.uint8)
    columns = np.flatnonzero(visible.any(axis=0))
    size = int(BACKGROUND * (columns[-1] - columns[0] + 1)) // 2 * 2 + 1
    return cv2.medianBlur(filled, int(np.clip(size, 3, 255))).astype(np.float64) / 255


def _strokes(colour: np.ndarray, contrast: np.ndarray, cells: np.ndarray,
             shape: tuple[int, int]) -> np.ndarray:
    """(H*W,) int stroke labels (0: none) of the cells of paint points (`colour` (S, 3),
    `contrast` (S,) distance from the surroundings, `cells` (S,)). A cell takes its most
    contrasting point's colour; cells up to `REACH` apart whose colours differ by less than
    `JOIN` make one stroke, so a stroke of one colour does not run into another (eyes stay
    apart from the hair's edge they touch) and a thin line's gaps are bridged."""
    order = np.lexsort((-contrast, cells))
    first = np.r_[True, cells[order][1:] != cells[order][:-1]]
    cell_colour = np.zeros((shape[0] * shape[1], 3))
    painted = np.zeros(shape[0] * shape[1], bool)
    cell_colour[cells[order][first]] = colour[order][first]
    painted[cells[order][first]] = True
    grid_colour, grid_painted = cell_colour.reshape(shape + (3,)), painted.reshape(shape)
    index = np.arange(painted.size).reshape(shape)
    pairs = []
    for dy in range(0, REACH + 1):
        for dx in range(-REACH, REACH + 1):
            if (dy, dx) <= (0, 0):
                continue
            a = (slice(0, shape[0] - dy), slice(max(0, -dx), shape[1] - max(0, dx)))
            b = (slice(dy, shape[0]), slice(max(0, dx), shape[1] - max(0, -dx)))
            join = (grid_painted[a] & grid_painted[b]
                    & (np.linalg.norm(grid_colour[a] - grid_colour[b], axis=2) < JOIN))
            pairs.append(np.stack([index[a][join], index[b][join]], axis=1))
    pairs = np.concatenate(pairs)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                       shape=(painted.size, painted.size))
    _, labels = connected_components(graph, directed=False)
    return np.where(painted, labels + 1, 0)


@dataclass(frozen=True, eq=False)
class _Stroke:
    members: np.ndarray    # (K,) indices of its points
    height: float          # its centre along the camera's up
    width: float           # along the camera's right
    side: float            # -1 or 1: left or right of the face's middle, 0: across it


def _measure(label, x, xy, cells, inside, middle: float) -> list[_Stroke]:
    """The strokes of the points' `label` (S,) (0: no paint) that hold `MIN_POINTS` and lie
    inside the visible surface (`inside` per cell); `x` (S,) object-space x, `xy` (S, 2)."""
    order = np.argsort(label, kind="stable")
    names, starts = np.unique(label[order], return_index=True)
    strokes = []
    for name, members in zip(names, np.split(order, starts[1:])):
        if name == 0 or len(members) < MIN_POINTS or not inside[cells[members]].all():
            continue
        across = x[members].min() < middle < x[members].max()
        side = 0.0 if across else float(np.sign(np.median(x[members]) - middle))
        strokes.append(_Stroke(members, float(xy[members, 1].mean()),
                               float(np.ptp(xy[members, 0])), side))
    return strokes


def _choose(strokes: list[_Stroke], min_width: float, max_width: float) -> _Stroke | None:
    """The lowest stroke across the middle, `min_width` to `max_width` wide, with strokes on
    both sides above it (the eyes: `EYES_REACH` of its widths above, `EYE_WIDTH` of its
    width wide at least), or None."""
    for mouth in sorted(strokes, key=lambda s: s.height):
        if mouth.side != 0.0 or not min_width <= mouth.width <= max_width:
            continue
        low, high = (mouth.height + reach * mouth.width for reach in EYES_REACH)
        eyes = {s.side for s in strokes
                if low < s.height <= high and s.width >= EYE_WIDTH * mouth.width}
        if {-1.0, 1.0} <= eyes:
            return mouth
    return None


@dataclass(frozen=True, eq=False)
class _View:
    """The surface points the camera sees (S of them), laid out on a grid of `shape`
    (rows, columns) with cells `cell` wide (object units)."""

    triangle: np.ndarray   # (S,) int64 the triangle of each point
    weights: np.ndarray    # (S, 3) its barycentric weights there
    points: np.ndarray     # (S, 3) object space
    xy: np.ndarray         # (S, 2) along the camera's right and up
    cells: np.ndarray      # (S,) int64 flat index of its grid cell
    shape: tuple[int, int]
    cell: float


def _view(mesh: TexturedMesh, forward: np.ndarray, up: np.ndarray) -> _View | None:
    """The points of the triangles facing the camera, those behind nearer ones dropped
    (step 1 of the module docstring); None when no triangle faces it."""
    right = np.cross(forward, up)
    corners = mesh.positions[mesh.triangles]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(normal, axis=1)
    facing = (length > 0) & (normal @ -forward > FACING * length)
    if not facing.any():
        return None
    triangle, weights, spacing = _sample(mesh, np.flatnonzero(facing))
    points = np.einsum("sk,skd->sd", weights, corners[triangle])              # (S, 3)
    xy = np.stack([points @ right, points @ up], axis=1)
    cell = max(CELL * float(np.median(spacing)),
               float(np.ptp(xy, axis=0).max()) / (MAX_GRID - 2 * EDGE - 4))
    grid = np.floor((xy - xy.min(axis=0)) / cell).astype(np.int64) + EDGE + 2
    shape = tuple(int(n) for n in grid.max(axis=0)[::-1] + EDGE + 3)
    cells = grid[:, 1] * shape[1] + grid[:, 0]
    depth = points @ forward
    nearest = np.full(shape[0] * shape[1], np.inf)
    np.minimum.at(nearest, cells, depth)
    seen = depth <= nearest[cells] + DEPTH * cell
    return _View(triangle[seen], weights[seen], points[seen], xy[seen], cells[seen], shape, cell)


def painted_mouth(mesh: TexturedMesh, forward: np.ndarray, up: np.ndarray) -> PaintedMouth | None:
    """The mouth painted on `mesh` as the camera (`forward`, `up`) sees it, or None
    (see the module docstring)."""
    view = _view(mesh, np.asarray(forward, np.float64) / np.linalg.norm(forward),
                 np.asarray(up, np.float64) / np.linalg.norm(up))
    if view is None:
        return None
    colour = _colours(mesh, view.triangle, view.weights)
    visible = np.zeros(view.shape, np.uint8)
    visible.flat[view.cells] = 1
    contrast = np.linalg.norm(
        colour - _background(colour, view.cells, visible).reshape(-1, 3)[view.cells], axis=1)
    paint = contrast > PAINT
    if paint.sum() < MIN_POINTS:
        return None
    visible = cv2.morphologyEx(visible, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    inside = cv2.erode(visible, np.ones((2 * EDGE + 1, 2 * EDGE + 1), np.uint8)).ravel() > 0
    label = np.zeros(len(paint), np.int64)
    label[paint] = _strokes(colour[paint], contrast[paint], view.cells[paint],
                            view.shape)[view.cells[paint]]
    strokes = _measure(label, view.points[:, 0], view.xy, view.cells, inside,
                       middle=float(np.median(mesh.positions[:, 0])))
    chosen = _choose(strokes, MIN_CELLS * view.cell, MAX_SHARE * float(np.ptp(view.xy[:, 0])))
    if chosen is None:
        return None
    kept = chosen.members[np.linspace(0, len(chosen.members) - 1,
                                      min(len(chosen.members), MAX_POINTS)).astype(int)]
    triangles = view.triangle[kept]
    return PaintedMouth(SurfacePoints(mesh.triangles[triangles], view.weights[kept]), triangles)
