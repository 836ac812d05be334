"""Viseme shape key names: this project's factory visemes, and the naming schemes of other
tools, sorted into keys that open the mouth, other mouth keys, and the rest.

The schemes: Oculus / Ready Player Me (`viseme_aa`...), VRChat (`vrc.v_aa`...), ARKit
(`jawOpen`, `mouthFunnel`...), VRM (`aa ih ou ee oh`), VRoid (`Fcl_MTH_A`...), MMD
(`あ`...), the factory's `VISEMES`, and generic names with mouth/lip/jaw/viseme/open;
never eyes, blinks, brows, cheeks, nose, tongue or teeth keys.
"""

from __future__ import annotations

import re

VISEMES = ("neutral", "closed", "open", "wide", "round", "lip_teeth", "tongue_teeth")
"""The factory characters' visemes, one shape key each (neutral is the basis)."""

OPENNESS = {"neutral": 0.0, "closed": 0.0, "open": 1.0, "wide": 0.4, "round": 0.35,
            "lip_teeth": 0.15, "tongue_teeth": 0.25}
"""How far each factory viseme opens the mouth, 0 (lips shut) .. 1 (jaw fully open)."""

OPEN = "open"
"""Role of a shape key that opens the mouth (the jaw or the lips part)."""
MOUTH = "mouth"
"""Role of a shape key that moves the mouth some other way (round, smile, closed...)."""

_FACTORY = {name.lower(): (OPEN if name == "open" else MOUTH) for name in VISEMES[1:]}
_IGNORE = re.compile(r"blink|wink|brow|eye|lid|squint|cheek|nose|sneer|tongue|teeth|tooth|"
                     r"^fcl_(all|eye|brw|ha)_|_sil$|^sil$", re.IGNORECASE)
_OPENING = [re.compile(p, re.IGNORECASE) for p in (
    r"^(viseme_|vrc\.v_)(aa|e|ee|ih|i|oh|o|ou|u|dd|kk|nn|rr|ss|ch|th)$",   # Oculus, VRChat
    r"jaw_?open|mouth_?open|open_?mouth|^open$",                          # ARKit, generic
    r"^fcl_mth_[aiueo]$",                                                 # VRoid
    r"^(aa|ih|ou|ee|oh|a|i|u|e|o|あ|い|う|え|お)$",                          # VRM, MMD
)]
_MOVING = re.compile(r"^(viseme_|vrc\.v_|fcl_mth_)|mouth|lip|jaw|viseme|open|smile|frown|"
                     r"pucker|funnel", re.IGNORECASE)


def classify_shape_key(name: str) -> str | None:
    """`OPEN`, `MOUTH` or None (not a mouth key) for a shape key called `name`."""
    key = name.strip()
    if key.lower() in _FACTORY:
        return _FACTORY[key.lower()]
    if _IGNORE.search(key):
        return None
    if any(p.search(key) for p in _OPENING):
        return OPEN
    return MOUTH if _MOVING.search(key) else None


def mouth_shape_keys(names) -> tuple[list[str], list[str]]:
    """(opening keys, other mouth keys) among shape key `names`, in their order."""
    roles = {name: classify_shape_key(name) for name in names}
    return ([n for n, r in roles.items() if r == OPEN],
            [n for n, r in roles.items() if r == MOUTH])
