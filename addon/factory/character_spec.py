"""Seeded random characters for the training-data factory, as plain data (no bpy).

`CharacterSpec.random(seed)` draws a character (head shape, mouth, eyes, brows, nose,
hair, colours, material style); `head_geometry` turns a spec into shapes and
`character.build_character` into a Blender mesh. Lengths are builder units (the head is
about 2 units tall; `head_geometry.UNIT` metres per unit); colours are linear RGB in [0, 1].

Families: `CharacterSpec.random(seed)` is the "cartoon" family, the same spec for a seed as
before families existed; `CharacterSpec.random(seed, family)` draws another family
(`family_specs`). The fields after `specular` (`FAMILY_FIELDS`) say how a family differs;
a cartoon spec leaves them at their defaults and its `to_dict` leaves them out; the
realistic family's own fields (`REALISTIC_FIELDS`) are left out of every other family's.
"""

from __future__ import annotations

import colorsys
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ...core.dataset.plan import held_out_look
from ...core.errors import InputError

# The Monk Skin Tone scale (Ellis Monk, 2019; sRGB hex as published by Google).
_MONK_SRGB = ("f6ede4", "f3e7db", "f7ead0", "eadaba", "d7bd96",
              "a07e56", "825c43", "604134", "3a312a", "292420")
_STYLISED_SRGB = {"green": "7cbf6a", "blue": "6f9be0", "grey": "a2a3a8"}
_HAIR_SRGB = {"black": "1b1918", "dark_brown": "3b2618", "brown": "6b4426", "blonde": "d9b46c",
              "red": "a04a1f", "grey": "b5b1aa", "white": "e6e3dc"}
_IRIS_SRGB = ("4a2c17", "2b1a10", "4f7fb0", "5b7f45", "7a6a3a", "707a80")
HAIR_STYLES = ("none", "short", "bangs", "long")
# Facial hair of realistic characters, painted on the skin: stubble (jaw, chin and upper
# lip), a moustache (over the upper lip), a goatee (moustache and chin), a full beard.
FACIAL_HAIR = ("none", "stubble", "moustache", "goatee", "full_beard")


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
    family: str = "cartoon"     # one of core.dataset.plan.FAMILIES
    mouth_style: str = "lips"   # "lips" (tube lips), or a drawn anime mouth (family_specs)
    toon_bands: int = 0         # 0 smooth shading, else 2 or 3 hard-edged tones
    outline: float = 0.0        # width of the dark outline, builder units (0: none)
    horn_size: float = 0.0      # length of a creature's horns, builder units (0: none)
    horn_colour: Colour = (0.0, 0.0, 0.0)
    # Realistic family only (`REALISTIC_FIELDS`; left out of other families' `to_dict`):
    skin_detail: float = 0.0    # strength of pores and fine bumps, 0-1
    freckles: float = 0.0       # freckle density on nose and cheeks, 0-1
    age: float = 0.0            # wrinkles and fold depth, 0 (young) - 1 (old)
    facial_hair: str = "none"   # one of FACIAL_HAIR
    facial_hair_colour: Colour = (0.0, 0.0, 0.0)
    lipstick: bool = False      # lips of a made-up colour instead of nearly the skin's
    glasses: float = 0.0        # half width of a glasses lens, builder units (0: none)
    glasses_colour: Colour = (0.0, 0.0, 0.0)

    @property
    def stylised(self) -> bool:
        """True for non-human skin colours (green, blue, grey)."""
        return not self.skin_tone.startswith("monk_")

    @property
    def has_hair(self) -> bool:
        return self.hair_style != "none"

    @property
    def held_out_variant(self) -> bool:
        """True when the spec has a variant drawn only for held-out characters
        (`plan.HELD_OUT_VARIANTS`), so it never appears in training."""
        return held_out_look(self.family, vars(self))

    @classmethod
    def random(cls, seed: int, family: str = "cartoon") -> CharacterSpec:
        """A random character of `family`; the same (`seed` int >= 0, family) always gives
        the same spec."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"CharacterSpec.random: seed must be an int >= 0, got {seed!r}")
        if family != "cartoon":
            from .family_specs import random_family_spec

            return random_family_spec(int(seed), family)
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
        """Plain JSON types (colours as lists); a cartoon spec without `FAMILY_FIELDS`, a
        spec of another family but "realistic" without `REALISTIC_FIELDS`."""
        data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
        if self.family == "cartoon":
            data = {k: v for k, v in data.items() if k not in FAMILY_FIELDS}
        elif self.family != "realistic":
            data = {k: v for k, v in data.items() if k not in REALISTIC_FIELDS}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CharacterSpec:
        """Inverse of `to_dict`; raises InputError naming missing or unknown keys."""
        names = [f.name for f in fields(cls)]
        data = {**{f.name: f.default for f in fields(cls) if f.name in FAMILY_FIELDS}, **data}
        missing = sorted(set(names) - set(data))
        unknown = sorted(set(data) - set(names))
        if missing or unknown:
            raise InputError(f"CharacterSpec.from_dict: missing keys {missing}, unknown keys {unknown}")
        values = {k: (tuple(float(x) for x in data[k]) if isinstance(data[k], (list, tuple)) else data[k])
                  for k in names}
        for name, allowed in (("hair_style", HAIR_STYLES), ("facial_hair", FACIAL_HAIR)):
            if values[name] not in allowed:
                raise InputError(f"CharacterSpec.from_dict: {name} must be one of {allowed}, "
                                 f"got {values[name]!r}")
        values["lipstick"] = bool(values["lipstick"])
        return cls(**values)


REALISTIC_FIELDS = ("skin_detail", "freckles", "age", "facial_hair", "facial_hair_colour",
                    "lipstick", "glasses", "glasses_colour")
FAMILY_FIELDS = ("family", "mouth_style", "toon_bands", "outline", "horn_size",
                 "horn_colour") + REALISTIC_FIELDS


def part_colours(s: CharacterSpec) -> dict[str, Colour]:
    """Linear RGB base colour of every part name the character's mesh uses."""
    eye_white = (0.85, 0.85, 0.82)
    return {"skin": s.skin_colour, "nose": s.skin_colour, "lip_upper": s.lip_colour,
            "lip_lower": s.lip_colour, "teeth": s.teeth_colour, "mouth_interior": s.interior_colour,
            "tongue": s.tongue_colour, "hair": s.hair_colour, "brow_left": s.brow_colour,
            "brow_right": s.brow_colour, "eye_left": eye_white, "eye_right": eye_white,
            "iris_left": s.iris_colour, "iris_right": s.iris_colour,
            "pupil_left": (0.01, 0.01, 0.012), "pupil_right": (0.01, 0.01, 0.012),
            "horn": s.horn_colour, "gums": _GUMS, "lash_left": s.brow_colour,
            "lash_right": s.brow_colour, "glasses": s.glasses_colour}


_GUMS = (0.62, 0.2, 0.22)   # linear RGB of the gums
