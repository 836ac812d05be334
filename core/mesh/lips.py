"""Find a mesh's lip vertices from how its mouth moves (no bpy).

A character made elsewhere (a VRoid/VRM avatar, a glTF avatar with Oculus or ARKit
visemes) rarely has its lips as a vertex group or a material of their own, but it
has shape keys (or a jaw bone) that open its mouth. With the mouth closed in the
basis, the lips are where the mouth *opens*: vertices close together in the basis
that move apart under an opening deformation (the lower lip goes down with the jaw,
the upper lip stays) mark the lip contact line. The frontmost layer of that line is
the lips' (teeth and tongue part the same way, behind them); the lips are the
vertices around it, within a band as tall as lips are (a fraction of the mouth's
width, tapering to the corners), reached along the mesh's edges from the line's
middle; lips modelled as separate pieces (tubes, as the factory's) that the band
mostly covers are taken whole. Only a cut parts: the two sides of a cut are far
apart along the mesh's surface (or on pieces of their own) though close in space,
so a crease or a band that grows from no height (teeth or a tongue that appear as the
mouth opens) is no contact; nor is a piece of its own, no larger than the mouth, that
stretches as the mouth opens (a drawn mouth's interior) where a lip moves nearly rigidly.
The lips hold the mouth's main contact: a piece with a small share of it (a strand
of a moustache, a fold of skin) is left out of the line, and they reach the mouth's
corners: a piece of the line that spans less of its width (teeth, a tongue just
behind a drawn mouth's lips) is left out too.

Conventions: positions and displacements are float (N, 3) in one space (object
space, any unit: every length here is relative to the mesh, never absolute);
a shape key is given as its displacement from the basis (key - basis); a jaw bone
as the displacement its opening rotation gives each vertex (weight x rotation, the
Blender side computes it). Vertex indices are int64 into the basis.

Shape keys: those given (a character's viseme map), else the "open" row of the map that
fits the key names (`viseme_map.opening_keys`), else (or when those part no mouth) those
picked by name (`viseme_names.classify_shape_key`). With several keys, contact vertices
within `_AGREE` median edge lengths of each other make one place; only the places where the
most keys find contact are kept, so a stray cut one key parts elsewhere (a seam at the back
of the head) neither pulls the lips away nor steers the mouth's directions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra
from scipy.spatial import cKDTree

from ..errors import InputError
from .viseme_map import opening_keys
from .viseme_names import mouth_shape_keys

# Shape of the search, relative to the mesh (no absolute lengths anywhere).
_NEAR_EDGES = 1.5       # contact pairs: basis distance <= this x the median edge length
_PART = 0.2             # ... that part by >= this x the key's largest displacement
_CUT = 2.0              # ... and are further apart along the surface than this x that distance
_MAIN = 0.2             # pieces with less than this share of the most contact of a piece: no lips
_STRETCH = 0.2          # a mouth-sized piece whose edges stretch by this share: the inside
_SPAN = 0.92            # the front line's pieces spanning less of its width: teeth, tongue
_FRONT = 0.04           # the front layer: within this x mouth width of the frontmost contact
_BINS = 12              # ... judged in this many slices across the mouth
_LIP_HEIGHT = 0.25      # band around the contact line: this x mouth width in the middle
_CORNER = 0.6           # ... this share of it at the corners
_MARGIN = 0.06          # the band reaches this x mouth width past the contact line's ends
_DEPTH = 0.4            # ... and at most this x mouth width behind the contact line
_PIECE = 0.5            # a separate piece this much inside the band is taken whole ...
_PIECE_SIZE = 1.5       # ... when it is no longer than this x mouth width
_SEED = 0.6             # the lips grow from the line's middle part, this share of its length
_AGREE = 4.0            # several keys' contact within this x the median edge length: one place
MIN_CONTACT = 6
"""Fewer contact vertices than this: no lips found."""
MIN_LIPS = 25
"""Fewer lip vertices than this: no lips found (the keypoints need 25)."""


@dataclass(frozen=True, eq=False)
class LipVertices:
    """Lips found on a mesh.

    Attributes:
        indices: (M,) int64 sorted vertex indices of both lips, M >= `MIN_LIPS`.
        source: what they were found from, for the user: "shape keys" or "jaw bone".
        used: the names of the deformations that found them (shape keys, or the bone).
        forward: (3,) unit vector, the direction the mouth faces (estimated), in the
            basis' space.
    """

    indices: np.ndarray
    source: str
    used: tuple[str, ...]
    forward: np.ndarray

    def describe(self) -> str:
        """One line for a log or a report: '... from shape keys (jawOpen, mouthClose)'."""
        names = ", ".join(self.used[:4]) + (", ..." if len(self.used) > 4 else "")
        return f"{len(self.indices)} lip vertices from the {self.source} ({names})"


def lips_from_shape_keys(basis: np.ndarray, deltas: Mapping[str, np.ndarray],
                         edges: np.ndarray | None = None,
                         opening: Sequence[str] = ()) -> LipVertices | None:
    """The lips, from the shape keys among `deltas` that open the mouth.

    Args:
        basis: (N, 3) float basis positions, the mouth closed.
        deltas: shape key name -> (N, 3) float displacement from the basis.
        edges: (E, 2) int vertex index pairs of the mesh's edges, or None (then the
            lips are every vertex of the band, connected or not).
        opening: the keys known to open the mouth (`VisemeMap.opening`); none of them in
            `deltas`: those of the map that fits their names (`viseme_map.opening_keys`).
            When these find no lips, the keys picked by name (`mouth_shape_keys`): the
            opening ones, else every mouth key.

    Returns:
        The lips, or None when no mouth key parts a closed mouth.
    """
    chosen = [n for n in opening if n in deltas] or list(opening_keys(list(deltas)))
    by_name, other = mouth_shape_keys(list(deltas))
    for names in dict.fromkeys((tuple(chosen), tuple(by_name or other))):
        found = _find(basis, [deltas[n] for n in names], edges) if names else None
        if found is not None:
            return LipVertices(found[0], "shape keys", names, found[1])
    return None


def lips_from_jaw(basis: np.ndarray, displacement: np.ndarray, edges: np.ndarray | None = None,
                  bone: str = "jaw") -> LipVertices | None:
    """The lips, from the displacement (N, 3) a jaw bone's opening rotation gives each
    vertex of `basis` (N, 3) (its weight times the rotation's move; 0 off the jaw).
    `edges` as for `lips_from_shape_keys`; None when the jaw parts no closed mouth."""
    found = _find(basis, [displacement], edges)
    return None if found is None else LipVertices(found[0], "jaw bone", (bone,), found[1])


def _check(basis, displacements, edges):
    basis = np.asarray(basis, np.float64)
    if basis.ndim != 2 or basis.shape[1] != 3 or not np.isfinite(basis).all():
        raise InputError(f"lip finder: basis must be finite (N, 3) positions, got shape "
                         f"{basis.shape}")
    out = []
    for d in displacements:
        d = np.asarray(d, np.float64)
        if d.shape != basis.shape or not np.isfinite(d).all():
            raise InputError(f"lip finder: a displacement must be finite {basis.shape} like "
                             f"the basis, got shape {d.shape}")
        out.append(d)
    if edges is not None:
        edges = np.asarray(edges, np.int64).reshape(-1, 2)
        if edges.size and (edges.min() < 0 or edges.max() >= len(basis)):
            raise InputError(f"lip finder: edges index vertices 0-{len(basis) - 1}, got "
                             f"{edges.min()}-{edges.max()}")
    return basis, out, edges


def _spacing(basis: np.ndarray, near: np.ndarray, edges: np.ndarray | None) -> float:
    """Median edge length around the vertices `near` (N,) bool (or nearest-neighbour gap)."""
    if edges is not None and edges.size:
        touch = near[edges[:, 0]] | near[edges[:, 1]]
        if touch.any():
            e = edges[touch]
            return float(np.median(np.linalg.norm(basis[e[:, 0]] - basis[e[:, 1]], axis=1)))
    pts = basis[near]
    gap, _ = cKDTree(pts).query(pts, k=2)
    return float(np.median(gap[:, 1]))


def _contact(basis: np.ndarray, d: np.ndarray, edges,
             piece: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(N,) bool contact vertices of one opening `d` (N, 3), and (N,) bool moving ones;
    `piece`: (N,) int piece of each vertex (`_pieces`), None without edges."""
    size = np.linalg.norm(d, axis=1)
    amount = float(np.percentile(size, 99.5))
    n = len(basis)
    if amount <= 1e-9 * max(float(np.ptp(basis, axis=0).max()), 1e-30):
        return np.zeros(n, bool), np.zeros(n, bool)
    moving = size > 0.05 * amount
    radius = _NEAR_EDGES * _spacing(basis, moving, edges)
    tree = cKDTree(basis)
    near = np.zeros(n, bool)
    near[np.concatenate(tree.query_ball_point(basis[moving], radius)).astype(np.int64)] = True
    idx = np.flatnonzero(near)
    pairs = idx[cKDTree(basis[idx]).query_pairs(radius, output_type="ndarray")]   # (P, 2)
    apart = np.linalg.norm(d[pairs[:, 0]] - d[pairs[:, 1]], axis=1) >= _PART * amount
    if piece is not None:                    # only a cut parts (see the module docstring)
        apart[apart] = _far_along_surface(basis, pairs[apart], edges, _CUT * radius)
    contact = np.zeros(n, bool)
    contact[pairs[apart].ravel()] = True
    if piece is not None:
        contact &= ~_stretching(basis, d, contact, edges, piece, moving)
    return contact, moving


def _stretching(basis: np.ndarray, d: np.ndarray, contact: np.ndarray, edges: np.ndarray,
                piece: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """(N,) bool: the vertices of pieces that stretch under the opening `d` (N, 3): pieces
    holding `contact`, no larger than the contact's extent, whose edges between `moving`
    vertices change length by more than `_STRETCH` of it (median over the piece). A lip
    moves nearly rigidly (median 0-0.02 on the factory's and imported heads); a mouth's
    inside stretched across the opening does not (0.3-1.4)."""
    out = np.zeros(len(basis), bool)
    if contact.sum() < 2:
        return out
    reach = float(np.ptp(basis[contact], axis=0).max())
    e = edges[moving[edges[:, 0]] & moving[edges[:, 1]]]
    vec = basis[e[:, 1]] - basis[e[:, 0]]
    before = np.linalg.norm(vec, axis=1)
    after = np.linalg.norm(vec + d[e[:, 1]] - d[e[:, 0]], axis=1)
    strain = np.abs(after - before) / np.maximum(before, 1e-9 * reach)   # 0-long edges too
    for p in np.unique(piece[contact]):
        members = piece == p
        on = members[e[:, 0]]
        if (on.any() and np.ptp(basis[members], axis=0).max() <= _PIECE_SIZE * reach
                and np.median(strain[on]) > _STRETCH):
            out |= members
    return out


def _far_along_surface(basis: np.ndarray, pairs: np.ndarray, edges: np.ndarray,
                       limit: float, chunk: int = 512) -> np.ndarray:
    """(P,) bool: the vertex pairs (P, 2) with no path along the mesh's edges (`edges`
    (E, 2)) shorter than `limit` (the basis' units). A path that short stays within
    `limit` of its start, so the search runs on the vertices that near the pairs."""
    if not len(pairs):
        return np.zeros(0, bool)
    n = len(basis)
    ball = cKDTree(basis).query_ball_point(basis[np.unique(pairs)], limit)
    keep = np.zeros(n, bool)
    keep[np.concatenate(ball).astype(np.int64)] = True
    local = np.full(n, -1, np.int64)
    local[keep] = np.arange(int(keep.sum()))
    e = edges[keep[edges[:, 0]] & keep[edges[:, 1]]]
    length = np.linalg.norm(basis[e[:, 0]] - basis[e[:, 1]], axis=1)
    length = np.maximum(length, 1e-9 * limit)      # a zero-length edge is still an edge
    m = int(keep.sum())
    graph = coo_matrix((length, (local[e[:, 0]], local[e[:, 1]])), shape=(m, m)).tocsr()
    sources = np.unique(pairs[:, 0])
    row = np.searchsorted(sources, pairs[:, 0])
    far = np.ones(len(pairs), bool)
    for start in range(0, len(sources), chunk):
        part = sources[start:start + chunk]
        dist = dijkstra(graph, directed=False, indices=local[part], limit=limit)
        sel = (row >= start) & (row < start + len(part))
        far[sel] = ~np.isfinite(dist[row[sel] - start, local[pairs[sel, 1]]])
    return far


def _agreed(basis: np.ndarray, contacts: list[np.ndarray],
            edges) -> tuple[np.ndarray, np.ndarray]:
    """(N,) bool: the contact vertices of `contacts` ((N,) bool, one per key) in the places
    the most keys find contact in (with one key, or all places equally supported: all);
    and (N,) bool: the vertices nearer to those than to other contact (their movement
    steers the mouth's frame). A place: contact vertices linked by gaps of at most `_AGREE`
    median edge lengths; its support: the keys with contact in it."""
    union = np.logical_or.reduce(contacts)
    if len(contacts) < 2 or not union.any():
        return union, np.ones(len(basis), bool)
    idx = np.flatnonzero(union)
    pairs = cKDTree(basis[idx]).query_pairs(_AGREE * _spacing(basis, union, edges),
                                            output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                       shape=(len(idx), len(idx)))
    place = connected_components(graph, directed=False)[1]
    support = sum(np.bincount(place, weights=c[idx], minlength=place.max() + 1) > 0
                  for c in contacts)
    agreed = np.zeros(len(basis), bool)
    agreed[idx[support[place] == support.max()]] = True
    return agreed, agreed[idx[cKDTree(basis[idx]).query(basis)[1]]]


def _main_contact(contact: np.ndarray, piece: np.ndarray | None) -> np.ndarray:
    """`contact` (N,) bool without the pieces (`piece` (N,) int) that hold less than
    `_MAIN` of the most contact any piece holds (with no pieces, unchanged)."""
    if piece is None or not contact.any():
        return contact
    counts = np.bincount(piece[contact], minlength=piece.max() + 1)
    return contact & (counts[piece] >= _MAIN * counts.max())


def _pieces(edges: np.ndarray, n: int) -> np.ndarray:
    """(N,) int: the connected piece of the mesh each vertex is on."""
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _frame(basis, contact, opening):
    """Unit axes (across, up, forward) of the mouth from its contact vertices."""
    pts = basis[contact]
    centred = pts - pts.mean(axis=0)
    across = np.linalg.svd(centred, full_matrices=False)[2][0]
    down = opening - across * (opening @ across)
    if np.linalg.norm(down) < 1e-12:
        return None
    up = -down / np.linalg.norm(down)
    forward = np.cross(across, up)
    w, f = centred @ across, pts @ forward
    half = 0.5 * float(np.ptp(w))
    middle, ends = np.abs(w) < 0.25 * half, np.abs(w) > 0.6 * half
    bulge = f[middle].max() - f[ends].max() if middle.any() and ends.any() else 0.0
    if abs(bulge) < 0.02 * half:        # a flat mouth: the side away from the mesh centre
        bulge = float((pts.mean(axis=0) - basis.mean(axis=0)) @ forward)
    if bulge < 0:
        forward, across = -forward, -across
    return across, up, forward


def _find(basis, displacements, edges):
    """(indices (M,), forward (3,)) of the lips, or None."""
    basis, displacements, edges = _check(basis, displacements, edges)
    n = len(basis)
    if n < MIN_LIPS or not displacements:
        return None
    piece = _pieces(edges, n) if edges is not None and edges.size else None
    found = [_contact(basis, d, edges, piece) for d in displacements]
    (contact, steer), opening = _agreed(basis, [c for c, _ in found], edges), np.zeros(3)
    for d, (c, moving) in zip(displacements, found):
        if (c & contact).any():
            opening += d[moving & steer].sum(axis=0)
    contact = _main_contact(contact, piece)
    if contact.sum() < MIN_CONTACT:
        return None
    axes = _frame(basis, contact, opening)
    if axes is None:
        return None
    across, up, forward = axes
    w, f = basis @ across, basis @ forward
    contacts = np.flatnonzero(contact)
    line = _spanning(_front_line(contacts, w, f), contacts, w, piece)
    lo, hi = w[line].min(), w[line].max()
    width = hi - lo
    if width <= 0:
        return None
    mid = 0.5 * (lo + hi)
    dist, nearest = cKDTree(basis[line]).query(basis)
    t = np.clip(2 * np.abs(w - mid) / width, 0.0, 1.0)
    height = _LIP_HEIGHT * width * (_CORNER + (1 - _CORNER) * np.sqrt(1 - t * t))
    band = ((dist <= height) & (np.abs(w - mid) <= 0.5 * width + _MARGIN * width)
            & (f >= f[line][nearest] - _DEPTH * width))
    band[line] = True
    seeds = line[np.abs(w[line] - mid) <= _SEED * 0.5 * width]
    lips = _whole_pieces(basis, _reach(band, seeds, edges, n), piece, width)
    if lips.size < MIN_LIPS:
        return None
    return lips, forward


def _front_line(candidates: np.ndarray, w: np.ndarray, f: np.ndarray) -> np.ndarray:
    """The contact vertices (indices) in the front layer, slice by slice across the mouth."""
    cw, cf = w[candidates], f[candidates]
    edges = np.linspace(cw.min(), cw.max(), _BINS + 1)
    slot = np.clip(np.searchsorted(edges, cw, side="right") - 1, 0, _BINS - 1)
    front = np.full(_BINS, -np.inf)
    np.maximum.at(front, slot, cf)
    keep = cf >= front[slot] - _FRONT * (cw.max() - cw.min())
    return candidates[keep]


def _spanning(line: np.ndarray, contact: np.ndarray, w: np.ndarray,
              piece: np.ndarray | None) -> np.ndarray:
    """The `line` vertices (indices) on pieces whose `contact` vertices (indices) span at
    least `_SPAN` of the contact's width across the mouth (`w` (N,)): the lips reach the
    mouth's corners, teeth and a tongue lie between them. Unchanged without pieces
    (`piece` (N,) int) or when no piece spans."""
    if piece is None or len(line) < 2:
        return line
    width = float(np.ptp(w[contact]))
    spanning = [p for p in np.unique(piece[line])
                if np.ptp(w[contact[piece[contact] == p]]) >= _SPAN * width]
    keep = np.isin(piece[line], spanning)
    return line[keep] if keep.any() else line


def _whole_pieces(basis, lips: np.ndarray, piece: np.ndarray | None,
                  width: float) -> np.ndarray:
    """`lips` plus every separate mesh piece (`piece` (N,) int, None: none known) they
    mostly cover that is no larger than a mouth (lips modelled as pieces of their own are
    taken whole, thickness and all)."""
    if piece is None:
        return lips
    counts = np.bincount(piece, minlength=piece.max() + 1)
    covered = np.bincount(piece[lips], minlength=len(counts))
    out = [lips]
    for p in np.flatnonzero(covered >= _PIECE * counts):
        members = np.flatnonzero(piece == p)
        if np.ptp(basis[members], axis=0).max() <= _PIECE_SIZE * width:
            out.append(members)
    return np.unique(np.concatenate(out)).astype(np.int64)


def _reach(band: np.ndarray, start: np.ndarray, edges, n: int) -> np.ndarray:
    """Sorted indices of the `band` (N,) bool vertices reached from `start` along edges."""
    if edges is None or not edges.size:
        return np.flatnonzero(band)
    inside = edges[band[edges[:, 0]] & band[edges[:, 1]]]
    source = n                                    # one extra node linked to every start
    rows = np.concatenate([inside[:, 0], inside[:, 1], np.full(len(start), source)])
    cols = np.concatenate([inside[:, 1], inside[:, 0], start])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1)).tocsr()
    order = breadth_first_order(graph, source, directed=True, return_predecessors=False)
    return np.sort(order[order != source]).astype(np.int64)
