"""Whether a scene looks the same on every frame but for a character's mouth controls.

Learn Character renders the mouth at rest on every frame of its speech; when nothing but
the mouth controls it drives changes from frame to frame, one rest render serves them all.
A scene counts as still when no data-block has NLA tracks, a driver that reads anything but
the controls (an outline's shape keys may follow them), or an action with a changing
F-curve other than the controls' own (the mapped shape keys' values, the jaw bone's
rotation),
no image is a movie or a sequence, and no object has particles or a modifier that may
change with time (simulations, geometry nodes, waves). What this cannot see (a shader or
geometry node reading the scene's time directly) makes a rest render stand for frames it
does not show; such a scene is rare and only the learning data is affected.
"""

from __future__ import annotations

import bpy

TIME_MODIFIERS = {"PARTICLE_SYSTEM", "CLOTH", "SOFT_BODY", "FLUID", "DYNAMIC_PAINT", "NODES",
                  "OCEAN", "WAVE", "EXPLODE", "COLLISION"}
ANIMATABLE = ("objects", "meshes", "shape_keys", "materials", "node_groups", "worlds",
              "lights", "cameras", "armatures", "scenes", "textures", "curves")


def _controls_paths(controls) -> dict[int, set[str]]:
    """Data-block pointer -> the F-curve paths that drive the mouth (`MouthControls`)."""
    owned: dict[int, set[str]] = {}
    keys = controls.object.data.shape_keys
    if controls.viseme_map.keys and keys is not None:
        owned[keys.as_pointer()] = {f'key_blocks["{name}"].value'
                                    for name in controls.viseme_map.keys}
    if controls.jaw is not None:
        arm, bone, _ = controls.jaw
        owned.setdefault(arm.as_pointer(), set()).add(
            f'pose.bones["{bone}"].rotation_quaternion')
    return owned


def _changes(curve) -> bool:
    """Whether an F-curve's value changes over time (a flat one, keys and handles all at
    one value and no modifiers, does not)."""
    if len(curve.modifiers):
        return True
    values = [v for key in curve.keyframe_points
              for v in (key.co[1], key.handle_left[1], key.handle_right[1])]
    return bool(values) and max(values) - min(values) > 1e-9


def _follows(curve, owned: dict[int, set[str]]) -> bool:
    """Whether a driver F-curve reads only the mouth controls (as an outline that follows
    the mouth's shape keys does): no time in its expression, and every variable's targets
    among the controls' own paths."""
    driver = curve.driver
    if "frame" in driver.expression or not len(driver.variables):
        return False
    for variable in driver.variables:
        if variable.type != "SINGLE_PROP":
            return False
        target = variable.targets[0]
        if target.id is None or target.data_path not in owned.get(target.id.as_pointer(), ()):
            return False
    return True


def still_but_for(controls) -> bool:
    """True when nothing of the open file but `controls` (`MouthControls`) animates."""
    from bpy_extras import anim_utils

    owned = _controls_paths(controls)
    for name in ANIMATABLE:
        for block in getattr(bpy.data, name):
            anim = getattr(block, "animation_data", None)
            if anim is None:
                continue
            if len(anim.nla_tracks) or not all(_follows(d, owned) for d in anim.drivers):
                return False
            if anim.action is None:
                continue
            allowed = owned.get(block.as_pointer())
            bag = anim_utils.action_get_channelbag_for_slot(anim.action, anim.action_slot)
            paths = ({curve.data_path for curve in bag.fcurves if _changes(curve)}
                     if bag is not None else set())
            if paths and (allowed is None or not paths <= allowed):
                return False
    if any(image.source in {"MOVIE", "SEQUENCE"} and image.users for image in bpy.data.images):
        return False
    return not any(obj.particle_systems or any(m.type in TIME_MODIFIERS for m in obj.modifiers)
                   for obj in bpy.data.objects if obj.type == "MESH")
