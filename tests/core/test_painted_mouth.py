"""The mouth painted in a texture, found on the surface as the camera sees it (no bpy)."""

from __future__ import annotations

import numpy as np
import pytest

from lipsync.core.mesh.painted import TexturedMesh, painted_mouth
from painted_heads import MOUTH_HALF, MOUTH_LAT, mouth_corners, sphere, texture

FORWARD, UP = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])


def _head(mirrored: bool = False, flat: bool = False, **paint) -> TexturedMesh:
    positions, triangles, uvs = sphere(mirrored=mirrored)
    return TexturedMesh(positions, triangles, uvs,
                        np.full(len(triangles), -1 if flat else 0, np.int64),
                        np.tile([0.95, 0.80, 0.70], (len(triangles), 1)),
                        [texture(mirrored=mirrored, **paint)])


@pytest.mark.parametrize("mirrored", [False, True])
def test_the_painted_mouth_is_found_between_the_eyes_and_the_chin(mirrored):
    """The lips are points of the painted line (both halves, even when they share texels):
    its ends within 10 % of its width of the painted ends, its height the line's."""
    mesh = _head(mirrored=mirrored)
    found = painted_mouth(mesh, FORWARD, UP)
    assert found is not None and len(found.lips) >= 25
    lips = found.lips.at(mesh.positions)
    corners = mouth_corners()
    width = corners[1, 0] - corners[0, 0]
    assert abs(lips[:, 0].min() - corners[0, 0]) < 0.1 * width
    assert abs(lips[:, 0].max() - corners[1, 0]) < 0.1 * width
    assert np.abs(lips[:, 2] - np.sin(MOUTH_LAT)).max() < 2 * MOUTH_HALF + 0.02
    assert (lips[:, 1] < 0).all()                                     # on the front


def test_a_face_without_a_painted_mouth_has_none():
    """Eyes, blush and hair but no mouth: nothing off the middle or at the edge is taken."""
    assert painted_mouth(_head(mouth=False), FORWARD, UP) is None
    assert painted_mouth(_head(flat=True), FORWARD, UP) is None       # one colour


def test_a_stroke_off_the_middle_is_no_mouth():
    """A line on one cheek (not crossing the face's middle) is not taken for the mouth."""
    assert painted_mouth(_head(mouth_lon=0.9), FORWARD, UP) is None


def test_the_mouth_is_looked_for_on_the_side_the_camera_sees():
    """Seen from behind, the painted face is hidden: nothing is found."""
    assert painted_mouth(_head(), -FORWARD, UP) is None
