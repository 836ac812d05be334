"""Geometry of "realistic" characters, as numpy maths (no bpy).

`RealisticFace` is `head_geometry.Face` with:
- relief on the front of the head (`relief`): brow ridge, eye sockets, cheekbones, the
  nasolabial folds (deeper with age) and the groove under the lower lip. `face_y` includes
  it, so the eyes, brows, nose and every mouth layer are placed on the skin as it is;
  relief near the mouth only ever pushes the skin back, so the mouth layers stay in front.
- gums: a band above the upper teeth up to the upper lip's centre line and one below the
  lower teeth down to the lower lip's, so they show only where a viseme lifts a lip past
  the teeth (at rest they lie behind the lips). They sit just in front of the interior.
- eyelashes along the upper lid's edge, and glasses (`spec.glasses` > 0): two lens rims,
  a bridge and two temples, in front of the face.
- a hairline where the hair shell dips under the skin (`hair_vertex`);
- a finer head sphere (`head_segs`) for the skin's colour detail and folds; a thicker neck.
Builder units, axes and array shapes as in `head_geometry`.
"""

from __future__ import annotations

import math

import numpy as np

from .head_geometry import R_GUM_LO, R_GUM_UP, Face, Grid, Pose, smoothstep

GUM_GAP = 0.004          # gums in front of the interior, builder units
LASH_RADIUS = 0.0045     # eyelash ribbon half height, builder units
RIM_RADIUS = 0.011       # glasses wire radius, builder units


def _bump(x, z, cx, cz, sx, sz):
    return np.exp(-((x - cx) / sx) ** 2 - ((z - cz) / sz) ** 2)


def _segment_distance(x, z, a, b):
    """Distance of points (x, z) to the segment a-b (2-tuples), same shape as x."""
    ax, az = a
    dx, dz = b[0] - ax, b[1] - az
    t = np.clip(((x - ax) * dx + (z - az) * dz) / (dx * dx + dz * dz), 0.0, 1.0)
    return np.hypot(x - ax - t * dx, z - az - t * dz)


class RealisticFace(Face):
    """Shape functions of a realistic spec (see the module docstring)."""

    head_segs = (80, 50)
    neck = 0.58

    def __init__(self, s) -> None:
        super().__init__(s)
        ns, nl = s.nose_size, s.nose_length
        self.tip_z = max(-0.17 * nl, self.mz + s.lip_upper * 2.2 + 0.09 * ns)
        # Nasolabial fold (right half, x >= 0): from beside the nostril to beside the corner.
        self.fold = ((0.12 * ns, self.tip_z - 0.01), (s.mouth_width + 0.05, self.mz - 0.1))

    def relief(self, x, z):
        """y offset of the front skin at (x, z): negative forward, positive back."""
        s, ax = self.s, np.abs(x)
        eh, er, sp = s.eye_height, s.eye_size, s.eye_spacing
        out = -0.028 * _bump(ax, z, sp, eh + er + 0.07, 0.16, 0.05)          # brow ridge
        out = out + 0.03 * _bump(ax, z, sp, eh + 0.01, 0.1, 0.075)             # eye sockets
        out = out - 0.022 * _bump(ax, z, 0.5 * self.rx, eh - 0.24, 0.13, 0.09)  # cheekbones
        d = _segment_distance(ax, z, *self.fold)
        depth = 0.006 + 0.02 * s.age
        out = out + depth * np.exp(-(d / 0.025) ** 2)                          # the fold
        d_out = _segment_distance(ax - 0.045, z, *self.fold)
        out = out - 0.7 * depth * np.exp(-(d_out / 0.035) ** 2) * (ax > self.fold[0][0])
        chin_groove = self.mz - 2.2 * s.lip_lower - 0.05
        return out + 0.012 * _bump(ax, z, 0.0, chin_groove, 0.14, 0.025)       # under the lip

    def face_y(self, x, z):
        return super().face_y(x, z) + self.relief(x, z)

    def hair_vertex(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        """The hair shell vertex, or below the hairline one tucked just under the skin, so
        the hairline is where the shell meets the skin (smooth, not the shell's steps)."""
        on_shell = super().hair_vertex(x, y, z)
        if on_shell is not None:
            return on_shell
        hx, hy, hz = self.head_vertex(x, y, z)
        return 0.97 * hx, 0.97 * hy, 0.97 * hz

    def head_vertex(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        hx, hy, hz = super().head_vertex(x, y, z)
        if y < 0:
            hy += float(self.relief(hx, hz)) * min(1.0, -y / 0.5)
        return hx, hy, hz

    # --- gums ------------------------------------------------------------------
    def gum_points(self, u, v, upper: bool, p: Pose):
        """Gum band at teeth parameter u in [-1, 1], v in [0, 1] away from the teeth."""
        x0 = self.mw * self.s.teeth_width * u
        top, bottom = self._teeth_band(u, upper)
        ul = np.clip(self.s.teeth_width * u / p.width, -1.0, 1.0)
        _, _, lip = self.lip_centre(ul, upper, p)
        if upper:
            edge, far = top, np.maximum(top, lip)
        else:
            edge = bottom - p.teeth_lo
            far = np.minimum(edge, lip)
        z = edge + (far - edge) * v
        x = x0 * min(p.width, 1.0)
        return np.stack([x, self.behind_y(x, z) - GUM_GAP, z], axis=-1)

    def extra_surfaces(self, p: Pose) -> dict:
        return {R_GUM_UP: lambda u, v: self.gum_points(u, v, True, p),
                R_GUM_LO: lambda u, v: self.gum_points(u, v, False, p)}

    def extra_grids(self, p: Pose) -> list:
        u, v = np.meshgrid(np.linspace(-1, 1, 17), np.linspace(0, 1, 3), indexing="ij")
        return [Grid("gums", role, self.gum_points(u, v, upper, p), u, v, flip=upper)
                for upper, role in ((True, R_GUM_UP), (False, R_GUM_LO))]

    # --- eyelashes and glasses ---------------------------------------------------
    def lash_centre(self, t: float, side: str) -> tuple[float, float, float]:
        """Eyelash centre line on `side`, t in [0, 1] across the upper lid's front edge."""
        eye = self.eye(side)
        (cx, cy, cz), r = eye.ball.centre, eye.lid.scale[0]
        dz = eye.lid_edge - cz
        ring = math.sqrt(max(r * r - dz * dz, 1e-6))
        a = math.pi * (0.22 + 0.56 * t)
        lift = 0.006 * math.sin(math.pi * t)
        return (cx - ring * math.cos(a), cy - ring * math.sin(a) - 0.006, eye.lid_edge + lift)

    def lash_radius(self, t: float) -> float:
        return LASH_RADIUS * (0.35 + 0.65 * math.sin(math.pi * t))

    def glasses_paths(self) -> list[list[tuple[float, float, float]]]:
        """Centre lines of the glasses' wires: left rim, right rim, bridge, left and right
        temple (each a list of points), or none without glasses."""
        s = self.s
        if s.glasses <= 0.0:
            return []
        w, h = s.glasses, 0.78 * s.glasses
        ez = s.eye_height + 0.01
        y = float(np.min(self.face_y(np.linspace(-0.5, 0.5, 21), ez + 0.08))) - 0.045
        paths = []
        for sx in (1, -1):
            cx = sx * s.eye_spacing
            ring = [(cx + w * math.cos(a), y, ez + h * math.sin(a))
                    for a in np.linspace(0.0, 2.0 * math.pi, 29)]
            paths.append(ring)
        inner = s.eye_spacing - w
        paths.append([(inner * math.cos(a), y, ez + 0.25 * h + 0.03 * math.sin(a))
                      for a in np.linspace(0.0, math.pi, 9)])
        for sx in (1, -1):
            x0 = sx * (s.eye_spacing + w)
            side = sx * (float(self.rx * self.taper(ez)) + 0.03)
            paths.append([(x0 + (side - x0) * smoothstep(0, 1, t), y + t * (0.1 - y), ez + 0.6 * h
                           - 0.04 * t) for t in np.linspace(0.0, 1.0, 9)])
        return paths
