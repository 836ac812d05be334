"""A mouth painted only in the texture (no lip geometry, shape key or bone): found by the
projector as the camera sees it, checked over a render, or an error that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon.blender.projection import MouthProjector, project_points  # noqa: E402
from lipsync.core.errors import InputError  # noqa: E402
from painted_heads import mouth_corners  # noqa: E402
from painted_scene import RADIUS, painted_head_scene  # noqa: E402

pytestmark = pytest.mark.blender


def test_the_keypoints_of_a_painted_mouth_lie_on_its_line():
    """Left and right keypoints within 10 % of the mouth's width of the painted ends; the
    rest between them, on the line; all visible."""
    scene = painted_head_scene()
    head = scene.objects["Head"]
    projector = MouthProjector(scene, head, scene.camera)
    points, visible, box = projector.project(1)
    assert projector.mouth_source == "paint of image 'FaceTexture' (a painted mouth)"
    assert visible.all()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    ends, _ = project_points(scene, depsgraph, scene.camera, mouth_corners() * RADIUS)
    width = ends[1, 0] - ends[0, 0]
    assert abs(points[:, 0].min() - ends[0, 0]) < 0.1 * width
    assert abs(points[:, 0].max() - ends[1, 0]) < 0.1 * width
    assert np.abs(points[:, 1] - ends[:, 1].mean()).max() < 0.1 * width
    assert (box[:2] < points.min(axis=0)).all() and (box[2:] > points.max(axis=0)).all()


def test_the_painted_mouth_moves_with_the_head():
    """Turned 30 degrees and moved, the points follow the surface (the same lip points)."""
    scene = painted_head_scene()
    head = scene.objects["Head"]
    head.rotation_euler = (0, 0, 0)
    head.keyframe_insert("rotation_euler", frame=1)
    head.rotation_euler = (0, 0, np.radians(30))
    head.keyframe_insert("rotation_euler", frame=10)
    projector = MouthProjector(scene, head, scene.camera)
    start, _, _ = projector.project(1)
    turned, visible, _ = projector.project(10)
    assert visible.all()
    assert turned[:, 0].mean() > start[:, 0].mean() + 5      # the mouth went right (px)


def test_a_face_with_nothing_to_find_is_an_error_that_says_what_to_do():
    scene = painted_head_scene(mouth=False)
    with pytest.raises(InputError, match="no mouth painted in its texture.*vertex group"):
        MouthProjector(scene, scene.objects["Head"], scene.camera).project(1)


def test_the_mouth_check_draws_the_painted_mouths_points_over_a_render():
    """The panel's Check Mouth (and headless `check`) on the painted head: 25 points drawn
    where the line is, and the user told where they came from."""
    from lipsync.addon.jobs.mouth_check import check_mouth

    scene = painted_head_scene(size=128)
    result = check_mouth(scene, "Head", "", 1)
    assert result.visible == 25 and result.source.startswith("paint of image 'FaceTexture'")
    r, g, b = (result.image[..., c].astype(int) for c in range(3))
    drawn = np.argwhere((g > 200) & (b < 120) & (g - r > -60))          # (K, 2) rows, columns
    assert len(drawn) and drawn[:, 0].mean() > 64                      # on the lower face
