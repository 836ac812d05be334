"""Procedural cartoon characters for the synthetic training-data factory.

`CharacterSpec.random(seed)` draws a character (head shape, mouth, eyes, brows,
nose, hair, colours, material style); `build_character(scene, spec)` turns it
into ONE mesh object "Character" whose material slots carry the part classes
of `face_parts.PART_CLASSES` as `pass_index`, a vertex group "mouth" (both
lips) and one shape key per viseme of `VISEMES` (neutral is the basis).

Geometry is made in builder units (the head is about 2 units tall) and scaled
by `UNIT` metres per unit, so a head is 0.21-0.25 m tall. The face looks
towards the object's -Y axis, +Z up; the character's left is +X. Cameras and
lights are not part of a character: `face_anchor` tells where to put them.

The mouth parts (lips, mouth interior, teeth, tongue) are parametric surfaces:
every viseme evaluates the same surface functions with its own `_Pose`, so the
shape keys keep the parts in a fixed depth order (lips in front of teeth and
tongue, those in front of the dark interior, that in front of the skin) and a
closed mouth always hides everything behind the lips.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import bmesh
import bpy
import numpy as np

from ...core.errors import InputError
from .face_parts import (MOUTH_GROUP, PART_CLASSES, MeshBuilder, add_shape_key, add_vertex_group,
                          make_material, matrix_from, mesh_from_builder, smoothstep)

VISEMES: tuple[str, ...] = ("neutral", "closed", "open", "wide", "round", "lip_teeth", "tongue_teeth")
"""Columns of viseme weight arrays. "neutral" is the basis (no shape key)."""

UNIT = 0.11
"""Metres per builder unit."""

# Vertex roles: which function moves a vertex in the viseme shape keys.
_R_FIXED, _R_SKIN, _R_LIP_UP, _R_LIP_LO, _R_INTERIOR, _R_TEETH_UP, _R_TEETH_LO, _R_TONGUE = range(8)

# The Monk Skin Tone scale (Ellis Monk, 2019; sRGB hex as published by Google).
_MONK_SRGB = ("f6ede4", "f3e7db", "f7ead0", "eadaba", "d7bd96",
              "a07e56", "825c43", "604134", "3a312a", "292420")
_STYLISED_SRGB = {"green": "7cbf6a", "blue": "6f9be0", "grey": "a2a3a8"}
_HAIR_SRGB = {"black": "1b1918", "dark_brown": "3b2618", "brown": "6b4426", "blonde": "d9b46c",
              "red": "a04a1f", "grey": "b5b1aa", "white": "e6e3dc"}
_IRIS_SRGB = ("4a2c17", "2b1a10", "4f7fb0", "5b7f45", "7a6a3a", "707a80")
HAIR_STYLES = ("none", "short", "bangs", "long")


def _srgb_hex_to_linear(code: str) -> np.ndarray:
    c = np.array([int(code[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _jitter(rgb: np.ndarray, rng: np.random.Generator, hue: float, sat: float, val: float) -> np.ndarray:
    """Jitter a linear colour in HSV (hue in turns, sat/val as relative factors)."""
    h, s, v = colorsys.rgb_to_hsv(*np.clip(rgb, 0.0, 1.0))
    h = (h + rng.uniform(-hue, hue)) % 1.0
    s = min(max(s * (1.0 + rng.uniform(-sat, sat)), 0.0), 1.0)
    v = min(max(v * (1.0 + rng.uniform(-val, val)), 0.0), 1.0)
    return np.array(colorsys.hsv_to_rgb(h, s, v))


def _rgb(c: np.ndarray) -> tuple[float, float, float]:
    return tuple(round(float(x), 5) for x in np.clip(c, 0.0, 1.0))  # type: ignore[return-value]


Colour = tuple[float, float, float]


@dataclass(frozen=True)
class CharacterSpec:
    """Everything that makes one character; lengths in builder units (x `UNIT` m).

    Colours are linear RGB in [0, 1]. `CharacterSpec.random(seed)` gives a varied
    one; `to_dict`/`from_dict` go through plain JSON types.
    """

    seed: int
    head_width: float      # half width, 0.74-0.95
    head_height: float     # half height, 0.92-1.08
    head_depth: float      # half depth, 0.78-0.95
    crown: float           # narrowing of the top of the head, -0.05-0.12
    jaw_taper: float       # narrowing below the middle, 0.10-0.40 (0 square, 0.4 narrow jaw)
    chin_size: float       # forward push of the chin, 0-0.14
    chin_width: float      # 0.18 (pointed) - 0.40 (broad)
    chin_drop: float       # chin height as a fraction of head half height below the middle, 0.72-0.88
    mouth_height: float    # mouth line below the middle, fraction of head half height, 0.38-0.50
    mouth_width: float     # half width of the mouth, 0.22-0.37
    lip_upper: float       # upper lip radius (thickness / 2), 0.028-0.062
    lip_lower: float       # lower lip radius, 0.034-0.072
    jaw_drop: float        # lower-lip drop of the "open" viseme, 0.15-0.26
    teeth_height: float    # 0.028-0.055
    teeth_width: float     # fraction of the mouth width, 0.55-0.80
    eye_size: float        # eyeball radius, 0.085-0.16
    eye_spacing: float     # half distance between the eye centres, 0.22-0.36
    eye_height: float      # eye centre above the middle, 0.06-0.22
    iris_size: float       # iris radius / eye radius, 0.40-0.75
    lid: float             # upper eyelid edge above the eye centre / eye radius, 0.2-0.75
    brow_arch: float       # 0-0.07
    brow_tilt: float       # inner end lower (<0) or higher (>0), -0.05-0.05
    brow_thickness: float  # 0.016-0.045
    brow_length: float     # 0.20-0.38
    brow_raise: float      # gap above the eyeball, 0.03-0.12
    nose_size: float       # 0.7-1.4
    nose_length: float     # 0.8-1.3
    ear_size: float        # 0.8-1.3
    hair_style: str        # one of HAIR_STYLES
    hair_volume: float     # hair shell scale over the head, 1.04-1.12
    hair_colour_name: str  # key of the hair palette, or "none"
    hair_colour: Colour
    skin_tone: str         # "monk_01".."monk_10", or "green" / "blue" / "grey" (stylised)
    skin_colour: Colour
    lip_redness: float     # 0 (lips of skin colour, the hard case) - 1 (strong red)
    lip_colour: Colour
    brow_colour: Colour
    iris_colour: Colour
    teeth_colour: Colour
    interior_colour: Colour
    tongue_colour: Colour
    flatness: float        # material style, 0 shaded - 1 flat (emission-like)
    roughness: float       # 0.15-0.9
    specular: float        # 0-0.6

    @property
    def stylised(self) -> bool:
        """True for non-human skin colours (green, blue, grey)."""
        return not self.skin_tone.startswith("monk_")

    @property
    def has_hair(self) -> bool:
        return self.hair_style != "none"

    @classmethod
    def random(cls, seed: int) -> CharacterSpec:
        """A random character; the same `seed` (int >= 0) always gives the same spec."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"CharacterSpec.random: seed must be an int >= 0, got {seed!r}")
        rng = np.random.default_rng([int(seed), 0x5EED])
        u = lambda lo, hi: round(float(rng.uniform(lo, hi)), 5)  # noqa: E731

        geometry = dict(
            head_width=u(0.74, 0.95), head_height=u(0.92, 1.08), head_depth=u(0.78, 0.95),
            crown=u(-0.05, 0.12), jaw_taper=u(0.10, 0.40), chin_size=u(0.0, 0.14),
            chin_width=u(0.18, 0.40), chin_drop=u(0.72, 0.88), mouth_height=u(0.38, 0.50),
            mouth_width=u(0.22, 0.37), lip_upper=u(0.028, 0.062), lip_lower=u(0.034, 0.072),
            jaw_drop=u(0.15, 0.26), teeth_height=u(0.028, 0.055), teeth_width=u(0.55, 0.80),
            eye_size=u(0.085, 0.16))
        geometry["eye_spacing"] = u(max(0.22, geometry["eye_size"] + 0.07), 0.36)
        geometry.update(
            eye_height=u(0.06, 0.22), iris_size=u(0.40, 0.75), lid=u(0.2, 0.75), brow_arch=u(0.0, 0.07),
            brow_tilt=u(-0.05, 0.05), brow_thickness=u(0.016, 0.045), brow_length=u(0.20, 0.38),
            brow_raise=u(0.03, 0.12), nose_size=u(0.7, 1.4), nose_length=u(0.8, 1.3),
            ear_size=u(0.8, 1.3))

        # Skin: the 10 Monk tones with jitter, or (15 %) a stylised colour.
        if rng.uniform() < 0.15:
            skin_tone = str(rng.choice(sorted(_STYLISED_SRGB)))
            skin = _jitter(_srgb_hex_to_linear(_STYLISED_SRGB[skin_tone]), rng, 0.04, 0.25, 0.25)
        else:
            k = int(rng.integers(0, 10))
            skin_tone = f"monk_{k + 1:02d}"
            skin = _jitter(_srgb_hex_to_linear(_MONK_SRGB[k]), rng, 0.015, 0.15, 0.12)

        # Lips: from nearly the skin colour (redness 0) to strong red (1).
        redness = round(float(rng.uniform(0.0, 1.0)), 5)
        red = _jitter(np.array([0.62, 0.035, 0.06]), rng, 0.03, 0.2, 0.35)
        lip = (1.0 - redness) * skin * 0.92 + redness * red

        style = str(rng.choice(HAIR_STYLES, p=[0.2, 0.3, 0.25, 0.25]))
        if style == "none":
            hair_name, hair = "none", np.zeros(3)
            brow = _jitter(_srgb_hex_to_linear(str(rng.choice(["2a1c12", "4a3020", "1b1918"]))),
                           rng, 0.02, 0.1, 0.3)
        else:
            hair_name = str(rng.choice(sorted(_HAIR_SRGB)))
            hair = _jitter(_srgb_hex_to_linear(_HAIR_SRGB[hair_name]), rng, 0.02, 0.15, 0.2)
            brow = hair * (0.55 if hair_name in ("blonde", "grey", "white") else 0.8)

        flat_pick = rng.uniform()
        flatness = 1.0 if flat_pick < 0.2 else (0.0 if flat_pick < 0.55 else float(rng.uniform(0.0, 1.0)))
        return cls(
            seed=int(seed), **geometry,
            hair_style=style, hair_volume=u(1.04, 1.12), hair_colour_name=hair_name,
            hair_colour=_rgb(hair), skin_tone=skin_tone, skin_colour=_rgb(skin),
            lip_redness=redness, lip_colour=_rgb(lip), brow_colour=_rgb(brow),
            iris_colour=_rgb(_jitter(_srgb_hex_to_linear(str(rng.choice(_IRIS_SRGB))), rng, 0.02, 0.2, 0.2)),
            teeth_colour=_rgb(np.array([0.86, 0.83, 0.74]) * rng.uniform(0.8, 1.05)),
            interior_colour=_rgb(np.array([0.05, 0.008, 0.012]) * rng.uniform(0.5, 1.6)),
            tongue_colour=_rgb(_jitter(np.array([0.62, 0.14, 0.16]), rng, 0.02, 0.15, 0.2)),
            flatness=round(flatness, 5), roughness=u(0.15, 0.9), specular=u(0.0, 0.6))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (colours as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CharacterSpec:
        """Inverse of `to_dict`; raises InputError naming missing or unknown keys."""
        names = [f.name for f in fields(cls)]
        missing = sorted(set(names) - set(data))
        unknown = sorted(set(data) - set(names))
        if missing or unknown:
            raise InputError(f"CharacterSpec.from_dict: missing keys {missing}, unknown keys {unknown}")
        values = {k: (tuple(float(x) for x in data[k]) if isinstance(data[k], (list, tuple)) else data[k])
                  for k in names}
        if values["hair_style"] not in HAIR_STYLES:
            raise InputError(f"CharacterSpec.from_dict: hair_style must be one of {HAIR_STYLES}, "
                             f"got {values['hair_style']!r}")
        return cls(**values)


@dataclass(frozen=True)
class _Pose:
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


def _poses(s: CharacterSpec) -> dict[str, _Pose]:
    drop, r_up, r_lo, th = s.jaw_drop, s.lip_upper, s.lip_lower, s.teeth_height
    # f/v: the upper lip's inner edge goes above the middle of the upper teeth, the
    # lower lip's top rises to just above the teeth's lower edge and moves back
    # behind them.
    fv_up = 0.26 * r_up + 0.55 * th + 0.008
    fv_down = 0.23 * r_lo + 0.15 * r_up - 0.3 * th
    return {
        "neutral": _Pose(),
        "closed": _Pose(up=-0.006, down=-0.006, thick=0.86, fwd=0.006),
        "open": _Pose(width=0.9, up=0.02, down=drop, jaw=0.85 * drop, teeth_lo=0.8 * drop,
                      tongue_dz=-0.7 * drop),
        "wide": _Pose(width=1.2, up=0.014, down=0.036, shape=0.25, corner=0.018, thick=0.85,
                      jaw=0.025, teeth_lo=0.014, tongue_dz=-0.012),
        "round": _Pose(width=0.58, up=0.045, down=0.07, shape=0.5, fwd=0.06, thick=1.18,
                       jaw=0.045, teeth_lo=0.035, tongue_dz=-0.03),
        "lip_teeth": _Pose(up=fv_up, down=fv_down, shape=0.35, tuck=0.8 * r_lo, teeth_fwd=0.018,
                           jaw=max(fv_down, 0.0), teeth_lo=0.004),
        "tongue_teeth": _Pose(up=0.035, down=0.055, shape=0.45, jaw=0.04, teeth_lo=0.03,
                              tongue_dz=-0.008, tongue_out=1.0),
    }


class _Face:
    """Shape functions of one spec (numpy-friendly, builder units)."""

    def __init__(self, s: CharacterSpec) -> None:
        self.s = s
        self.rx, self.ry, self.rz = s.head_width, s.head_depth, s.head_height
        self.mz = -s.mouth_height * s.head_height
        self.mw = s.mouth_width
        self.r_up, self.r_lo = s.lip_upper, s.lip_lower
        self.poses = _poses(s)

    # --- skin ---------------------------------------------------------------
    def taper(self, z):
        t = np.clip(-np.asarray(z) / self.rz, 0.0, 1.0)
        top = np.clip(np.asarray(z) / self.rz, 0.0, 1.0)
        return 1.0 - self.s.jaw_taper * t * t - self.s.crown * top * top

    def chin(self, x, z):
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
    def lip_radius(self, u, upper: bool, p: _Pose):
        r = self.r_up if upper else self.r_lo
        return r * p.thick * (0.25 + 0.75 * np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0)))

    def lip_centre(self, u, upper: bool, p: _Pose):
        """(x, y, z) of a lip's centre line at u in [-1, 1] (corners at +-1)."""
        prof = np.clip(1.0 - u * u, 0.0, 1.0)
        x = self.mw * p.width * u
        r0 = self.lip_radius(u, upper, _Pose())
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

    def lip_points(self, u, a, upper: bool, p: _Pose):
        """Lip tube points; u along the mouth, a the angle around the cross-section."""
        x, y, z = self.lip_centre(u, upper, p)
        r = self.lip_radius(u, upper, p)
        return np.stack([x, y + 0.8 * r * np.cos(a), z + r * np.sin(a)], axis=-1)

    # --- inside the mouth -------------------------------------------------------
    def interior_points(self, u, v, p: _Pose):
        """Dark lining between the lip centre lines; v = 0 lower lip, 1 upper lip."""
        ul = 0.96 * u
        _, _, zu = self.lip_centre(ul, True, p)
        _, _, zl = self.lip_centre(ul, False, p)
        x = self.mw * p.width * ul
        z = zl + (zu - zl) * v
        return np.stack([x, self.behind_y(x, z), z], axis=-1)

    def _teeth_band(self, u, upper: bool):
        """Basis top and bottom z of a teeth strip, kept inside the closed lips' cover."""
        n = _Pose()
        if upper:
            _, _, zc = self.lip_centre(u, True, n)
            cover = zc + 0.55 * self.lip_radius(u, True, n) - 0.004
            lo = self.mz - 0.15 * self.r_up - 0.25 * self.s.teeth_height * u * u
            return np.minimum(lo + self.s.teeth_height, cover), lo
        _, _, zc = self.lip_centre(u, False, n)
        cover = zc - 0.55 * self.lip_radius(u, False, n) + 0.004
        hi = self.mz - 0.003 + 0.25 * self.s.teeth_height * u * u
        return hi, np.maximum(hi - 0.9 * self.s.teeth_height, cover)

    def teeth_points(self, u, v, upper: bool, p: _Pose):
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

    def tongue_points(self, t, f, p: _Pose):
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
    def skin_offsets(self, co: np.ndarray, p: _Pose) -> np.ndarray:
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


# Grid sizes of the lip tubes: along the mouth, around the cross-section.
_LIP_N, _LIP_M = 33, 12


def _lip_grid(face: _Face, upper: bool, p: _Pose):
    u = np.linspace(-1.0, 1.0, _LIP_N)[:, None] * np.ones((1, _LIP_M))
    a = 2.0 * np.pi * np.arange(_LIP_M)[None, :] / _LIP_M * np.ones((_LIP_N, 1))
    return face.lip_points(u, a, upper, p), u, a


def _interior_grid(face: _Face, p: _Pose):
    u, v = np.meshgrid(np.linspace(-1, 1, 25), np.linspace(0, 1, 9), indexing="ij")
    return face.interior_points(u, v, p), u, v


def _teeth_grid(face: _Face, upper: bool, p: _Pose):
    u, v = np.meshgrid(np.linspace(-1, 1, 17), np.linspace(0, 1, 3), indexing="ij")
    return face.teeth_points(u, v, upper, p), u, v


def _tongue_grid(face: _Face, p: _Pose):
    t, f = np.meshgrid(np.linspace(0.06 * np.pi, 0.94 * np.pi, 13),
                       2 * np.pi * np.arange(12) / 12, indexing="ij")
    return face.tongue_points(t, f, p), t, f


def _pose_positions(face: _Face, co: np.ndarray, role: np.ndarray, pu: np.ndarray, pv: np.ndarray,
                    pose: _Pose) -> np.ndarray:
    """Vertex positions (N, 3, builder units) of the whole mesh in `pose`."""
    out = co.copy()
    skin = role == _R_SKIN
    out[skin] += face.skin_offsets(co[skin], pose)
    for r, fn in ((_R_LIP_UP, lambda u, v: face.lip_points(u, v, True, pose)),
                  (_R_LIP_LO, lambda u, v: face.lip_points(u, v, False, pose)),
                  (_R_INTERIOR, lambda u, v: face.interior_points(u, v, pose)),
                  (_R_TEETH_UP, lambda u, v: face.teeth_points(u, v, True, pose)),
                  (_R_TEETH_LO, lambda u, v: face.teeth_points(u, v, False, pose)),
                  (_R_TONGUE, lambda u, v: face.tongue_points(u, v, pose))):
        sel = role == r
        out[sel] = fn(pu[sel], pv[sel])
    return out


def _build_mesh(face: _Face) -> MeshBuilder:
    s, b = face.s, MeshBuilder(params=True)
    rx, ry, rz = face.rx, face.ry, face.rz

    head = b.sphere((0, 0, 0), (1, 1, 1), "skin", segs=(64, 40), role=_R_SKIN)
    for v in head:
        x, y, z = v.co
        x, y, z = x * rx, y * ry, z * rz
        x *= float(face.taper(z))
        if y < 0:
            y -= float(face.chin(x, z)) * min(1.0, -y / (0.5 * ry))
        v.co = (x, y, z)
    neck = bmesh.ops.create_cone(b.bm, cap_ends=False, segments=24, radius1=0.40 * rx,
                                 radius2=0.42 * rx, depth=0.9,
                                 matrix=matrix_from((0, 0.15, -0.78 * rz - 0.3), (1, 1, 1)))["verts"]
    b.tag(neck, "skin")

    # Ears.
    for sx in (1, -1):
        ez = 0.5 * s.eye_height - 0.12
        ex = sx * float(rx * face.taper(ez)) * 0.96
        b.sphere((ex, 0.08, ez), (0.06, 0.11 * s.ear_size, 0.19 * s.ear_size), "skin", segs=(16, 10))

    # Nose: bridge, tip, nostrils.
    ns, nl = s.nose_size, s.nose_length
    tip_z = max(-0.17 * nl, face.mz + s.lip_upper * 2.2 + 0.09 * ns)
    fy = float(face.face_y(0.0, tip_z))
    b.sphere((0, float(face.face_y(0.0, 0.0)) + 0.03, 0.5 * tip_z), (0.075 * ns, 0.1 * ns, 0.5 * abs(tip_z) + 0.12),
             "nose", segs=(20, 12))
    b.sphere((0, fy - 0.055 * ns, tip_z), (0.095 * ns, 0.085 * ns, 0.08 * ns), "nose", segs=(20, 12))
    for sx in (1, -1):
        b.sphere((sx * 0.07 * ns, fy - 0.02 * ns, tip_z - 0.025 * ns), (0.055 * ns, 0.05 * ns, 0.045 * ns),
                 "nose", segs=(12, 8))

    # Eyes (white ball, iris, pupil) and brows.
    er = s.eye_size
    for side, sx in (("left", 1), ("right", -1)):
        ex, ez = sx * s.eye_spacing, s.eye_height
        ey = float(face.face_y(ex, ez)) + 0.55 * er
        b.sphere((ex, ey, ez), (er, er, er), f"eye_{side}", segs=(20, 12))
        lid = b.sphere((ex, ey, ez), (1.07 * er, 1.07 * er, 1.07 * er), "skin", segs=(20, 12))
        bmesh.ops.delete(b.bm, geom=[v for v in lid if v.co.z < ez + s.lid * er], context="VERTS")
        ir = s.iris_size * er  # iris and pupil: flat caps just in front of the eyeball
        b.sphere((ex, ey - er - 0.003 + 0.5 * ir, ez), (ir, 0.5 * ir, ir), f"iris_{side}", segs=(16, 8))
        b.sphere((ex, ey - er - 0.005 + 0.25 * ir, ez), (0.5 * ir, 0.25 * ir, 0.5 * ir), f"pupil_{side}",
                 segs=(12, 6))

        def brow_c(t, sx=sx, ex=ex, ez=ez):
            x = ex + sx * (t - 0.5) * s.brow_length
            z = (ez + er + s.brow_raise + s.brow_arch * math.sin(math.pi * t)
                 + s.brow_tilt * (0.5 - t))
            return (x, float(face.face_y(x, z)) - 0.6 * s.brow_thickness + 0.01, z)

        th = s.brow_thickness
        b.tube(brow_c, lambda t: th * (0.5 + 0.5 * math.sin(math.pi * min(max(t, 0.06), 0.94))),
               14, 8, f"brow_{side}", depth=0.7)

    if s.has_hair:
        _hair(b, face)

    # Mouth parts, all parametric.
    p0 = face.poses["neutral"]
    for upper, part, role in ((True, "lip_upper", _R_LIP_UP), (False, "lip_lower", _R_LIP_LO)):
        pts, u, a = _lip_grid(face, upper, p0)
        b.grid(pts, u, a, part, role, wrap=True, caps=True, flip=True)
    pts, u, v = _interior_grid(face, p0)
    b.grid(pts, u, v, "mouth_interior", _R_INTERIOR)
    for upper, role in ((True, _R_TEETH_UP), (False, _R_TEETH_LO)):
        pts, u, v = _teeth_grid(face, upper, p0)
        b.grid(pts, u, v, "teeth", role, flip=True)
    pts, t, f = _tongue_grid(face, p0)
    b.grid(pts, t, f, "tongue", _R_TONGUE, wrap=True, caps=True)
    return b


def _hair(b: MeshBuilder, face: _Face) -> None:
    """A shell over the head; the hairline depends on the style."""
    s = face.s
    brow_top = s.eye_height + s.eye_size + s.brow_raise + s.brow_arch + abs(s.brow_tilt) + s.brow_thickness
    vol = s.hair_volume
    line = brow_top + (0.05 if s.hair_style == "bangs" else 0.16)
    zf = (line - 0.03) / (face.rz * vol)  # front hairline, unit-sphere z
    shell = b.sphere((0, 0, 0), (1, 1, 1), "hair", segs=(64, 32))
    drop = []
    for v in shell:
        x, y, z = v.co
        thr = zf + (-0.15 - zf) * (y + 1.0) / 2.0
        if s.hair_style == "bangs":
            thr += 0.035 * math.cos(9.0 * math.atan2(x, -y)) * max(-y, 0.0)
        elif s.hair_style == "long" and (abs(x) > 0.8 or y > 0.1):
            thr = -0.85
        if z < thr:
            drop.append(v)
            continue
        x, y, z = x * face.rx * vol, y * face.ry * (vol + 0.02), z * face.rz * (vol + 0.05 * max(z, 0.0)) + 0.03
        if not (s.hair_style == "long" and z < 0):
            x *= float(face.taper(z))
        v.co = (x, y, z)
    bmesh.ops.delete(b.bm, geom=drop, context="VERTS")


@dataclass
class Character:
    """What `build_character` made."""

    object: bpy.types.Object
    spec: CharacterSpec
    mouth_group: str = MOUTH_GROUP
    mouth_centre_local: tuple[float, float, float] = (0.0, 0.0, 0.0)  # object space, metres
    face_height_local: float = 0.0  # crown to chin, metres (object space)

    @property
    def shape_keys(self) -> list[str]:
        """Names of the viseme shape keys, in `VISEMES` order without "neutral"."""
        return list(VISEMES[1:])


def _part_colours(s: CharacterSpec) -> dict[str, Colour]:
    eye_white = (0.85, 0.85, 0.82)
    return {"skin": s.skin_colour, "nose": s.skin_colour, "lip_upper": s.lip_colour,
            "lip_lower": s.lip_colour, "teeth": s.teeth_colour, "mouth_interior": s.interior_colour,
            "tongue": s.tongue_colour, "hair": s.hair_colour, "brow_left": s.brow_colour,
            "brow_right": s.brow_colour, "eye_left": eye_white, "eye_right": eye_white,
            "iris_left": s.iris_colour, "iris_right": s.iris_colour,
            "pupil_left": (0.01, 0.01, 0.012), "pupil_right": (0.01, 0.01, 0.012)}


def build_character(scene: bpy.types.Scene, spec: CharacterSpec) -> Character:
    """Add the character of `spec` to `scene` (linked to its master collection).

    Returns a `Character` holding the mesh object "Character": one material slot per
    part (`pass_index` = class id), vertex group "mouth" (upper and lower lip) and
    shape keys "Basis" (= neutral) plus one per other viseme of `VISEMES`, all 0.
    """
    if not isinstance(spec, CharacterSpec):
        raise InputError(f"build_character: spec must be a CharacterSpec, got {type(spec).__name__}")
    face = _Face(spec)
    b = _build_mesh(face)
    mesh, arrays = mesh_from_builder(b, "Character")
    role, part, pu, pv = arrays["role"], arrays["part"], arrays["pu"], arrays["pv"]
    for name in ("role", "pu", "pv"):  # construction data, not for users
        attr = mesh.attributes.get(name)
        if attr is not None:
            mesh.attributes.remove(attr)

    colours = _part_colours(spec)
    rough = {"eye_left": 0.15, "eye_right": 0.15, "iris_left": 0.15, "iris_right": 0.15,
             "pupil_left": 0.1, "pupil_right": 0.1, "teeth": 0.3, "mouth_interior": 0.9, "tongue": 0.4}
    for name in b.slots:
        flat = spec.flatness if name not in ("mouth_interior",) else 0.0
        mesh.materials.append(make_material(f"Character_{name}", name, colours[name],
                                            roughness=rough.get(name, spec.roughness),
                                            specular=spec.specular, emission=flat))

    n = len(mesh.vertices)
    co = np.empty(n * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(n, 3).astype(np.float64)
    mesh.vertices.foreach_set("co", (co * UNIT).astype(np.float32).ravel())

    obj = bpy.data.objects.new("Character", mesh)
    scene.collection.objects.link(obj)
    lips = np.flatnonzero((part == PART_CLASSES["lip_upper"]) | (part == PART_CLASSES["lip_lower"]))
    add_vertex_group(obj, MOUTH_GROUP, lips)

    for name in VISEMES[1:]:
        add_shape_key(obj, name, _pose_positions(face, co, role, pu, pv, face.poses[name]) * UNIT)
    mesh.update()
    centre = tuple(float(c) for c in co[lips].mean(axis=0) * UNIT)
    return Character(object=obj, spec=spec, mouth_centre_local=centre,
                     face_height_local=2.0 * spec.head_height * UNIT)


def set_viseme_weights(character: Character, weights: np.ndarray, frame_start: int) -> None:
    """Keyframe the viseme shape keys, one row of `weights` per frame from `frame_start`.

    Args:
        weights: (F, len(VISEMES)) float in [0, 1], columns in `VISEMES` order; the
            "neutral" column is ignored (neutral is the basis).
        frame_start: scene frame of row 0.

    Existing keyframes of these shape keys are replaced.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != len(VISEMES) or w.shape[0] == 0:
        raise InputError(f"set_viseme_weights: weights must have shape (F, {len(VISEMES)}) with F >= 1, "
                         f"got {w.shape}")
    if not np.all(np.isfinite(w)) or w.min() < -1e-6 or w.max() > 1.0 + 1e-6:
        raise InputError(f"set_viseme_weights: weights must be finite and in [0, 1], got min {np.nanmin(w):g} "
                         f"max {np.nanmax(w):g}")
    from bpy_extras import anim_utils

    key = character.object.data.shape_keys
    keys = key.key_blocks
    for name in VISEMES[1:]:  # one keyframe each: creates action, slot and F-curves
        keys[name].keyframe_insert("value", frame=int(frame_start))
    anim = key.animation_data
    bag = anim_utils.action_get_channelbag_for_slot(anim.action, anim.action_slot)
    frames = np.arange(w.shape[0], dtype=np.float64) + int(frame_start)
    for col, name in enumerate(VISEMES):
        if col == 0:
            continue
        path = f'key_blocks["{name}"].value'
        fc = bag.fcurves.find(path)
        fc.keyframe_points.clear()
        fc.keyframe_points.add(len(frames))
        fc.keyframe_points.foreach_set("co", np.stack([frames, np.clip(w[:, col], 0, 1)], 1).ravel())
        fc.keyframe_points.foreach_set("interpolation", [1] * len(frames))  # LINEAR
        fc.update()


def face_anchor(character: Character) -> tuple[np.ndarray, np.ndarray, float]:
    """Where the face is, for placing a camera.

    Returns:
        mouth centre (3,) world xyz in metres (centre of the lips at rest),
        forward (3,) unit vector, world direction the face looks in,
        face height in metres (crown to chin, object scale applied).
    """
    from mathutils import Vector

    m = character.object.matrix_world
    centre = np.array(m @ Vector(character.mouth_centre_local))
    forward = np.array((m.to_3x3() @ Vector((0.0, -1.0, 0.0))).normalized())
    scale = float(np.mean(np.abs(m.to_scale())))
    return centre, forward, character.face_height_local * scale
