"""Checking a character's mouth before a long run: the headless `check` command and the
panel's Check Mouth operator draw the 25 keypoints over a rendered frame."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon import headless  # noqa: E402
from lipsync.addon.blender.images import array_of  # noqa: E402
from lipsync.addon.jobs.mouth_check import check_mouth  # noqa: E402
from lipsync.core.preprocess.frames import read_frame  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def _green(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: the lip contours and points `draw_keypoints` draws (green, yellow)."""
    r, g, b = (image[..., c].astype(int) for c in range(3))
    return (g > 200) & (b < 120) & (g - r > -60)


def test_check_draws_the_keypoints_over_the_render_where_the_mouth_is(shot):
    result = check_mouth(shot.scene, "Head", "mouth", 3)
    plain = check_mouth(shot.scene, "Head", "", 3)       # found by name: the same points
    assert result.visible == 25 and result.source == "vertex group 'mouth'"
    assert np.array_equal(result.image, plain.image)
    assert shot.scene.frame_current == 1, "the current frame is put back"
    ys, xs = np.nonzero(_green(result.image))
    assert len(xs) > 20, "the outer lip contour is drawn"
    h, w = result.image.shape[:2]
    assert (h, w) == (96, 96)
    assert w * 0.3 < xs.mean() < w * 0.7 and h * 0.4 < ys.mean() < h * 0.9, "on the mouth"


def test_headless_check_writes_a_new_png_and_never_overwrites(shot, tmp_path, capsys):
    out = tmp_path / "check.png"
    assert headless.blender_command(["check", "--character", "Head", "--frame", "2",
                                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mouth of 'Head' from vertex group 'mouth': 25 of 25 keypoints visible at " \
           "frame 2" in printed and str(out) in printed
    assert _green(read_frame(out)).sum() > 20
    before = out.read_bytes()
    assert headless.blender_command(["check", "--out", str(out)]) == 2
    assert "nothing is overwritten" in capsys.readouterr().err and out.read_bytes() == before


def test_check_of_a_mesh_without_a_mouth_says_what_to_do(shot, tmp_path, capsys):
    bpy.ops.mesh.primitive_cube_add()
    bpy.context.object.name = "Box"
    assert headless.blender_command(["check", "--character", "Box",
                                     "--out", str(tmp_path / "box.png")]) == 2
    assert "vertex group" in capsys.readouterr().err
    assert not (tmp_path / "box.png").exists()


def test_the_panel_operator_shows_the_check_as_an_image(shot):
    user = bpy.data.images.new("Lip Sync Mouth Check", 4, 4)     # a user's image of that name
    user_pixels = np.array(user.pixels[:])
    assert bpy.ops.lipsync.check_mouth() == {"FINISHED"}
    ours = [i for i in bpy.data.images if i.get("lipsync_image")]
    assert len(ours) == 1 and ours[0] is not user
    assert np.array_equal(np.array(user.pixels[:]), user_pixels), "the user's image untouched"
    shown = array_of(ours[0])
    assert shown.shape == (96, 96, 3) and _green(shown).sum() > 20
    assert bpy.ops.lipsync.check_mouth() == {"FINISHED"}
    assert len([i for i in bpy.data.images if i.get("lipsync_image")]) == 1, "reused"
