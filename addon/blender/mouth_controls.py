"""A character's own mouth controls in Blender: its shape keys mapped to the seven visemes
through the naming table (`core.mesh.viseme_map`), and/or a jaw bone; keyed from a viseme
track (F, 7), one row per scene frame.

Used by Learn Character on the user's own rig and by the factory's imported characters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...core.mesh.viseme_map import VisemeMap, choose_map
from .animate import jaw_turn_sign, keyframe_jaw, keyframe_shape_keys
from .mouth_vertices import JAW_OPENING_DEG, jaw_bones


@dataclass
class MouthControls:
    """The talking mesh `object`, its `viseme_map`, and its jaw (armature object, bone
    name, turn sign: +1 or -1, the turn about the bone's X axis that opens) or None."""

    object: object
    viseme_map: VisemeMap
    jaw: tuple | None

    def describe(self) -> str:
        """e.g. "shape keys by the oculus names (6 keys)" or "the jaw bone 'Jaw'"."""
        parts = []
        if self.viseme_map.keys:
            parts.append(f"shape keys by the {self.viseme_map.scheme} names "
                         f"({len(self.viseme_map.keys)} keys)")
        if self.jaw is not None:
            parts.append(f"the jaw bone '{self.jaw[1]}'")
        return " and ".join(parts)


def shape_key_names(obj) -> list[str]:
    """The names of `obj`'s shape keys, the basis left out."""
    keys = obj.data.shape_keys
    return [] if keys is None else [b.name for b in keys.key_blocks if b != keys.reference_key]


def jaw_of(obj) -> tuple | None:
    """(armature object, bone name) of a jaw bone that moves some of `obj`'s vertices."""
    for arm, bone in jaw_bones(obj):
        group = obj.vertex_groups[bone.name]
        if any(g.group == group.index and g.weight > 0 for v in obj.data.vertices
               for g in v.groups):
            return arm, bone.name
    return None


def map_controls(obj, visemes: str = "auto", vrm=None) -> VisemeMap:
    """The `VisemeMap` of mesh `obj` for `visemes` (a `viseme_map.CHOICES` entry or a JSON
    table path; `vrm`: a VRM file's expressions); InputError when nothing fits."""
    return choose_map(visemes, shape_key_names(obj), jaw_of(obj) is not None, vrm,
                      f"'{obj.name}'")


def find_controls(obj, visemes: str = "auto", vrm=None) -> MouthControls:
    """`obj`'s mouth controls (see `map_controls`), with its jaw's turn sign."""
    viseme_map = map_controls(obj, visemes, vrm)
    jaw = None
    if viseme_map.jaw is not None:
        arm, bone = jaw_of(obj)
        jaw = (arm, bone, jaw_turn_sign(obj, arm, bone))
    return MouthControls(obj, viseme_map, jaw)


def drive(controls: MouthControls, visemes: np.ndarray, frame_start: int = 1) -> None:
    """Keyframe the mouth from viseme weights (F, 7), one row per scene frame from
    `frame_start`: its mapped shape keys and/or its jaw (the full opening turns it
    `JAW_OPENING_DEG`). Keys the controls had before are replaced."""
    vmap = controls.viseme_map
    if vmap.keys:
        keyframe_shape_keys(controls.object, list(vmap.keys), vmap.key_values(visemes),
                            frame_start)
    if controls.jaw is not None:
        arm, bone, sign = controls.jaw
        turns = sign * math.radians(JAW_OPENING_DEG) * vmap.jaw_values(visemes)
        keyframe_jaw(arm, bone, turns, frame_start)
