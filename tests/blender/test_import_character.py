"""Importing a character made outside the factory (real bpy): a glTF export with Oculus
visemes, a VRM-like .glb whose VRM 1.0 table maps the vowels to odd key names, an ARKit
face in a .blend, a jaw bone, and a face without mouth controls. The clips must talk with
the speech, carry keypoints on the rendered lips, and read back as factory clips."""

from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import plain_heads as ph  # noqa: E402
from lipsync.addon.factory.clip import CLIP_MARKER, ClipOptions  # noqa: E402
from lipsync.addon.factory.dataset import write_manifest  # noqa: E402
from lipsync.addon.factory.import_character import (CharacterSource, drive,  # noqa: E402
                                                     load_character)
from lipsync.addon.factory.import_clip import make_imported_clip  # noqa: E402
from lipsync.addon.blender.projection import MouthProjector  # noqa: E402
from lipsync.core.dataset.plan import plan_clips  # noqa: E402
from lipsync.core.dataset.reader import UNLABELLED, ClipSet, read_manifest  # noqa: E402
from lipsync.core.errors import InputError  # noqa: E402
from lipsync.core.evaluate.run import load_case  # noqa: E402
from lipsync.core.preprocess.keypoints import INNER, KeypointTrack, contour_heights  # noqa: E402
from lipsync.core.speech import jaw_open  # noqa: E402

pytestmark = pytest.mark.blender
OPTIONS = ClipOptions(engine="BLENDER_WORKBENCH", max_frames=20, resolution=96, crop_size=64,
                      full_frame_share=1.0, fps=25)
VRM_TABLE = {"aa": {"Kuchi_Big": 1.0}, "ih": {"Kuchi_Thin": 1.0}, "ou": {"Kuchi_Round": 1.0},
             "ee": {"Kuchi_Mid": 1.0}, "oh": {"Kuchi_Pout": 0.8, "Kuchi_Big": 0.2}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("characters")
    odd = ph.export_glb(folder / "odd.glb", ph.ODD)
    return {"oculus": CharacterSource(str(ph.export_glb(folder / "oculus.glb", ph.OCULUS))),
            "vrm": CharacterSource(str(ph.add_vrm1_expressions(odd, folder / "odd.vrm",
                                                               VRM_TABLE))),
            "arkit": CharacterSource(str(ph.save_blend(folder / "arkit.blend", ph.ARKIT)),
                                     object="Head"),
            "odd": CharacterSource(str(odd)),
            "plain": CharacterSource(str(ph.export_glb(folder / "plain.glb", {})))}


def _load(source):
    scene = ph.fresh_scene()
    return scene, load_character(scene, source)


@pytest.mark.parametrize("kind, scheme, keys", [
    ("oculus", "oculus", {"viseme_aa", "viseme_O", "viseme_PP"}),
    ("vrm", "vrm", {"Kuchi_Big", "Kuchi_Round", "Kuchi_Pout"}),
    ("arkit", "arkit", {"jawOpen", "mouthFunnel", "mouthSmileLeft"})])
def test_the_mapping_is_found_from_the_file(files, kind, scheme, keys):
    scene, character = _load(files[kind])
    assert character.viseme_map.scheme == scheme
    assert keys <= set(character.viseme_map.keys)
    assert character.object.name == "Head"
    assert [o.name for o in scene.objects] == ["Head"]     # no camera, lamp or hat
    np.testing.assert_allclose(character.forward, [0, -1, 0], atol=0.05)
    assert 0.045 <= character.width <= 0.075                # the lips: 5-6 cm wide
    assert character.mouth_source.startswith("shape keys")


def test_a_users_table_maps_keys_no_scheme_knows(files, tmp_path):
    with pytest.raises(InputError, match=r"no mouth controls.*Kuchi_Big.*--visemes table\.json"):
        _load(files["odd"])
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"open": {"Kuchi_Big": 1.0}, "round": {"Kuchi_Round": 0.9}}))
    _, character = _load(CharacterSource(files["odd"].path, visemes=str(table)))
    assert character.viseme_map.scheme == "user"
    assert character.viseme_map.table() == {"open": {"Kuchi_Big": 1.0},
                                            "round": {"Kuchi_Round": 0.9}}


def test_no_mouth_controls_is_an_error_naming_what_was_found(files):
    with pytest.raises(InputError, match=r"'Head' has no mouth controls.*shape keys: none.*"
                                         r"no jaw bone.*--visemes table\.json"):
        _load(files["plain"])
    with pytest.raises(InputError, match="has no mesh object 'Face'.*meshes: Head, Hat"):
        _load(CharacterSource(files["arkit"].path, object="Face"))


def _redness(pixels: np.ndarray) -> np.ndarray:
    """(N,) (R - G) / R of RGB pixels (N, 3): about 0.15 on this skin, over 0.6 on the lips."""
    rgb = pixels.astype(float)
    return (rgb[:, 0] - rgb[:, 1]) / np.maximum(rgb[:, 0], 1.0)


def _inner_opening(track: KeypointTrack) -> np.ndarray:
    return contour_heights(track.points[:, 0], INNER)


def test_a_jaw_bone_opens_the_mouth_with_the_speech(tmp_path):
    scene = ph.fresh_scene()
    face = ph.face_object("Face", None, scene)
    arm = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    bone = arm.data.edit_bones.new("Jaw")
    bone.head, bone.tail = (0, 0.0, ph.MOUTH_Z), (0, -0.06, ph.MOUTH_Z - 0.02)
    bpy.ops.object.mode_set(mode="OBJECT")
    lower = [int(i) for i in np.flatnonzero(ph._grid()[2])]
    group = face.vertex_groups.new(name="Jaw")
    group.add(lower, 1.0, "REPLACE")
    face.modifiers.new("Armature", "ARMATURE").object = arm
    blend = tmp_path / "jaw_face.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    scene, character = _load(CharacterSource(str(blend)))
    assert character.viseme_map.scheme == "jaw" and character.jaw[1] == "Jaw"
    track = np.zeros((3, 7))
    track[:, 0] = [1, 0, 1]
    track[1, 2] = 1.0                                            # open at frame 2
    drive(character, track, 1)
    camera = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    camera.location, camera.rotation_euler = (0, -0.6, ph.MOUTH_Z), (np.pi / 2, 0, 0)
    scene.collection.objects.link(camera)
    scene.camera = camera
    projector = MouthProjector(scene, character.object, camera)
    points = np.stack([projector.project(f)[0] for f in (1, 2, 3)])
    opening = contour_heights(points, INNER)
    assert opening[1] > opening[0] + 0.2 and opening[2] == pytest.approx(opening[0]), opening


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["oculus", "vrm", "arkit"])
def test_clips_talk_with_the_speech_and_read_back(files, tmp_path, kind):
    plan = plan_clips(1, seed=5)[0]
    folder = make_imported_clip(plan, files[kind], tmp_path, OPTIONS)
    meta = json.loads((folder / CLIP_MARKER).read_text())
    assert meta["labels"] == "matte" and meta["character"]["visemes"]["scheme"] == kind
    n = meta["frames"]
    talking = KeypointTrack.load(folder / "keypoints_talking.npz")
    neutral = KeypointTrack.load(folder / "keypoints_neutral.npz")
    assert talking.visible.all() and neutral.visible.all()
    # the mouth opens with the speech, and stays shut in the neutral render
    opening = _inner_opening(talking)
    expected = jaw_open(np.load(folder / "visemes.npy"))
    assert np.corrcoef(opening, expected)[0, 1] > 0.7, (opening.round(2), expected.round(2))
    rest = _inner_opening(neutral)
    assert np.ptp(rest) < 1e-3 and rest.max() < 0.2 and opening.max() > rest.max() + 0.15
    # the keypoints lie on the rendered lips: red there (R well above G), skin above the mouth
    frames = np.load(folder / "frames.npz")
    lips, skin = [], []
    for image, points in zip(frames["neutral"], neutral.points[:, 0]):
        middle = (points[[1, 2, 3, 4, 5, 7, 8, 9, 10, 11]]
                  + points[[13, 14, 15, 16, 17, 19, 20, 21, 22, 23]]) / 2
        lips.append(_redness(image[np.rint(middle[:, 1]).astype(int),
                                   np.rint(middle[:, 0]).astype(int)]))
        above = points[24] - [0, 0.6 * (points[6, 0] - points[0, 0])]
        skin.append(_redness(image[int(above[1]), int(above[0])][None]))
    lips = np.concatenate(lips)
    assert np.median(lips) > 0.5 and np.mean(lips > 0.3) >= 0.75 and np.max(skin) < 0.2, \
        (lips[:10], skin[0])
    labels = frames["labels"]
    assert set(np.unique(labels)) == {0, UNLABELLED}
    # the factory's reader and the evaluation read the clip
    write_manifest(tmp_path, [plan])
    (record,) = read_manifest(tmp_path)
    assert record["family"] == plan.family and record["frames"] == n
    clips = ClipSet(tmp_path, split=record["split"], size=32)
    assert not clips.clips[0].labelled
    assert clips.clips[0].keypoints["talking"].shape == (n, 25, 2)
    with pytest.raises(InputError, match="no clip of this split has part labels"):
        clips.parser_batch(np.random.default_rng(0), 2)
    case = load_case(folder, "neutral")
    assert case.frames.shape == (n, 96, 96, 3) and case.truth_keypoints.points.shape[0] == n
