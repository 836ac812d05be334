"""Seeded specs of the character families other than "cartoon", as plain data (no bpy).

- "anime": toon-shaded heads with big eyes, a small nose, a pointed chin, an outline, and a
  drawn mouth: thin lips of the skin's own colour around a dark line (`MOUTH_STYLES`), a dark
  shape with a tongue and a row of upper teeth when it opens.
- "creature": wide mouths on big jaws with big teeth, skin of any colour, big ears,
  sometimes horns.
- "realistic": human proportions and colours, lips nearly of the skin's colour (lipstick
  sometimes), skin detail (pores, freckles, age), facial hair, glasses (`realistic_specs`).

Each family has held-out variants (`HELD_OUT_VARIANTS`: spec field -> values) drawn only
for held-out character seeds (`core.dataset.plan.held_out_character`), so a variant such
as a purple creature never appears in training. Lengths in builder units, colours linear
RGB in [0, 1], as in `character_spec`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...core.dataset.plan import FAMILIES, HELD_OUT_VARIANTS, held_out_character
from ...core.errors import InputError
from .character_spec import (_MONK_SRGB, _IRIS_SRGB, CharacterSpec, _jitter, _rgb,
                             _srgb_hex_to_linear)
from .realistic_specs import draw_realistic

MOUTH_STYLES = ("line", "smile", "small", "cat")   # anime mouths; "cat" is the ω shape
# more anime mouths, drawn only where a data set asks for them (`with_mouth_styles`), so
# every plan made before them renders as it did: wide, corners down, one corner up, parted
MORE_MOUTH_STYLES = ("wide", "frown", "tilt", "open")
_ANIME_HAIR_SRGB = {"black": "1f1d2b", "brown": "6b4426", "blonde": "f0d68a", "pink": "f29ac0",
                    "blue": "4f7fe0", "purple": "8c62c9", "silver": "cfd3dc", "orange": "f08a3c",
                    "green": "5fae7d"}
_ANIME_IRIS_SRGB = ("3d7be0", "2fae9a", "9b4fd1", "d9483b", "c98a2e", "4a2c17")
_CREATURE_SKIN_SRGB = {"green": "6fb35a", "blue": "5b8fd9", "teal": "3fa3a0", "red": "c8493f",
                       "orange": "e08a3a", "grey": "8f9196", "pink": "e08fb0",
                       "purple": "8a5bc2", "yellow": "e3cf4a"}
_HORN_SRGB = ("efe6cf", "5a4a3a", "2b2622", "b8a27a")

TRAINING_MOUTH_STYLES = tuple(m for m in MOUTH_STYLES + MORE_MOUTH_STYLES
                              if m not in HELD_OUT_VARIANTS["anime"]["mouth_style"])
_HELD_OUT_SHARE = 0.5   # share of held-out characters that get a held-out variant
_FAMILY_STREAM = {"anime": 1, "creature": 2, "realistic": 3}


def _pick(rng: np.random.Generator, seed: int, family: str, field: str,
          options: tuple, weights: tuple | None = None) -> str:
    """One of `options` (with relative `weights`, default uniform), or for some held-out
    seeds one of the family's held-out values."""
    held = HELD_OUT_VARIANTS[family].get(field, ())
    if held and held_out_character(seed) and rng.random() < _HELD_OUT_SHARE:
        return str(rng.choice(held))
    kept = [i for i, o in enumerate(options) if o not in held]
    if weights is None:
        return str(rng.choice([options[i] for i in kept]))
    p = np.array([weights[i] for i in kept], dtype=np.float64)
    return str(options[kept[int(rng.choice(len(kept), p=p / p.sum()))]])


def random_family_spec(seed: int, family: str) -> CharacterSpec:
    """A character of `family` (not "cartoon") for `seed` (int >= 0); InputError for an
    unknown family."""
    if family not in FAMILIES or family == "cartoon":
        raise InputError(f"character family must be one of {', '.join(FAMILIES)}, got {family!r}")
    rng = np.random.default_rng([seed, 0x5EED, _FAMILY_STREAM[family]])
    base = CharacterSpec.random(seed)   # fields a family does not redraw (brows, hair shell...)
    if family == "realistic":
        pick = lambda field, options, weights=None: _pick(  # noqa: E731
            rng, seed, family, field, options, weights)
        return replace(base, family=family, **draw_realistic(rng, base, pick))
    draw = _anime if family == "anime" else _creature
    return replace(base, family=family, **draw(seed, rng, base))


def check_mouth_styles(styles: tuple[str, ...]) -> tuple[str, ...]:
    """`styles` as a tuple, or InputError naming what is wrong: each must be one of
    `TRAINING_MOUTH_STYLES` (not a held-out mouth), named once."""
    styles = tuple(styles)
    bad = [m for m in styles if m not in TRAINING_MOUTH_STYLES]
    if bad or len(set(styles)) != len(styles):
        held = ", ".join(HELD_OUT_VARIANTS["anime"]["mouth_style"])
        raise InputError(f"--mouth-styles must name some of {', '.join(TRAINING_MOUTH_STYLES)} "
                         f"(each once; {held} is held out for testing), got {', '.join(styles)}")
    return styles


def with_mouth_styles(spec: CharacterSpec, styles: tuple[str, ...]) -> CharacterSpec:
    """`spec` with its mouth drawn again from `styles` (seeded by `spec.seed`) when it is
    an anime character without a held-out variant; any other spec, or no `styles`, as is."""
    if not styles or spec.family != "anime" or spec.held_out_variant:
        return spec
    rng = np.random.default_rng([spec.seed, 0x5EED, _FAMILY_STREAM["anime"], 0x40])
    return replace(spec, mouth_style=str(rng.choice(check_mouth_styles(styles))))


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return round(float(rng.uniform(lo, hi)), 5)


def _anime(seed: int, rng: np.random.Generator, base: CharacterSpec) -> dict:
    u = lambda lo, hi: _u(rng, lo, hi)  # noqa: E731
    eye = u(0.17, 0.23)
    k = int(rng.integers(0, 5))    # light to mid Monk tones, smoothed
    skin = _jitter(_srgb_hex_to_linear(_MONK_SRGB[k]), rng, 0.01, 0.1, 0.06)
    style = str(rng.choice(("short", "bangs", "long"), p=[0.25, 0.45, 0.3]))
    hair_name = str(rng.choice(sorted(_ANIME_HAIR_SRGB)))
    hair = _jitter(_srgb_hex_to_linear(_ANIME_HAIR_SRGB[hair_name]), rng, 0.02, 0.1, 0.15)
    iris = _jitter(_srgb_hex_to_linear(str(rng.choice(_ANIME_IRIS_SRGB))), rng, 0.02, 0.1, 0.1)
    return dict(
        head_width=u(0.80, 0.90), head_height=u(0.95, 1.05), head_depth=u(0.82, 0.92),
        crown=u(0.0, 0.08), jaw_taper=u(0.32, 0.50), chin_size=u(0.02, 0.08),
        chin_width=u(0.14, 0.24), chin_drop=u(0.80, 0.88), mouth_height=u(0.44, 0.54),
        mouth_width=u(0.13, 0.21), lip_upper=u(0.011, 0.016), lip_lower=u(0.011, 0.016),
        jaw_drop=u(0.12, 0.20), teeth_height=u(0.035, 0.05), teeth_width=u(0.75, 0.9),
        eye_size=eye, eye_spacing=u(max(0.30, eye + 0.08), 0.40), eye_height=u(-0.02, 0.08),
        iris_size=u(0.72, 0.86), lid=u(0.45, 0.8), brow_thickness=u(0.010, 0.02),
        brow_raise=u(0.05, 0.14), nose_size=u(0.3, 0.5), nose_length=u(0.5, 0.8),
        ear_size=u(0.8, 1.0),
        hair_style=style, hair_colour_name=hair_name, hair_colour=_rgb(hair),
        brow_colour=_rgb(hair * 0.7), skin_tone=f"monk_{k + 1:02d}", skin_colour=_rgb(skin),
        lip_redness=0.0, lip_colour=_rgb(skin), iris_colour=_rgb(iris),
        teeth_colour=_rgb(np.array([0.95, 0.95, 0.95])),
        interior_colour=_rgb(np.array([0.16, 0.02, 0.03]) * rng.uniform(0.6, 1.3)),
        tongue_colour=_rgb(_jitter(np.array([0.85, 0.28, 0.3]), rng, 0.02, 0.1, 0.1)),
        flatness=0.0, specular=0.0,
        mouth_style=_pick(rng, seed, "anime", "mouth_style", MOUTH_STYLES),
        toon_bands=int(rng.choice([2, 3])), outline=u(0.035, 0.06))


def _creature(seed: int, rng: np.random.Generator, base: CharacterSpec) -> dict:
    u = lambda lo, hi: _u(rng, lo, hi)  # noqa: E731
    tone = _pick(rng, seed, "creature", "skin_tone", tuple(sorted(_CREATURE_SKIN_SRGB)))
    skin = _jitter(_srgb_hex_to_linear(_CREATURE_SKIN_SRGB[tone]), rng, 0.03, 0.25, 0.25)
    lip = skin * rng.uniform(0.45, 0.8) if rng.random() < 0.7 else _jitter(
        np.array([0.45, 0.08, 0.12]), rng, 0.05, 0.2, 0.3)
    eye = u(0.08, 0.2)
    horn = u(0.25, 0.55) if rng.random() < 0.4 else 0.0
    bald = rng.random() < 0.6
    return dict(
        head_width=u(0.86, 1.0), head_height=u(0.86, 1.04), head_depth=u(0.80, 0.95),
        crown=u(-0.05, 0.15), jaw_taper=u(-0.10, 0.15), chin_size=u(0.05, 0.2),
        chin_width=u(0.3, 0.5), chin_drop=u(0.72, 0.88), mouth_height=u(0.30, 0.44),
        mouth_width=u(0.36, 0.52), lip_upper=u(0.04, 0.075), lip_lower=u(0.05, 0.085),
        jaw_drop=u(0.22, 0.36), teeth_height=u(0.05, 0.09), teeth_width=u(0.78, 0.92),
        eye_size=eye, eye_spacing=u(max(0.22, eye + 0.07), 0.38), eye_height=u(0.06, 0.26),
        nose_size=u(0.6, 1.6), nose_length=u(0.7, 1.3), ear_size=u(1.0, 1.7),
        hair_style="none" if bald else base.hair_style if base.has_hair else "short",
        hair_colour_name="none" if bald else base.hair_colour_name if base.has_hair else "black",
        hair_colour=(0.0, 0.0, 0.0) if bald else base.hair_colour if base.has_hair
        else _rgb(_srgb_hex_to_linear("1b1918")),
        skin_tone=tone, skin_colour=_rgb(skin), lip_redness=0.0, lip_colour=_rgb(lip),
        brow_colour=_rgb(skin * 0.4),
        iris_colour=_rgb(_jitter(_srgb_hex_to_linear(str(rng.choice(_IRIS_SRGB + ("d9c23b",)))),
                                 rng, 0.03, 0.2, 0.2)),
        teeth_colour=_rgb(np.array([0.9, 0.86, 0.7]) * rng.uniform(0.75, 1.05)),
        horn_size=horn, horn_colour=_rgb(_srgb_hex_to_linear(str(rng.choice(_HORN_SRGB))))
        if horn else (0.0, 0.0, 0.0))
