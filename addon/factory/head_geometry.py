"""The geometry of a factory character in builder units, as numpy maths (no bpy).

Builder units: the head is about 2 units tall; `UNIT` metres per unit. The face looks
towards -Y, +Z up; the character's left is +X. Arrays of points are (..., 3) float64 xyz.

The mouth parts (lips, mouth interior, teeth, tongue) are parametric surfaces: every
viseme evaluates the same surface functions of `Face` with its own `Pose`, so the shape
keys keep the parts in a fixed depth order (lips in front of teeth and tongue, those in
front of the dark interior, that in front of the skin) and a closed mouth always hides
everything behind the lips. `pose_positions` moves a whole mesh into one viseme; vertex
roles (`R_*`) say which surface function moves each vertex.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .character_spec import CharacterSpec

UNIT = 0.11
"""Metres per builder unit."""

# Vertex roles: which function moves a vertex in the viseme shape keys.
R_FIXED, R_SKIN, R_LIP_UP, R_LIP_LO, R_INTERIOR, R_TEETH_UP, R_TEETH_LO, R_TONGUE = range(8)
R_GUM_UP, R_GUM_LO = 8, 9   # gums (realistic family, `realistic_geometry`)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step: 0 at `e0`, 1 at `e1` (either order), smooth between; same shape as `x`."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class Pose:
    """How one viseme places the mouth parts (builder units)."""

    width: float = 1.0      # x scale of the lips and the interior
    up: float = 0.0         # upper lip lift in the middle
    down: float = 0.0       # lower lip drop in the middle (negative: up)
    shape: float = 0.6      # exponent of the lift/drop profile across the mouth (small: flat)
    corner: float = 0.0     # lift of the mouth corners
    fwd: float = 0.0        # both lips forward (towards the camera)
    tuck: float = 0.0       # lower lip back under the upper teeth
    thick: float = 1.0      # lip cross-section scale
    jaw: float = 0.0        # chin drop
    teeth_fwd: float = 0.0  # upper teeth forward
    teeth_lo: float = 0.0   # lower teeth drop
    tongue_dz: float = 0.0  # tongue up (+) / down (-)
    tongue_out: float = 0.0  # 0 tongue at rest, 1 tip in front of the teeth


def poses(s: CharacterSpec) -> dict[str, Pose]:
    drop, r_up, r_lo, th = s.jaw_drop, s.lip_upper, s.lip_lower, s.teeth_height
    # f/v: the upper lip's inner edge goes above the middle of the upper teeth, the
    # lower lip's top rises to just above the teeth's lower edge and moves back
    # behind them.
    fv_up = 0.26 * r_up + 0.55 * th + 0.008
    fv_down = 0.23 * r_lo + 0.15 * r_up - 0.3 * th
    return {
        "neutral": Pose(),
        "closed": Pose(up=-0.006, down=-0.006, thick=0.86, fwd=0.006),
        "open": Pose(width=0.9, up=0.02, down=drop, jaw=0.85 * drop, teeth_lo=0.8 * drop,
                      tongue_dz=-0.7 * drop),
        "wide": Pose(width=1.2, up=0.014, down=0.036, shape=0.25, corner=0.018, thick=0.85,
                      jaw=0.025, teeth_lo=0.014, tongue_dz=-0.012),
        "round": Pose(width=0.58, up=0.045, down=0.07, shape=0.5, fwd=0.06, thick=1.18,
                       jaw=0.045, teeth_lo=0.035, tongue_dz=-0.03),
        "lip_teeth": Pose(up=fv_up, down=fv_down, shape=0.35, tuck=0.8 * r_lo, teeth_fwd=0.018,
                           jaw=max(fv_down, 0.0), teeth_lo=0.004),
        "tongue_teeth": Pose(up=0.035, down=0.055, shape=0.45, jaw=0.04, teeth_lo=0.03,
                              tongue_dz=-0.008, tongue_out=1.0),
    }


class Sphere(NamedTuple):
    """A UV sphere of part `part`: unit sphere scaled by `scale`, moved to `centre`."""

    part: str
    centre: tuple[float, float, float]
    scale: tuple[float, float, float]
    segs: tuple[int, int]  # (around, pole to pole)


class Eye(NamedTuple):
    """Eyeball, eyelid shell (its vertices below `lid_edge`, a z, are cut away), iris, pupil."""

    ball: Sphere
    lid: Sphere
    lid_edge: float
    iris: Sphere
    pupil: Sphere


class Face:
    """Shape functions of one spec (numpy-friendly, builder units)."""

    head_segs = (64, 40)    # head sphere segments (around, pole to pole)
    hair_segs = (64, 32)    # hair shell segments
    neck = 0.40             # neck radius / head half width

    def __init__(self, s: CharacterSpec) -> None:
        self.s = s
        self.rx, self.ry, self.rz = s.head_width, s.head_depth, s.head_height
        self.mz = -s.mouth_height * s.head_height
        self.mw = s.mouth_width
        self.r_up, self.r_lo = s.lip_upper, s.lip_lower
        self.poses = poses(s)

    # --- whole parts, one vertex or one sphere at a time ---------------------------
    def head_vertex(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        """A unit-sphere vertex moved onto the head: scaled, tapered, chin pushed forward."""
        x, y, z = x * self.rx, y * self.ry, z * self.rz
        x *= float(self.taper(z))
        if y < 0:
            y -= float(self.chin(x, z)) * min(1.0, -y / (0.5 * self.ry))
        return x, y, z

    def hair_vertex(self, x: float, y: float, z: float) -> tuple[float, float, float] | None:
        """A unit-sphere vertex moved onto the hair shell, or None below the hairline."""
        s = self.s
        brow_top = (s.eye_height + s.eye_size + s.brow_raise + s.brow_arch + abs(s.brow_tilt)
                    + s.brow_thickness)
        vol = s.hair_volume
        line = brow_top + (0.05 if s.hair_style == "bangs" else 0.16)
        zf = (line - 0.03) / (self.rz * vol)  # front hairline, unit-sphere z
        thr = zf + (-0.15 - zf) * (y + 1.0) / 2.0
        if s.hair_style == "bangs":
            thr += 0.035 * math.cos(9.0 * math.atan2(x, -y)) * max(-y, 0.0)
        elif s.hair_style == "long" and (abs(x) > 0.8 or y > 0.1):
            thr = -0.85
        if z < thr:
            return None
        x, y, z = (x * self.rx * vol, y * self.ry * (vol + 0.02),
                   z * self.rz * (vol + 0.05 * max(z, 0.0)) + 0.03)
        if not (s.hair_style == "long" and z < 0):
            x *= float(self.taper(z))
        return x, y, z

    def ears(self) -> list[Sphere]:
        """Left, then right ear."""
        s, out = self.s, []
        for sx in (1, -1):
            ez = 0.5 * s.eye_height - 0.12
            ex = sx * float(self.rx * self.taper(ez)) * 0.96
            out.append(Sphere("skin", (ex, 0.08, ez), (0.06, 0.11 * s.ear_size, 0.19 * s.ear_size),
                              (16, 10)))
        return out

    def nose(self) -> list[Sphere]:
        """Bridge, tip, left and right nostril."""
        s = self.s
        ns, nl = s.nose_size, s.nose_length
        tip_z = max(-0.17 * nl, self.mz + s.lip_upper * 2.2 + 0.09 * ns)
        fy = float(self.face_y(0.0, tip_z))
        out = [Sphere("nose", (0, float(self.face_y(0.0, 0.0)) + 0.03, 0.5 * tip_z),
                      (0.075 * ns, 0.1 * ns, 0.5 * abs(tip_z) + 0.12), (20, 12)),
               Sphere("nose", (0, fy - 0.055 * ns, tip_z), (0.095 * ns, 0.085 * ns, 0.08 * ns),
                      (20, 12))]
        for sx in (1, -1):
            out.append(Sphere("nose", (sx * 0.07 * ns, fy - 0.02 * ns, tip_z - 0.025 * ns),
                              (0.055 * ns, 0.05 * ns, 0.045 * ns), (12, 8)))
        return out

    def eye(self, side: str) -> Eye:
        """The eye on `side` ("left" is +x, "right" is -x)."""
        s = self.s
        sx = 1 if side == "left" else -1
        er = s.eye_size
        ex, ez = sx * s.eye_spacing, s.eye_height
        ey = float(self.face_y(ex, ez)) + 0.55 * er
        ir = s.iris_size * er  # iris and pupil: flat caps just in front of the eyeball
        return Eye(ball=Sphere(f"eye_{side}", (ex, ey, ez), (er, er, er), (20, 12)),
                   lid=Sphere("skin", (ex, ey, ez), (1.07 * er, 1.07 * er, 1.07 * er), (20, 12)),
                   lid_edge=ez + s.lid * er,
                   iris=Sphere(f"iris_{side}", (ex, ey - er - 0.003 + 0.5 * ir, ez), (ir, 0.5 * ir, ir),
                               (16, 8)),
                   pupil=Sphere(f"pupil_{side}", (ex, ey - er - 0.005 + 0.25 * ir, ez),
                                (0.5 * ir, 0.25 * ir, 0.5 * ir), (12, 6)))

    def brow_centre(self, t: float, side: str) -> tuple[float, float, float]:
        """Centre line of the brow on `side`, t in [0, 1] from its inner to its outer end."""
        s = self.s
        sx = 1 if side == "left" else -1
        ex, ez, er = sx * s.eye_spacing, s.eye_height, s.eye_size
        x = ex + sx * (t - 0.5) * s.brow_length
        z = (ez + er + s.brow_raise + s.brow_arch * math.sin(math.pi * t)
             + s.brow_tilt * (0.5 - t))
        return (x, float(self.face_y(x, z)) - 0.6 * s.brow_thickness + 0.01, z)

    def brow_radius(self, t: float) -> float:
        """Brow thickness along t in [0, 1], thinning at both ends."""
        th = self.s.brow_thickness
        return th * (0.5 + 0.5 * math.sin(math.pi * min(max(t, 0.06), 0.94)))

    # --- skin ---------------------------------------------------------------
    def taper(self, z):
        """x scale of the head at height z: narrower jaw below the middle, crown above."""
        t = np.clip(-np.asarray(z) / self.rz, 0.0, 1.0)
        top = np.clip(np.asarray(z) / self.rz, 0.0, 1.0)
        return 1.0 - self.s.jaw_taper * t * t - self.s.crown * top * top

    def chin(self, x, z):
        """Forward (-y) push of the chin at (x, z)."""
        zc = -self.s.chin_drop * self.rz
        return self.s.chin_size * np.exp(-((z - zc) / 0.16) ** 2 - (x / self.s.chin_width) ** 2)

    def face_y(self, x, z):
        """y of the front skin surface at (x, z)."""
        xs = x / (self.rx * self.taper(z))
        v = 1.0 - xs * xs - (z / self.rz) ** 2
        return -self.ry * np.sqrt(np.maximum(v, 0.0)) - self.chin(x, z)

    def behind_y(self, x, z):
        """A depth just in front of the skin between height z and the mouth line."""
        ts = np.linspace(0.0, 1.0, 9)
        zs = np.asarray(z)[..., None] * (1 - ts) + self.mz * ts
        return np.min(self.face_y(np.asarray(x)[..., None], zs), axis=-1) - 0.006

    # --- lips -----------------------------------------------------------------
    def lip_radius(self, u, upper: bool, p: Pose):
        r = self.r_up if upper else self.r_lo
        return r * p.thick * (0.25 + 0.75 * np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0)))

    def lip_centre(self, u, upper: bool, p: Pose):
        """(x, y, z) of a lip's centre line at u in [-1, 1] (corners at +-1)."""
        prof = np.clip(1.0 - u * u, 0.0, 1.0)
        x = self.mw * p.width * u
        r0 = self.lip_radius(u, upper, Pose())
        y = self.face_y(x, self.mz) - 0.8 * r0 - 0.004 + 0.012 * u * u
        y = y - p.fwd * (0.4 + 0.6 * prof)
        lift = prof ** p.shape
        if upper:
            bow = 0.22 * self.r_up * np.cos(3.0 * np.pi * u) * prof
            z = self.mz + 0.74 * self.r_up * prof + bow + p.up * lift
        else:
            z = self.mz - 0.77 * self.r_lo * prof - p.down * lift
            y = y + p.tuck * np.sqrt(prof)
        return x, y, z + p.corner * u * u

    def lip_points(self, u, a, upper: bool, p: Pose):
        """Lip tube points; u along the mouth, a the angle around the cross-section."""
        x, y, z = self.lip_centre(u, upper, p)
        r = self.lip_radius(u, upper, p)
        return np.stack([x, y + 0.8 * r * np.cos(a), z + r * np.sin(a)], axis=-1)

    # --- inside the mouth -------------------------------------------------------
    def interior_points(self, u, v, p: Pose):
        """Dark lining between the lip centre lines; v = 0 lower lip, 1 upper lip."""
        ul = 0.96 * u
        _, _, zu = self.lip_centre(ul, True, p)
        _, _, zl = self.lip_centre(ul, False, p)
        x = self.mw * p.width * ul
        z = zl + (zu - zl) * v
        return np.stack([x, self.behind_y(x, z), z], axis=-1)

    def _teeth_band(self, u, upper: bool):
        """Basis top and bottom z of a teeth strip, kept inside the closed lips' cover."""
        n = Pose()
        if upper:
            _, _, zc = self.lip_centre(u, True, n)
            cover = zc + 0.55 * self.lip_radius(u, True, n) - 0.004
            lo = self.mz - 0.15 * self.r_up - 0.25 * self.s.teeth_height * u * u
            return np.minimum(lo + self.s.teeth_height, cover), lo
        _, _, zc = self.lip_centre(u, False, n)
        cover = zc - 0.55 * self.lip_radius(u, False, n) + 0.004
        hi = self.mz - 0.003 + 0.25 * self.s.teeth_height * u * u
        return hi, np.maximum(hi - 0.9 * self.s.teeth_height, cover)

    def teeth_points(self, u, v, upper: bool, p: Pose):
        x0 = self.mw * self.s.teeth_width * u
        top, bottom = self._teeth_band(u, upper)
        z = bottom + (top - bottom) * v
        y = self.behind_y(x0, self.mz) - 0.014 + 0.01 * u * u + (0.0 if upper else 0.003)
        x = x0 * min(p.width, 1.0)
        if upper:
            y = y - p.teeth_fwd
        else:
            z = z - p.teeth_lo
        return np.stack([x, y, z], axis=-1)

    def tongue_points(self, t, f, p: Pose):
        """Tongue ellipsoid; t in (0, pi) along x, f around the x axis."""
        rest_front = self.behind_y(0.0, self.mz) - 0.006
        out_front = rest_front - 0.014 - 0.012 - self.r_lo * 0.3
        front = rest_front + (out_front - rest_front) * p.tongue_out
        rx = 0.52 * self.mw * self.s.teeth_width / 0.7 * min(p.width, 1.0) * (1.0 - 0.3 * p.tongue_out)
        ry, rz = 0.08, 0.022
        cz = self.mz - 0.012 + 0.012 * p.tongue_out + p.tongue_dz
        x = rx * np.cos(t)
        y = front + ry + ry * np.sin(t) * np.cos(f)
        z = cz + rz * np.sin(t) * np.sin(f)
        return np.stack([x, y, z], axis=-1)

    # --- skin offsets -----------------------------------------------------------
    def skin_offsets(self, co: np.ndarray, p: Pose) -> np.ndarray:
        """Displacement of head-skin vertices (N, 3): the chin follows the jaw, a ring
        around the lips follows them forward. Zero far from the mouth."""
        x, y, z = co[:, 0], co[:, 1], co[:, 2]
        off = np.zeros_like(co)
        front = smoothstep(-0.25 * self.ry, -0.6 * self.ry, y)
        wz = smoothstep(self.mz - 0.01, self.mz - 0.16, z)
        wx = 1.0 - smoothstep(1.0 * self.mw, 2.4 * self.mw, np.abs(x))
        w = wz * wx * front
        off[:, 2] -= p.jaw * w
        off[:, 1] += 0.1 * p.jaw * w
        re = np.sqrt((x / (1.5 * self.mw)) ** 2 + ((z - self.mz) / 0.22) ** 2)
        ring = smoothstep(0.55, 0.8, re) * (1.0 - smoothstep(0.9, 1.6, re)) * front
        off[:, 1] -= 0.5 * p.fwd * ring
        return off

    def extra_surfaces(self, p: Pose) -> dict:
        """Role -> fn(pu, pv) of mouth surfaces a family adds (`mouth_grids`); none here."""
        return {}

    def extra_grids(self, p: Pose) -> list:
        """`Grid`s of the surfaces of `extra_surfaces`; none here."""
        return []


# Grid sizes of the lip tubes: along the mouth, around the cross-section.
LIP_N, LIP_M = 33, 12


def lip_grid(face: Face, upper: bool, p: Pose):
    """(LIP_N, LIP_M, 3) points of a lip tube and its (u, angle) parameters."""
    u = np.linspace(-1.0, 1.0, LIP_N)[:, None] * np.ones((1, LIP_M))
    a = 2.0 * np.pi * np.arange(LIP_M)[None, :] / LIP_M * np.ones((LIP_N, 1))
    return face.lip_points(u, a, upper, p), u, a


def interior_grid(face: Face, p: Pose):
    """(25, 9, 3) points of the mouth interior and its (u, v) parameters."""
    u, v = np.meshgrid(np.linspace(-1, 1, 25), np.linspace(0, 1, 9), indexing="ij")
    return face.interior_points(u, v, p), u, v


def teeth_grid(face: Face, upper: bool, p: Pose):
    """(17, 3, 3) points of the upper or lower teeth and their (u, v) parameters."""
    u, v = np.meshgrid(np.linspace(-1, 1, 17), np.linspace(0, 1, 3), indexing="ij")
    return face.teeth_points(u, v, upper, p), u, v


def tongue_grid(face: Face, p: Pose):
    """(13, 12, 3) points of the tongue and its (t, f) parameters."""
    t, f = np.meshgrid(np.linspace(0.06 * np.pi, 0.94 * np.pi, 13),
                       2 * np.pi * np.arange(12) / 12, indexing="ij")
    return face.tongue_points(t, f, p), t, f


def pose_positions(face: Face, co: np.ndarray, role: np.ndarray, pu: np.ndarray, pv: np.ndarray,
                    pose: Pose) -> np.ndarray:
    """Vertex positions (N, 3, builder units) of the whole mesh in `pose`."""
    out = co.copy()
    skin = role == R_SKIN
    out[skin] += face.skin_offsets(co[skin], pose)
    for r, fn in ((R_LIP_UP, lambda u, v: face.lip_points(u, v, True, pose)),
                  (R_LIP_LO, lambda u, v: face.lip_points(u, v, False, pose)),
                  (R_INTERIOR, lambda u, v: face.interior_points(u, v, pose)),
                  (R_TEETH_UP, lambda u, v: face.teeth_points(u, v, True, pose)),
                  (R_TEETH_LO, lambda u, v: face.teeth_points(u, v, False, pose)),
                  (R_TONGUE, lambda u, v: face.tongue_points(u, v, pose)),
                  *face.extra_surfaces(pose).items()):
        sel = role == r
        out[sel] = fn(pu[sel], pv[sel])
    return out


class Grid(NamedTuple):
    """One mouth surface for `MeshBuilder.grid`: points (NU, NV, 3), parameters (NU, NV)."""

    part: str
    role: int
    points: np.ndarray
    pu: np.ndarray
    pv: np.ndarray
    wrap: bool = False
    caps: bool = False
    flip: bool = False


def mouth_grids(face: Face, pose: Pose) -> list[Grid]:
    """The mouth surfaces in `pose`, in mesh order: lips, interior, teeth, tongue."""
    out = []
    for upper, part, role in ((True, "lip_upper", R_LIP_UP), (False, "lip_lower", R_LIP_LO)):
        out.append(Grid(part, role, *lip_grid(face, upper, pose), wrap=True, caps=True, flip=True))
    out.append(Grid("mouth_interior", R_INTERIOR, *interior_grid(face, pose)))
    for upper, role in ((True, R_TEETH_UP), (False, R_TEETH_LO)):
        out.append(Grid("teeth", role, *teeth_grid(face, upper, pose), flip=True))
    out.append(Grid("tongue", R_TONGUE, *tongue_grid(face, pose), wrap=True, caps=True))
    return out + face.extra_grids(pose)
