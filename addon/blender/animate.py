"""Keyframe a character's mouth controls from per-frame values: shape keys, or a jaw bone
turned about its own X axis.

Values are float arrays, one row per scene frame from `frame_start`; keys are LINEAR, and
keyframes a control had before are replaced, so calling again re-times it.
"""

from __future__ import annotations

import math

import numpy as np


def _linear_curve(fcurve, frames: np.ndarray, values: np.ndarray) -> None:
    fcurve.keyframe_points.clear()
    fcurve.keyframe_points.add(len(frames))
    fcurve.keyframe_points.foreach_set("co", np.stack([frames, values], 1).ravel())
    fcurve.keyframe_points.foreach_set("interpolation", [1] * len(frames))  # LINEAR
    fcurve.update()


def keyframe_shape_keys(obj, names, values: np.ndarray, frame_start: int) -> None:
    """Keyframe shape keys `names` (K,) of mesh object `obj` with `values` (F, K), scene
    frames frame_start .. frame_start + F - 1."""
    from bpy_extras import anim_utils

    values = np.asarray(values, np.float64)
    if not names:
        return
    blocks = obj.data.shape_keys.key_blocks
    for name in names:        # one keyframe each: creates the action, its slot and F-curves
        blocks[name].keyframe_insert("value", frame=int(frame_start))
    anim = obj.data.shape_keys.animation_data
    bag = anim_utils.action_get_channelbag_for_slot(anim.action, anim.action_slot)
    frames = np.arange(len(values), dtype=np.float64) + int(frame_start)
    for column, name in enumerate(names):
        path = f'key_blocks["{name}"].value'
        _linear_curve(bag.fcurves.find(path), frames, values[:, column])


def jaw_turn_sign(obj, arm, bone_name: str) -> float:
    """+1 or -1: the turn about the bone's own X axis that moves the vertices it carries
    down (world -Z), i.e. opens the mouth."""
    from mathutils import Matrix, Vector

    bone = arm.data.bones[bone_name]
    group = obj.vertex_groups[bone_name]
    moved = []
    for v in obj.data.vertices:
        weight = next((g.weight for g in v.groups if g.group == group.index), 0.0)
        if weight > 0:
            moved.append((np.array(obj.matrix_world @ v.co), weight))
    pivot = arm.matrix_world @ bone.matrix_local
    turn = pivot @ Matrix.Rotation(math.radians(10.0), 4, "X") @ pivot.inverted()
    drop = sum(w * ((turn @ Vector(p)).z - p[2]) for p, w in moved)
    return 1.0 if drop < 0 else -1.0


def keyframe_jaw(arm, bone_name: str, turns_rad: np.ndarray, frame_start: int) -> None:
    """Keyframe pose bone `bone_name` of armature object `arm`: its rest rotation turned by
    `turns_rad` (F,) radians about the bone's X axis, one per frame from `frame_start`."""
    from bpy_extras import anim_utils
    from mathutils import Quaternion

    pose = arm.pose.bones[bone_name]
    pose.rotation_mode = "QUATERNION"
    base = pose.rotation_quaternion.copy()
    pose.keyframe_insert("rotation_quaternion", frame=int(frame_start))
    anim = arm.animation_data
    bag = anim_utils.action_get_channelbag_for_slot(anim.action, anim.action_slot)
    turns = np.asarray(turns_rad, np.float64)
    quats = np.array([tuple(base @ Quaternion((1.0, 0.0, 0.0), float(t))) for t in turns])
    frames = np.arange(len(turns), dtype=np.float64) + int(frame_start)
    for axis in range(4):
        path = f'pose.bones["{bone_name}"].rotation_quaternion'
        _linear_curve(bag.fcurves.find(path, index=axis), frames, quats[:, axis])
