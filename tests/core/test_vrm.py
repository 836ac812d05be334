"""A glTF file's JSON and a VRM file's mouth expressions (pure; files written here)."""

from __future__ import annotations

import json
import struct

import pytest

from lipsync.core.errors import InputError
from lipsync.core.mesh.vrm import mouth_expressions, read_gltf_json, target_names


def glb(doc: dict, binary: bytes = b"") -> bytes:
    """A glTF binary: header, JSON chunk (space-padded), optional BIN chunk."""
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text
    if binary:
        binary += b"\0" * (-len(binary) % 4)
        body += struct.pack("<II", len(binary), 0x004E4942) + binary
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def mesh(name, n_targets, names=None):
    targets = [{"POSITION": i} for i in range(n_targets)]
    data = {"name": name, "primitives": [{"attributes": {}, "targets": targets}]}
    if names is not None:
        data["extras"] = {"targetNames": names}
    return data


DOC = {"asset": {"version": "2.0"},
       "accessors": [{"name": "acc_a"}, {}, {}],
       "meshes": [mesh("Body", 0), mesh("Face", 3, ["Open", "Open", ""])],
       "nodes": [{"name": "Body", "mesh": 0}, {"name": "FaceNode", "mesh": 1}]}


def test_reads_glb_vrm_and_gltf(tmp_path):
    for suffix in (".glb", ".vrm"):
        path = tmp_path / f"c{suffix}"
        path.write_bytes(glb(DOC, b"\1\2\3"))
        assert read_gltf_json(path)["meshes"][1]["name"] == "Face"
    text = tmp_path / "c.gltf"
    text.write_text(json.dumps(DOC))
    assert read_gltf_json(text) == DOC


@pytest.mark.parametrize("content, message", [
    (b"glTF\x01\0\0\0", "truncated"), (b"PK\3\4 not gltf at all", "magic 'glTF'")])
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.vrm"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_gltf_json(path)
    with pytest.raises(InputError, match="does not exist"):
        read_gltf_json(tmp_path / "none.glb")


def test_target_names_follow_blenders_importer():
    # targetNames first (duplicates get .001), an empty name falls back to target_<i>
    assert target_names(DOC, 1) == ["Open", "Open.001", "target_2"]
    doc = {**DOC, "meshes": [mesh("M", 2)]}
    assert target_names(doc, 0) == ["acc_a", "target_1"]      # the accessor's name
    assert target_names(DOC, 0) == []


def test_vrm1_expressions():
    doc = {**DOC, "extensions": {"VRMC_vrm": {"expressions": {"preset": {
        "aa": {"morphTargetBinds": [{"node": 1, "index": 0, "weight": 1.0}]},
        "ou": {"morphTargetBinds": [{"node": 1, "index": 2, "weight": 0.5}]},
        "blink": {"morphTargetBinds": [{"node": 1, "index": 1, "weight": 1.0}]}}}}}}
    assert mouth_expressions(doc) == {"Face": {"aa": {"Open": 1.0}, "ou": {"target_2": 0.5}}}
    assert mouth_expressions(DOC) is None


def test_vrm0_expressions_weights_are_percent():
    doc = {**DOC, "extensions": {"VRM": {"blendShapeMaster": {"blendShapeGroups": [
        {"presetName": "a", "binds": [{"mesh": 1, "index": 1, "weight": 100}]},
        {"presetName": "O", "binds": [{"mesh": 1, "index": 0, "weight": 40}]},
        {"presetName": "joy", "binds": [{"mesh": 1, "index": 2, "weight": 100}]}]}}}}
    assert mouth_expressions(doc) == {"Face": {"aa": {"Open.001": 1.0}, "oh": {"Open": 0.4}}}


def test_a_bind_to_a_missing_target_is_an_error():
    doc = {**DOC, "extensions": {"VRMC_vrm": {"expressions": {"preset": {
        "aa": {"morphTargetBinds": [{"node": 1, "index": 7, "weight": 1.0}]}}}}}}
    with pytest.raises(InputError, match="'aa' binds morph target 7 of mesh 1"):
        mouth_expressions(doc)
