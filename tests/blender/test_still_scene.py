"""A still shot but for the mouth: one rest render serves every frame of Learn Character."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_extras import anim_utils  # noqa: E402

from learn_scenes import factory_shot  # noqa: E402
from lipsync.addon.blender.mouth_controls import drive, find_controls  # noqa: E402
from lipsync.addon.blender.still_scene import still_but_for  # noqa: E402

pytestmark = pytest.mark.blender


@pytest.fixture
def controls(tmp_path):
    blend, name = factory_shot(tmp_path)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    found = find_controls(bpy.context.scene.objects[name], "auto")
    drive(found, np.zeros((10, 7)), 1)
    return found


def test_a_shot_animated_only_through_the_mouth_controls_is_still(controls):
    assert still_but_for(controls)


def test_a_moving_camera_is_not(controls):
    camera = bpy.context.scene.camera
    camera.keyframe_insert("location", frame=1)
    camera.location.x += 0.1
    camera.keyframe_insert("location", frame=10)
    assert not still_but_for(controls)


def test_another_shape_key_or_a_driver_is_not(controls):
    blink = controls.object.shape_key_add(name="blink", from_mix=False)
    blink.keyframe_insert("value", frame=1)
    assert still_but_for(controls)                   # one key: a flat curve
    blink.keyframe_insert("value", frame=5)
    anim = controls.object.data.shape_keys.animation_data
    curves = anim_utils.action_get_channelbag_for_slot(anim.action, anim.action_slot).fcurves
    curve = curves.find('key_blocks["blink"].value')
    curve.keyframe_points[0].co.y, curve.keyframe_points[1].co.y = 0.0, 1.0   # a blink
    curve.update()
    assert not still_but_for(controls)
    curves.remove(curve)
    assert still_but_for(controls)
    light = next(o for o in bpy.data.objects if o.type == "LIGHT")
    light.data.driver_add("energy").driver.expression = "frame"
    assert not still_but_for(controls)


def test_a_driver_that_follows_the_mouth_keeps_it_still(tmp_path):
    """An anime character's outline: its shape keys follow the mouth's by drivers."""
    blend, name = factory_shot(tmp_path, family="anime")
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    found = find_controls(bpy.context.scene.objects[name], "auto")
    drive(found, np.zeros((10, 7)), 1)
    outline = next(o for o in bpy.data.objects if o.name.startswith("Character_outline"))
    assert len(outline.data.shape_keys.animation_data.drivers)
    assert still_but_for(found)
    key = outline.data.shape_keys.key_blocks["open"]
    key.driver_remove("value")
    key.driver_add("value").driver.expression = "frame / 100"
    assert not still_but_for(found)

