"""Family-specific geometry of factory characters, as numpy maths (no bpy).

`face_for(spec)` gives the shape functions of a spec's family: `head_geometry.Face` for the
"cartoon" and "creature" families (a creature differs in its spec's numbers, plus `horns`),
`AnimeFace` for "anime", `realistic_geometry.RealisticFace` for "realistic". Builder units, axes and array shapes as in `head_geometry`.

An anime mouth is drawn, not modelled: thin lips of the skin's colour lie around a dark
line (the mouth interior seen through a small gap, `MOUTH_GAP`), shaped by the spec's
`mouth_style`. The teeth and the tongue lie on the interior, inside the opening between the
lips' centre lines: at rest they have no height and hide behind the lips; as a viseme opens
the mouth, a row of upper teeth grows down from the upper lip and the tongue up from the
lower lip. Lower teeth stay hidden behind the interior. So every viseme keeps the parts in
the same depth order and the part labels stay exact.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .character_spec import CharacterSpec
from .head_geometry import Face, Pose, Sphere
from .realistic_geometry import RealisticFace

# Rest gap between an anime mouth's lip centre lines per mouth style, builder units.
MOUTH_GAP = {"line": 0.03, "smile": 0.028, "small": 0.05, "cat": 0.028, "wide": 0.026,
             "frown": 0.03, "tilt": 0.03, "open": 0.075}
_SMILE = {"smile": 0.035, "frown": -0.03}   # rest lift of the mouth corners, builder units
_CAT = {"cat": 0.03}           # height of the ω's middle bump, builder units
_TILT = {"tilt": 0.025}        # lift of the +x corner (the other drops), builder units
_NARROW = {"small": 0.7, "wide": 1.35}   # mouth width factor
_LIP_FORWARD = 0.006           # anime lips sit this much further out, builder units
_TEETH_SHARE = 0.35            # most of the opening the upper teeth take
_TONGUE_SHARE = 0.4            # most of the opening the tongue takes (more when it is out)


def face_for(spec: CharacterSpec) -> Face:
    """The shape functions of `spec`'s family."""
    if spec.family == "realistic":
        return RealisticFace(spec)
    return AnimeFace(spec) if spec.family == "anime" else Face(spec)


def horns(face: Face) -> list[Sphere]:
    """A creature's two horns (left, right) on top of the head, or none."""
    s = face.s
    if s.horn_size <= 0.0:
        return []
    out = []
    for sx in (1, -1):
        z = 0.72 * face.rz
        x = sx * 0.42 * face.rx * float(face.taper(z))
        out.append(Sphere("horn", (x, 0.05, z + 0.45 * s.horn_size),
                          (0.08 + 0.1 * s.horn_size, 0.08 + 0.1 * s.horn_size, s.horn_size),
                          (14, 10)))
    return out


class AnimeFace(Face):
    """Shape functions of an anime spec: a drawn mouth (see the module docstring)."""

    def __init__(self, s: CharacterSpec) -> None:
        super().__init__(s)
        style = s.mouth_style
        self.gap = MOUTH_GAP[style]
        self.smile = _SMILE.get(style, 0.0)
        self.cat = _CAT.get(style, 0.0)
        self.tilt = _TILT.get(style, 0.0)
        self.mw = s.mouth_width * _NARROW.get(style, 1.0)
        drop = s.jaw_drop   # the upper lip rises more, so the upper teeth show
        self.poses = {**self.poses, "open": replace(self.poses["open"], up=0.3 * drop + 0.01)}

    def lip_centre(self, u, upper: bool, p: Pose):
        x, y, z = super().lip_centre(u, upper, p)
        half = 0.5 * self.gap * np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0))
        shape = (self.smile * u * u + self.cat * 0.5 * (1.0 + np.cos(2.0 * np.pi * u))
                 + self.tilt * u)
        return x, y - _LIP_FORWARD, z + (half if upper else -half) + shape

    def _opening(self, u, p: Pose):
        """Lip centre lines zu, zl at u and how much wider than at rest they are (>= 0)."""
        _, _, zu = self.lip_centre(u, True, p)
        _, _, zl = self.lip_centre(u, False, p)
        _, _, zu0 = self.lip_centre(u, True, Pose())
        _, _, zl0 = self.lip_centre(u, False, Pose())
        return zu, zl, np.maximum((zu - zl) - (zu0 - zl0), 0.0)

    def _on_interior(self, x, z, lift):
        """Points just in front of the interior at (x, z), `lift` (>= 0) further out."""
        return np.stack([x, self.behind_y(x, z) - 0.002 - lift, z], axis=-1)

    def teeth_points(self, u, v, upper: bool, p: Pose):
        """Upper teeth: a band down from the upper lip's centre line; lower teeth: none
        (a band of no height on the lower lip's centre line)."""
        ul = self.s.teeth_width * u
        zu, zl, extra = self._opening(ul, p)
        x = self.mw * p.width * ul
        if upper:
            height = 0.8 * self.lip_radius(ul, True, Pose()) + np.minimum(
                self.s.teeth_height, _TEETH_SHARE * extra)
            return self._on_interior(x, zu - height * (1.0 - v), 0.0)
        return self._on_interior(x, zl + 0.0 * v, 0.0)

    def tongue_points(self, t, f, p: Pose):
        """The tongue: a rounded patch up from the lower lip's centre line."""
        ul = 0.6 * np.cos(t)
        zu, zl, extra = self._opening(ul, p)
        share = min(_TONGUE_SHARE + 0.25 * p.tongue_out, 0.6)
        height = 0.8 * self.lip_radius(ul, False, Pose()) + share * extra
        v = 0.5 * (1.0 + np.sin(t) * np.cos(f))
        lift = 0.002 + 0.003 * np.sin(t) * np.abs(np.sin(f))
        return self._on_interior(self.mw * p.width * ul, zl + height * v, lift)
