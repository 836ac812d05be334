"""Points on a mesh's surface that move with it: a triangle's corners and weights (no bpy).

The lips of a mesh are usually vertices; a mouth painted in the texture lies between
vertices. Both are `SurfacePoints`: a vertex is a point whose first corner weighs 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class SurfacePoints:
    """P points, each the weighted sum of three vertices of a mesh.

    corners: (P, 3) int64 vertex indices; weights: (P, 3) float64, each row summing to 1
    (barycentric coordinates in the triangle of those corners)."""

    corners: np.ndarray
    weights: np.ndarray

    @classmethod
    def of_vertices(cls, indices: np.ndarray) -> "SurfacePoints":
        """The vertices `indices` (P,) themselves."""
        indices = np.asarray(indices, np.int64)
        corners = np.repeat(indices[:, None], 3, axis=1)
        weights = np.zeros((len(indices), 3))
        weights[:, 0] = 1.0
        return cls(corners, weights)

    def __len__(self) -> int:
        return len(self.corners)

    @property
    def vertices(self) -> np.ndarray:
        """(M,) int64 sorted indices of the vertices the points depend on."""
        return np.unique(self.corners[self.weights > 0])

    def at(self, values: np.ndarray) -> np.ndarray:
        """Per-vertex `values` (N, D) (positions, displacements) -> (P, D) at the points."""
        return np.einsum("pk,pkd->pd", self.weights, np.asarray(values)[self.corners])
