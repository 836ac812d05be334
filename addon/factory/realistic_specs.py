"""Seeded specs of the "realistic" character family, as plain data (no bpy).

Human proportions (smaller eyes set at mid-head, a longer lower face, thinner lips), the ten
Monk skin tones, lips that differ little from the skin (a darker, redder shade of it) and
for some characters lipstick, skin detail (pores, freckles), age (wrinkles, deeper folds,
grey hair), facial hair (`character_spec.FACIAL_HAIR`) and glasses. `family_specs` calls
`draw_realistic` with the family's random stream and its held-out picker (a full beard is
held out). Lengths in builder units, colours linear RGB in [0, 1], as in `character_spec`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .character_spec import (_HAIR_SRGB, _IRIS_SRGB, _MONK_SRGB, FACIAL_HAIR, CharacterSpec,
                             _jitter, _rgb, _srgb_hex_to_linear)

# Lipstick shades, sRGB hex: red, berry, pink, coral, plum.
_LIPSTICK_SRGB = ("a3121f", "6e1230", "c2536e", "c8584a", "5a1f33")
# Glasses frames, sRGB hex: black, tortoise brown, gold, silver, navy.
_FRAME_SRGB = ("141414", "4a2a16", "b38b3c", "a8a9ad", "1c2540")
# Facial hair weights in FACIAL_HAIR order (the held-out full beard's share goes to the others
# for characters that are not held out).
_FACIAL_HAIR_WEIGHTS = (0.5, 0.18, 0.1, 0.08, 0.14)
_LIP_TINT = np.array([1.0, 0.72, 0.76])   # lips: the skin's colour, redder (less green, blue)

Pick = Callable[..., str]   # (field, options, weights=None) -> one option


def natural_lips(skin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lips of a (3,) linear skin colour: a little darker and redder than the skin."""
    tint = 1.0 + (_LIP_TINT - 1.0) * rng.uniform(0.5, 1.0)
    return skin * tint * rng.uniform(0.72, 0.88)


def draw_realistic(rng: np.random.Generator, base: CharacterSpec, pick: Pick) -> dict:
    """The fields a realistic character redraws (a dict for `dataclasses.replace` of
    `base`, the cartoon spec of the same seed)."""
    u = lambda lo, hi: round(float(rng.uniform(lo, hi)), 5)  # noqa: E731
    k = int(rng.integers(0, 10))
    skin = _jitter(_srgb_hex_to_linear(_MONK_SRGB[k]), rng, 0.01, 0.1, 0.08)
    age = round(float(rng.uniform(0.0, 1.0) ** 1.5), 5)
    facial_hair = pick("facial_hair", FACIAL_HAIR, _FACIAL_HAIR_WEIGHTS)
    lipstick = facial_hair == "none" and rng.random() < 0.3
    lip = (_jitter(_srgb_hex_to_linear(str(rng.choice(_LIPSTICK_SRGB))), rng, 0.02, 0.15, 0.2)
           if lipstick else natural_lips(skin, rng))

    style = str(rng.choice(("none", "short", "bangs", "long"), p=[0.12, 0.4, 0.18, 0.3]))
    names = sorted(_HAIR_SRGB)
    hair_name = str(rng.choice(names))
    if age > 0.7 and rng.random() < age:
        hair_name = str(rng.choice(("grey", "white")))
    hair = _jitter(_srgb_hex_to_linear(_HAIR_SRGB[hair_name]), rng, 0.02, 0.12, 0.15)
    light_hair = hair_name in ("blonde", "grey", "white")
    brow = hair * (0.6 if light_hair else 0.85)
    beard = hair * rng.uniform(0.7, 1.0)
    freckles = u(0.2, 1.0) if k < 5 and rng.random() < 0.3 else 0.0
    glasses = u(0.13, 0.18) if rng.random() < 0.15 else 0.0
    frame = _srgb_hex_to_linear(str(rng.choice(_FRAME_SRGB)))

    eye = u(0.085, 0.105)
    return dict(
        head_width=u(0.74, 0.84), head_height=u(1.0, 1.08), head_depth=u(0.86, 0.95),
        crown=u(0.0, 0.1), jaw_taper=u(0.18, 0.36), chin_size=u(0.04, 0.1),
        chin_width=u(0.2, 0.32), chin_drop=u(0.78, 0.86), mouth_height=u(0.5, 0.56),
        mouth_width=u(0.2, 0.27), lip_upper=u(0.022, 0.036), lip_lower=u(0.028, 0.046),
        jaw_drop=u(0.13, 0.2), teeth_height=u(0.035, 0.05), teeth_width=u(0.72, 0.86),
        eye_size=eye, eye_spacing=u(0.27, 0.32), eye_height=u(0.0, 0.08),
        iris_size=u(0.42, 0.5), lid=u(0.35, 0.65), brow_arch=u(0.01, 0.05),
        brow_tilt=u(-0.03, 0.03), brow_thickness=u(0.012, 0.024), brow_length=u(0.26, 0.34),
        brow_raise=u(0.05, 0.1), nose_size=u(0.8, 1.1), nose_length=u(1.0, 1.35),
        ear_size=u(0.85, 1.05), hair_style=style, hair_volume=u(1.03, 1.07),
        hair_colour_name="none" if style == "none" else hair_name,
        hair_colour=(0.0, 0.0, 0.0) if style == "none" else _rgb(hair),
        skin_tone=f"monk_{k + 1:02d}", skin_colour=_rgb(skin),
        lip_redness=1.0 if lipstick else 0.0, lip_colour=_rgb(lip), brow_colour=_rgb(brow),
        iris_colour=_rgb(_jitter(_srgb_hex_to_linear(str(rng.choice(_IRIS_SRGB))), rng,
                                 0.02, 0.2, 0.2)),
        teeth_colour=_rgb(np.array([0.8, 0.75, 0.6]) * rng.uniform(0.85, 1.05)),
        interior_colour=_rgb(np.array([0.05, 0.008, 0.01]) * rng.uniform(0.6, 1.4)),
        tongue_colour=_rgb(_jitter(np.array([0.5, 0.13, 0.14]), rng, 0.02, 0.15, 0.15)),
        flatness=0.0, roughness=u(0.35, 0.55), specular=u(0.3, 0.5),
        skin_detail=u(0.3, 1.0), freckles=freckles, age=age, facial_hair=facial_hair,
        facial_hair_colour=_rgb(beard) if facial_hair != "none" else (0.0, 0.0, 0.0),
        lipstick=bool(lipstick), glasses=glasses,
        glasses_colour=_rgb(frame) if glasses else (0.0, 0.0, 0.0))
