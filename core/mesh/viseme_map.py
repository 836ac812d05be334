"""A character's own mouth controls for each of the factory's seven visemes (no bpy).

A `VisemeMap` holds, for every viseme of `VISEMES` (rows; "neutral" is the rest pose, its
row all zero), the weights in [0, 1] of the character's own shape keys (columns) or, for
a character whose mouth is a jaw bone, the jaw's opening in [0, 1]. Driving it from a
viseme track (F, 7) is a product: key values (F, K) = track @ matrix, clipped to [0, 1].

Where the weights come from:
- a naming scheme of `SCHEMES` (factory, oculus, vrchat, arkit, vroid, vrm, mmd), its key
  names matched to the character's by `normalise_key` (case, separators and Left/Right
  against _L/_R do not matter); keys the character lacks are left out;
- a VRM file's own expression table (vowels aa ih ou ee oh -> shape keys, `core.mesh.vrm`),
  read through the "vrm" scheme;
- the user's JSON table ``{"open": {"jawOpen": 0.7}, "round": {"mouthFunnel": 0.6}}``
  (`load_table`), key names as on the character;
- "generic": one opening key by name (`viseme_names`: MouthOpen, open_mouth...) opened
  by each viseme's `OPENNESS`; "jaw": a jaw bone opened by `OPENNESS`.
`detect_map` takes the first that fits of: VRM expressions, the scheme that matches the
most keys, generic, jaw; none is an InputError that lists the keys and says how to map them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError
from .viseme_names import OPENNESS, VISEMES, mouth_shape_keys

Table = Mapping[str, Mapping[str, float]]   # viseme -> {shape key (or expression): weight}

SCHEMES: dict[str, dict[str, dict[str, float]]] = {
    "factory": {v: {v: 1.0} for v in VISEMES[1:]},
    "oculus": {"closed": {"viseme_PP": 1.0}, "open": {"viseme_aa": 1.0},
               "wide": {"viseme_I": 0.6, "viseme_E": 0.4},
               "round": {"viseme_U": 0.6, "viseme_O": 0.4},
               "lip_teeth": {"viseme_FF": 1.0}, "tongue_teeth": {"viseme_TH": 1.0}},
    "vrchat": {"closed": {"vrc.v_pp": 1.0}, "open": {"vrc.v_aa": 1.0},
               "wide": {"vrc.v_ih": 0.6, "vrc.v_e": 0.4},
               "round": {"vrc.v_ou": 0.6, "vrc.v_oh": 0.4},
               "lip_teeth": {"vrc.v_ff": 1.0}, "tongue_teeth": {"vrc.v_th": 1.0}},
    "arkit": {"closed": {"mouthPressLeft": 0.6, "mouthPressRight": 0.6},
              "open": {"jawOpen": 0.7, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3},
              "wide": {"jawOpen": 0.15, "mouthStretchLeft": 0.5, "mouthStretchRight": 0.5,
                       "mouthSmileLeft": 0.3, "mouthSmileRight": 0.3},
              "round": {"jawOpen": 0.2, "mouthFunnel": 0.6, "mouthPucker": 0.5},
              "lip_teeth": {"jawOpen": 0.05, "mouthRollLower": 0.6,
                            "mouthUpperUpLeft": 0.3, "mouthUpperUpRight": 0.3},
              "tongue_teeth": {"jawOpen": 0.2, "tongueOut": 0.5}},
    "vroid": {"open": {"Fcl_MTH_A": 1.0}, "wide": {"Fcl_MTH_I": 0.6, "Fcl_MTH_E": 0.4},
              "round": {"Fcl_MTH_U": 0.6, "Fcl_MTH_O": 0.4},
              "lip_teeth": {"Fcl_MTH_I": 0.3, "Fcl_MTH_U": 0.2},
              "tongue_teeth": {"Fcl_MTH_E": 0.3, "Fcl_MTH_A": 0.2}},
    "vrm": {"open": {"aa": 1.0}, "wide": {"ih": 0.6, "ee": 0.4}, "round": {"ou": 0.6, "oh": 0.4},
            "lip_teeth": {"ih": 0.3, "ou": 0.2}, "tongue_teeth": {"ee": 0.3, "aa": 0.2}},
    "mmd": {"open": {"あ": 1.0}, "wide": {"い": 0.6, "え": 0.4}, "round": {"う": 0.6, "お": 0.4},
            "lip_teeth": {"い": 0.3, "う": 0.2}, "tongue_teeth": {"え": 0.3, "あ": 0.2}},
}
"""Naming scheme -> viseme -> {the scheme's key name: weight}; "vrm" names expressions."""
GENERIC, JAW, USER = "generic", "jaw", "user"
CHOICES = ("auto", *SCHEMES, GENERIC, JAW)
"""What `--visemes` takes besides a JSON table file."""
_TABLE_HELP = ('give a table: --visemes table.json with {"open": {"YourOpenKey": 1.0}, '
               '"round": {"YourRoundKey": 0.8}} (visemes: ' + ", ".join(VISEMES[1:]) +
               "; weights 0-1 of the character's shape keys), or --visemes SCHEME ("
               + ", ".join(SCHEMES) + ")")


def normalise_key(name: str) -> str:
    """A shape key name compared across tools: lower case, letters and digits only, a
    trailing left/right as l/r (``mouthSmile_L`` == ``mouthSmileLeft``)."""
    key = "".join(c for c in name.lower() if c.isalnum())
    return re.sub(r"(left|right)$", lambda m: m.group(1)[0], key)


@dataclass(frozen=True, eq=False)
class VisemeMap:
    """The character's controls per viseme: `matrix` (7, K) weights of shape keys `keys`
    (K,) in [0, 1], rows in `VISEMES` order; or (scheme "jaw") `jaw` (7,) openings.
    `missing`: keys of the scheme the character lacks (left out)."""

    scheme: str
    keys: tuple[str, ...] = ()
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((len(VISEMES), 0)))
    jaw: np.ndarray | None = None
    missing: tuple[str, ...] = ()

    def key_values(self, visemes: np.ndarray) -> np.ndarray:
        """(F, K) float64 shape key values in [0, 1] from viseme weights (F, 7)."""
        return np.clip(_track(visemes) @ self.matrix, 0.0, 1.0)

    def jaw_values(self, visemes: np.ndarray) -> np.ndarray:
        """(F,) float64 jaw opening in [0, 1] from viseme weights (F, 7) (zeros without
        a jaw)."""
        track = _track(visemes)
        return np.zeros(len(track)) if self.jaw is None else np.clip(track @ self.jaw, 0, 1)

    def table(self) -> dict:
        """{viseme: {key: weight}} of the non-zero weights, or {viseme: {"jaw": opening}}."""
        if self.jaw is not None:
            return {v: {JAW: float(w)} for v, w in zip(VISEMES, self.jaw) if w > 0}
        return {v: {k: float(w) for k, w in zip(self.keys, row) if w > 0}
                for v, row in zip(VISEMES, self.matrix) if row.any()}

    def opening(self) -> tuple[str, ...]:
        """The shape keys of the "open" viseme's row (the keys that open the mouth); none
        for a jaw."""
        return () if self.jaw is not None else tuple(self.table().get("open", {}))

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "table": self.table(), "missing": list(self.missing)}


def _track(visemes: np.ndarray) -> np.ndarray:
    track = np.asarray(visemes, dtype=np.float64)
    if track.ndim != 2 or track.shape[1] != len(VISEMES) or not np.isfinite(track).all():
        raise InputError(f"viseme weights must be finite, shape (F, {len(VISEMES)}); got "
                         f"{track.shape}")
    return track


def _from_rows(scheme: str, rows: Table, missing=()) -> VisemeMap:
    keys = tuple(dict.fromkeys(k for row in rows.values() for k in row))
    matrix = np.zeros((len(VISEMES), len(keys)))
    for viseme, row in rows.items():
        for key, weight in row.items():
            matrix[VISEMES.index(viseme), keys.index(key)] += weight
    return VisemeMap(scheme, keys, np.clip(matrix, 0.0, 1.0), missing=tuple(missing))


def _match(names: Sequence[str]) -> dict[str, str]:
    """normalised name -> the character's first key of that name."""
    found: dict[str, str] = {}
    for name in names:
        found.setdefault(normalise_key(name), name)
    return found


def map_from_scheme(scheme: str, key_names: Sequence[str],
                    vrm: Mapping[str, Mapping[str, float]] | None = None) -> VisemeMap | None:
    """The map of naming scheme `scheme` on a character with shape keys `key_names`, or
    None when no key of the scheme's "open" viseme is there. vrm: the VRM file's vowel
    expressions {vowel: {shape key: weight}} (scheme "vrm" reads them instead of names)."""
    if scheme not in SCHEMES:
        raise InputError(f"unknown viseme scheme '{scheme}': use one of {', '.join(CHOICES)} "
                         "or a JSON table file")
    if scheme == "vrm" and vrm is not None:
        rows: dict[str, dict[str, float]] = {}
        for viseme, expressions in SCHEMES["vrm"].items():
            row = rows.setdefault(viseme, {})
            for expression, weight in expressions.items():
                for key, w in (vrm.get(expression) or {}).items():
                    row[key] = row.get(key, 0.0) + weight * w
        present = set(key_names)
        absent = sorted({k for row in rows.values() for k in row} - present)
        rows = {v: {k: w for k, w in row.items() if k in present} for v, row in rows.items()}
        return _from_rows("vrm", rows, absent) if rows.get("open") else None
    by_name = _match(key_names)
    rows, missing = {}, []
    for viseme, row in SCHEMES[scheme].items():
        for key, weight in row.items():
            mine = by_name.get(normalise_key(key))
            if mine is None:
                missing.append(key)
            else:
                rows.setdefault(viseme, {})[mine] = weight
    return _from_rows(scheme, rows, dict.fromkeys(missing)) if rows.get("open") else None


def generic_map(key_names: Sequence[str]) -> VisemeMap | None:
    """One opening key found by name, opened by each viseme's OPENNESS; None without one."""
    opening, _ = mouth_shape_keys(key_names)
    if not opening:
        return None
    return _from_rows(GENERIC, {v: {opening[0]: OPENNESS[v]} for v in VISEMES[1:]
                                if OPENNESS[v] > 0})


def jaw_map() -> VisemeMap:
    """A jaw bone opened by each viseme's OPENNESS (1 = the full opening turn)."""
    return VisemeMap(JAW, jaw=np.array([OPENNESS[v] for v in VISEMES], np.float64))


def detect_map(key_names: Sequence[str], has_jaw: bool = False,
               vrm: Mapping[str, Mapping[str, float]] | None = None,
               character: str = "the character") -> VisemeMap:
    """The map that fits the character's shape keys (see the module docstring for the
    order); InputError naming the keys found when none fits."""
    if vrm is not None:
        found = map_from_scheme("vrm", key_names, vrm)
        if found is not None:
            return found
    fits = [m for m in (map_from_scheme(s, key_names) for s in SCHEMES) if m is not None]
    if fits:
        return max(fits, key=lambda m: len(m.keys))    # the first of the best, in order
    found = generic_map(key_names)
    if found is not None:
        return found
    if has_jaw:
        return jaw_map()
    opening, other = mouth_shape_keys(key_names)
    listed = ", ".join(key_names) if key_names else "none"
    raise InputError(f"{character} has no mouth controls this tool knows: shape keys: "
                     f"{listed}" + (f" (mouth keys among them: {', '.join(other)}, none "
                                    "opening the mouth)" if other and not opening else "")
                     + f"; no jaw bone. To make it talk, {_TABLE_HELP}.")


def opening_keys(key_names: Sequence[str]) -> tuple[str, ...]:
    """The shape keys that open the mouth of a character with shape keys `key_names`: the
    "open" row of the map `detect_map` fits to them (`VisemeMap.opening`); () when no map
    of shape keys fits."""
    try:
        return detect_map(key_names).opening()
    except InputError:
        return ()


def load_table(path: str | Path) -> dict[str, dict[str, float]]:
    """The user's table {viseme: {shape key: weight in [0, 1]}} from a JSON file; an
    InputError that says what is wrong otherwise."""
    path = Path(path)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"viseme table '{path}' does not exist; --visemes takes a JSON "
                         f"table file or one of {', '.join(CHOICES)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"viseme table '{path}' is not JSON ({exc})") from None
    if not isinstance(table, dict) or not table:
        raise InputError(f"viseme table '{path}' must be a JSON object; {_TABLE_HELP}")
    for viseme, row in table.items():
        if viseme == "neutral":
            raise InputError(f"viseme table '{path}': 'neutral' is the rest pose (every key "
                             "at 0); leave it out")
        if viseme not in VISEMES:
            raise InputError(f"viseme table '{path}': unknown viseme '{viseme}'; the visemes "
                             f"are {', '.join(VISEMES[1:])}")
        if not isinstance(row, dict) or not all(
                isinstance(k, str) and isinstance(w, (int, float)) and not isinstance(w, bool)
                and 0 <= w <= 1 for k, w in row.items()):
            raise InputError(f"viseme table '{path}': '{viseme}' must map shape key names to "
                             f"weights from 0 to 1, got {row!r}")
    return {v: {k: float(w) for k, w in row.items()} for v, row in table.items()}


def map_from_table(table: Table, key_names: Sequence[str],
                   character: str = "the character") -> VisemeMap:
    """The user's table on the character: its key names as written, else by
    `normalise_key`; InputError naming keys the character does not have."""
    exact, by_name = set(key_names), _match(key_names)
    rows, unknown = {}, []
    for viseme, row in table.items():
        for key, weight in row.items():
            mine = key if key in exact else by_name.get(normalise_key(key))
            if mine is None:
                unknown.append(key)
            else:
                rows.setdefault(viseme, {})[mine] = weight
    if unknown:
        raise InputError(f"the viseme table names shape keys {character} does not have: "
                         f"{', '.join(dict.fromkeys(unknown))} (its keys: "
                         f"{', '.join(key_names) or 'none'})")
    return _from_rows(USER, rows)


def choose_map(choice: str, key_names: Sequence[str], has_jaw: bool = False,
               vrm: Mapping[str, Mapping[str, float]] | None = None,
               character: str = "the character") -> VisemeMap:
    """The map `--visemes` asks for: "auto" (`detect_map`), a scheme of `SCHEMES`,
    "generic", "jaw", or a JSON table file; InputError when it does not fit."""
    if choice in ("", "auto"):
        return detect_map(key_names, has_jaw, vrm, character)
    if choice == JAW:
        if not has_jaw:
            raise InputError(f"--visemes jaw: {character} has no jaw bone (an armature bone "
                             "named like 'jaw' with a vertex group on the mesh)")
        return jaw_map()
    if choice in SCHEMES or choice == GENERIC:
        found = map_from_scheme(choice, key_names, vrm) if choice in SCHEMES \
            else generic_map(key_names)
        if found is None:
            raise InputError(f"--visemes {choice}: {character} has no key that opens the "
                             f"mouth in that scheme (its keys: {', '.join(key_names) or 'none'})"
                             f"; {_TABLE_HELP}")
        return found
    if not choice.lower().endswith(".json"):
        raise InputError(f"--visemes takes one of {', '.join(CHOICES)} or a JSON table file "
                         f"(*.json), got '{choice}'")
    return map_from_table(load_table(choice), key_names, character)
