"""Where a realistic character's skin detail goes, per skin vertex, as numpy maths (no bpy).

`skin_maps(face, co)` gives masks in [0, 1] over the skin's vertices (N, 3 builder units):
- "hair": density of facial hair (`spec.facial_hair`): stubble over jaw, chin and upper lip
  at low density, a moustache over the upper lip (drooping past the corners), a goatee
  (moustache and chin), a full beard (all of them, up to the sideburns). Facial hair is
  painted on the skin, never on the lips: a moustache pixel is labelled skin, the surface
  it lies on, and the lips' labels stay exactly the lips' pixels.
- "freckle": freckle density (nose and cheeks, times `spec.freckles`);
- "wrinkle": where age lines go (forehead, crow's feet, under the eyes, times `spec.age`);
- "blush": redder skin (cheeks, nose, around the mouth); "shade": darker skin (under the
  eyes, the folds).
`skin_colours` turns them into linear RGB vertex colours (N, 3) in [0, 1]: what Workbench
shows, and the base the Cycles/EEVEE skin shader adds its fine detail to.
"""

from __future__ import annotations

import numpy as np

from .head_geometry import smoothstep

# Share of the facial hair colour over the skin per style at full density, and the
# regions it covers (moustache, chin, jaw).
HAIR_COVER = {"none": 0.0, "stubble": 0.4, "moustache": 0.9, "goatee": 0.9, "full_beard": 0.92}
_REGIONS = {"none": (), "stubble": ("moustache", "chin", "jaw"), "moustache": ("moustache",),
            "goatee": ("moustache", "chin"), "full_beard": ("moustache", "chin", "jaw")}


def _bump(x, z, cx, cz, sx, sz):
    return np.exp(-((x - cx) / sx) ** 2 - ((z - cz) / sz) ** 2)


def _regions(face, x, y, z) -> dict[str, np.ndarray]:
    s, ax = face.s, np.abs(x)
    mz, mw = face.mz, face.mw
    front = smoothstep(0.2 * face.ry, -0.1 * face.ry, y)
    lip_top = mz + 1.9 * s.lip_upper
    top = np.minimum(face.tip_z - 0.05 * s.nose_size, lip_top + 0.075) - 0.05 * (ax / mw) ** 2
    low = mz + 0.01 - 0.08 * smoothstep(mw - 0.06, mw + 0.03, ax)
    moustache = ((1.0 - smoothstep(mw, mw + 0.09, ax)) * smoothstep(top + 0.01, top - 0.04, z)
                 * smoothstep(low - 0.04, low + 0.02, z) * front)
    below_lip = mz - 2.0 * s.lip_lower - 0.02
    chin = ((1.0 - smoothstep(0.1, 0.22, ax)) * smoothstep(below_lip + 0.01, below_lip - 0.05, z)
            * smoothstep(-1.25 * face.rz, -1.1 * face.rz, z) * front)
    # The jaw beard: below a line from beside the mouth up to the sideburns.
    t = np.clip((ax - (mw + 0.04)) / (0.95 * face.rx - (mw + 0.04)), 0.0, 1.0)
    line = (mz + 0.03) + t * (s.eye_height - 0.12 - (mz + 0.03))
    jaw = (smoothstep(line + 0.03, line - 0.05, z) * smoothstep(-1.3 * face.rz, -1.15 * face.rz, z)
           * smoothstep(0.35 * face.ry, 0.1 * face.ry, y) * smoothstep(0.05, 0.1, ax + 0.1))
    return {"moustache": moustache, "chin": chin, "jaw": jaw}


def skin_maps(face, co: np.ndarray) -> dict[str, np.ndarray]:
    """Masks (N,) float64 in [0, 1] over skin vertices `co` (N, 3); see the module docstring."""
    s = face.s
    x, y, z = co[:, 0], co[:, 1], co[:, 2]
    ax = np.abs(x)
    eh, er, sp = s.eye_height, s.eye_size, s.eye_spacing
    front = smoothstep(-0.1 * face.ry, -0.5 * face.ry, y)
    regions = _regions(face, x, y, z)
    hair = np.zeros(len(co))
    for name in _REGIONS[s.facial_hair]:
        hair = np.maximum(hair, regions[name])
    cheeks = _bump(ax, z, 0.33, eh - 0.22, 0.13, 0.11)
    nose = _bump(ax, z, 0.0, face.tip_z + 0.08, 0.12, 0.12)
    freckle = np.clip(cheeks + nose, 0.0, 1.0) * front * s.freckles
    forehead = smoothstep(eh + er + 0.1, eh + er + 0.16, z) * (1.0 - smoothstep(0.3, 0.5, ax))
    crow = _bump(ax, z, sp + er + 0.07, eh, 0.05, 0.07)
    under = _bump(ax, z, sp, eh - er - 0.035, 0.09, 0.03)
    wrinkle = np.clip(forehead + crow + 0.6 * under, 0.0, 1.0) * front * s.age
    mouth = _bump(ax, z, 0.0, face.mz, face.mw + 0.08, 0.09)
    blush = np.clip(cheeks + nose + 0.5 * mouth, 0.0, 1.0) * front
    shade = np.clip(under + 0.5 * _bump(ax, z, sp - 0.1, eh + 0.02, 0.05, 0.06), 0.0, 1.0) * front
    return {"hair": hair, "freckle": freckle, "wrinkle": wrinkle, "blush": blush,
            "shade": shade * (0.5 + 0.5 * s.age)}


def skin_colours(spec, maps: dict[str, np.ndarray], co: np.ndarray,
                 facial_hair: bool = True) -> np.ndarray:
    """Linear RGB (N, 3) of skin vertices `co` (N, 3) from their `maps` (N,) each: the skin
    colour, redder where blushing, darker in the shade, a little uneven (seeded by the
    spec), a little browner where freckled, under its facial hair (unless `facial_hair` is
    False: the Cycles/EEVEE shader draws the hairs itself)."""
    rng = np.random.default_rng([spec.seed, 0x5C1])
    skin = np.asarray(spec.skin_colour, dtype=np.float64)
    n = len(co)
    wave = np.zeros(n)
    for _ in range(4):   # slow unevenness: a few random plane waves
        k = rng.normal(size=3) * 6.0
        wave += np.sin(co @ k + rng.uniform(0, 2 * np.pi))
    colour = skin[None, :] * (1.0 + 0.025 * wave)[:, None]
    colour = colour * (1.0 + maps["blush"][:, None] * np.array([0.1, -0.07, -0.05]))
    colour = colour * (1.0 - maps["shade"][:, None] * np.array([0.16, 0.2, 0.14]))
    colour = colour * (1.0 - 0.25 * maps["freckle"][:, None] * np.array([0.3, 0.5, 0.6]))
    cover = HAIR_COVER[spec.facial_hair] * maps["hair"][:, None] * float(facial_hair)
    beard = np.asarray(spec.facial_hair_colour, dtype=np.float64)
    colour = colour * (1.0 - cover) + beard[None, :] * cover
    return np.clip(colour, 0.0, 1.0)
