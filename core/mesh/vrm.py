"""A glTF file's JSON, and the mouth expressions of a VRM file (no bpy).

A .vrm file is a glTF binary (.glb) whose JSON carries the VRM extension:
- VRM 0.x: ``extensions.VRM.blendShapeMaster.blendShapeGroups``, each with a `presetName`
  (the mouth's: a, i, u, e, o) and `binds` of {mesh index, morph target index, weight
  0-100};
- VRM 1.0: ``extensions.VRMC_vrm.expressions.preset`` (the mouth's: aa, ih, ou, ee, oh),
  each with `morphTargetBinds` of {node index, morph target index, weight 0-1}.

`mouth_expressions` reads either into one form: per glTF mesh, per vowel expression
(aa ih ou ee oh), the weight of each shape key, named as Blender's glTF importer names
them (`target_names`), so the keys can be found on the imported object.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from ..errors import InputError

VOWELS = ("aa", "ih", "ou", "ee", "oh")
"""The VRM 1.0 mouth expressions (Japanese a, i, u, e, o)."""
_VRM0_PRESETS = {"a": "aa", "i": "ih", "u": "ou", "e": "ee", "o": "oh"}
_GLB_MAGIC, _JSON_CHUNK = b"glTF", 0x4E4F534A
BINARY_SUFFIXES = (".glb", ".vrm")


def read_gltf_json(path: str | Path) -> dict:
    """The JSON document of a .gltf file, or of a .glb / .vrm binary's first chunk.

    Raises InputError when the file is missing or not glTF 2.0."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"'{path}' does not exist: give a .blend, .glb, .gltf or .vrm file.")
    data = path.read_bytes()
    if data[:4] == _GLB_MAGIC:
        if len(data) < 20:
            raise InputError(f"'{path}' is a truncated glTF binary.")
        version, _, length, kind = struct.unpack_from("<IIII", data, 4)
        if version != 2 or kind != _JSON_CHUNK or 20 + length > len(data):
            raise InputError(f"'{path}' is not a glTF 2.0 binary (version {version}); "
                             "export it again as glTF 2.0.")
        text = data[20:20 + length].decode("utf-8")
    elif path.suffix.lower() in BINARY_SUFFIXES:
        raise InputError(f"'{path}' does not start like a glTF binary (magic 'glTF').")
    else:
        text = data.decode("utf-8-sig")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"'{path}': its glTF JSON does not parse ({exc}).") from exc
    if not isinstance(doc, dict) or "asset" not in doc:
        raise InputError(f"'{path}' holds no glTF document (no 'asset').")
    return doc


def mesh_name(doc: dict, mesh: int) -> str:
    """The Blender mesh name the glTF importer gives mesh `mesh`."""
    return doc["meshes"][mesh].get("name") or f"Mesh_{mesh}"


def target_names(doc: dict, mesh: int) -> list[str | None]:
    """Shape key names of mesh `mesh`'s morph targets, as Blender's glTF importer names
    them: ``extras.targetNames``, else the POSITION accessor's name, else ``target_<i>``,
    made unique with ``.001``...; None for a target that moves no position (no key)."""
    data = doc["meshes"][mesh]
    primitives = [p for p in data.get("primitives", []) if p.get("targets")]
    if not primitives:
        return []
    given = (data.get("extras") or {}).get("targetNames") or []
    used, names = {"Basis"}, []
    for i, target in enumerate(primitives[0]["targets"]):
        if not any(i < len(p["targets"]) and "POSITION" in p["targets"][i]
                   for p in data["primitives"] if p.get("targets")):
            names.append(None)
            continue
        name = str(given[i]) if i < len(given) and str(given[i]) else None
        accessors = doc.get("accessors") or []
        if name is None and "POSITION" in target and target["POSITION"] < len(accessors):
            name = accessors[target["POSITION"]].get("name")
        name = (name or f"target_{i}")[:63]
        unique, count = name, 0
        while unique in used:
            count += 1
            unique = f"{name}.{count:03d}"
        used.add(unique)
        names.append(unique)
    return names


def _binds(doc: dict) -> dict[str, list[tuple[int, int, float]]] | None:
    """Vowel -> [(mesh, target, weight 0-1)], or None when the file has no VRM table."""
    extensions = doc.get("extensions") or {}
    if "VRMC_vrm" in extensions:
        preset = (extensions["VRMC_vrm"].get("expressions") or {}).get("preset") or {}
        nodes = doc.get("nodes") or []
        out = {}
        for vowel in VOWELS:
            binds = (preset.get(vowel) or {}).get("morphTargetBinds") or []
            out[vowel] = [(int(nodes[b["node"]]["mesh"]), int(b["index"]),
                           float(b.get("weight", 1.0))) for b in binds
                          if b.get("node") is not None and b["node"] < len(nodes)
                          and nodes[b["node"]].get("mesh") is not None]
        return out
    if "VRM" in extensions:
        groups = (extensions["VRM"].get("blendShapeMaster") or {}).get("blendShapeGroups") or []
        out = {vowel: [] for vowel in VOWELS}
        for group in groups:
            vowel = _VRM0_PRESETS.get(str(group.get("presetName", "")).lower())
            if vowel is None:
                continue
            out[vowel] += [(int(b["mesh"]), int(b["index"]), float(b.get("weight", 100)) / 100)
                           for b in group.get("binds") or []]
        return out
    return None


def mouth_expressions(doc: dict) -> dict[str, dict[str, dict[str, float]]] | None:
    """{Blender mesh name: {vowel: {shape key name: weight in [0, 1]}}} of a VRM file's
    mouth expressions (VRM 0.x or 1.0), or None when `doc` carries no VRM extension.

    InputError when a bind names a mesh or morph target the file does not have."""
    binds = _binds(doc)
    if binds is None:
        return None
    meshes = doc.get("meshes") or []
    out: dict[str, dict[str, dict[str, float]]] = {}
    for vowel, entries in binds.items():
        for mesh, target, weight in entries:
            names = target_names(doc, mesh) if 0 <= mesh < len(meshes) else []
            if not 0 <= target < len(names) or names[target] is None:
                raise InputError(f"the VRM expression '{vowel}' binds morph target {target} "
                                 f"of mesh {mesh}, which the file does not have: repair the "
                                 "file's expressions, or give --visemes table.json.")
            keys = out.setdefault(mesh_name(doc, mesh), {}).setdefault(vowel, {})
            keys[names[target]] = min(1.0, keys.get(names[target], 0.0) + max(weight, 0.0))
    return out
