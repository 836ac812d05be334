"""Where the lips come from (real bpy): named groups, shape keys, a jaw bone, or an error."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon.blender.mouth_vertices import find_mouth_vertices  # noqa: E402
from lipsync.addon.blender.projection import MouthProjector  # noqa: E402
from lipsync.addon.factory.character import build_character, set_viseme_weights  # noqa: E402
from lipsync.addon.factory.character_spec import CharacterSpec  # noqa: E402
from lipsync.core.errors import InputError  # noqa: E402
from lipsync.core.mesh.viseme_names import VISEMES  # noqa: E402
from test_factory_character import aim_camera  # noqa: E402

pytestmark = pytest.mark.blender


def _empty_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def _find(obj, group: str = ""):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(depsgraph)
    try:
        return find_mouth_vertices(obj, ev.to_mesh(), group)
    finally:
        ev.to_mesh_clear()


def _face_patch(scene, n: int = 31, half: float = 0.5, size: float = 0.05, chin: float = 0.0):
    """A face patch facing -Y (size m across) cut along z = 0 for |x| < half: a mouth; and,
    `chin` > 0, along z = -0.6 for |x| < chin (a stray cut under it).

    Returns the object, (N,) bool the vertices below the mouth's cut (the lower lip's side)
    and (N,) bool those below the chin's cut."""
    xs = np.linspace(-1, 1, n)
    grid = np.arange(n * n).reshape(n, n)
    co = [(x, -(1 - 0.3 * x * x), z) for z in xs for x in xs]
    below = grid.copy()                       # the faces under a cut use its copies
    for row, width in ((n // 2, half), (n // 5, chin)):
        for c in (c for c in range(n) if abs(xs[c]) < width - 1e-9):
            below[row, c] = len(co)
            co.append(co[grid[row, c]])
    faces = [(grid[r, c], grid[r, c + 1], below[r + 1, c + 1], below[r + 1, c])
             for r in range(n - 1) for c in range(n - 1)]
    mesh = bpy.data.meshes.new("Face")
    mesh.from_pydata((np.array(co) * size).tolist(), [], faces)
    mesh.update()
    obj = bpy.data.objects.new("Face", mesh)
    scene.collection.objects.link(obj)
    lower, under_chin = (np.array([c[2] < z for c in co]) for z in (0, xs[n // 5]))
    for row, side in ((n // 2, lower), (n // 5, under_chin)):
        side[below[row][below[row] != grid[row]]] = True
    return obj, lower, under_chin


def test_a_named_group_comes_first_and_the_users_group_overrides(make_shot):
    shot = make_shot(n_frames=2, sound=False)
    auto = _find(shot.head)
    assert auto.source == "vertex group 'mouth'"
    group = shot.head.vertex_groups.new(name="mine")
    group.add(list(range(30)), 1.0, "REPLACE")
    chosen = _find(shot.head, "mine")
    assert chosen.source == "vertex group 'mine'"
    np.testing.assert_array_equal(chosen.indices, np.arange(30))


@pytest.mark.parametrize("family, seed", [("cartoon", 0), ("cartoon", 3), ("anime", 0),
                                          ("anime", 1), ("realistic", 1), ("creature", 0)])
def test_factory_character_without_its_group_is_found_from_shape_keys(family, seed):
    """Every viseme, alone and half-mixed: the keypoints from the lips found through the
    shape keys are within 10 % of the mouth's width of those of the labelled lips (an anime
    mouth's inside and teeth lie just behind its lips; seed 1's realistic face has a
    moustache in front of them)."""
    scene = _empty_scene()
    character = build_character(scene, CharacterSpec.random(seed, family))
    obj = character.object
    aim_camera(scene, character)
    n = len(VISEMES)
    weights = np.zeros((2 * n, n))
    weights[np.arange(n), np.arange(n)] = 1.0
    weights[n + np.arange(n), np.arange(n)] = 0.5
    weights[n + np.arange(n), (np.arange(n) + 2) % n] += 0.5
    weights[:, 0] = 0.0
    set_viseme_weights(character, weights, 1)
    truth = MouthProjector(scene, obj, scene.camera, "mouth")
    expected = [truth.project(frame)[0] for frame in range(1, 2 * n + 1)]
    obj.vertex_groups.remove(obj.vertex_groups["mouth"])
    projector = MouthProjector(scene, obj, scene.camera)
    for frame, want in enumerate(expected, start=1):
        points, visible, _ = projector.project(frame)
        width = float(np.ptp(want[:12, 0]))
        assert visible.all()
        assert np.linalg.norm(points - want, axis=1).max() <= 0.1 * width, frame
    assert projector.mouth_source.startswith("shape keys (open")


def test_a_mesh_with_only_a_jaw_bone():
    scene = _empty_scene()
    face, lower, _ = _face_patch(scene)
    arm = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    bone = arm.data.edit_bones.new("Jaw")
    bone.head, bone.tail = (0, 0.0, 0.0), (0, -0.05, -0.02)   # hinge behind the mouth
    bpy.ops.object.mode_set(mode="OBJECT")
    group = face.vertex_groups.new(name="Jaw")
    group.add([int(i) for i in np.flatnonzero(lower)], 1.0, "REPLACE")
    face.modifiers.new("Armature", "ARMATURE").object = arm
    found = _find(face)
    assert found.source == "jaw bone 'Jaw'"
    co = np.array([face.data.vertices[i].co for i in found.indices])
    assert np.abs(co[:, 0]).max() <= 0.03 and np.abs(co[:, 2]).max() <= 0.015   # mouth: 0.05 wide
    assert np.abs(co[:, 0]).max() >= 0.02 and np.abs(co[:, 2]).max() >= 0.005


def test_a_mesh_with_no_mouth_controls_is_an_error_that_says_what_to_do():
    scene = _empty_scene()
    face, _, _ = _face_patch(scene)
    face.shape_key_add(name="Basis")
    face.shape_key_add(name="blink").data[0].co.z += 0.01    # an eye key is no mouth key
    face.vertex_groups.new(name="head")
    with pytest.raises(InputError, match="Could not find the mouth of 'Face'.*Mouth group.*"
                                         "--mouth-group"):
        _find(face)


def test_oculus_keys_open_the_mouth_with_the_maps_key_not_a_stray_one():
    """viseme_aa opens the mouth; viseme_O (another opener by name, no "open" key of the
    Oculus map) opens it less and also parts a short cut under the chin, moving the chin
    down and back: the lips come from viseme_aa, and the keypoints stay on the mouth (by
    name, both keys: the lips reached down to the chin)."""
    scene = _empty_scene()
    size = 0.05
    face, lower, under_chin = _face_patch(scene, size=size, chin=0.1)
    co = np.array([v.co for v in face.data.vertices])
    fade = np.clip(1.2 - np.abs(co[:, 0]) / size, 0, 1)
    face.shape_key_add(name="Basis")
    for name, drop, stray in (("viseme_PP", 0.0, 0.0), ("viseme_aa", 0.3, 0.0),
                              ("viseme_O", 0.2, 0.25)):
        d = np.zeros_like(co)
        d[lower, 2] = -drop * size * fade[lower]
        d[under_chin, 2] -= stray * size
        d[under_chin, 1] += 0.8 * stray * size
        block = face.shape_key_add(name=name, from_mix=False)
        block.data.foreach_set("co", (co + d).astype(np.float32).ravel())
        block.value = 0.0                                        # the mouth at rest
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.location, camera.rotation_euler = (0, -0.3, 0), (np.pi / 2, 0, 0)  # looks +Y
    scene.collection.objects.link(camera)
    scene.camera = camera
    projector = MouthProjector(scene, face, camera)
    points, visible, _ = projector.project(1)
    lips = projector.lips.at(co) / size
    assert np.abs(lips[:, 0]).max() <= 0.6 and np.abs(lips[:, 2]).max() <= 0.35
    assert visible.all()
    assert np.ptp(points[:, 1]) <= 0.6 * np.ptp(points[:, 0])       # not over the chin
    assert projector.mouth_source == "shape keys (viseme_aa)"


def test_the_keypoint_vertices_are_chosen_on_the_opened_mouth_as_the_factorys_were():
    """Lips that touch at rest: the product's projector (the mouth at rest) chooses the
    25 vertices the factory chose with the mouth held open (viseme_aa at 1), so its
    keypoints at rest are the exact ones within 10 % of the mouth's width."""
    scene = _empty_scene()
    size = 0.05
    face, lower, _ = _face_patch(scene, size=size)
    co = np.array([v.co for v in face.data.vertices])
    fade = np.clip(1.2 - np.abs(co[:, 0]) / size, 0, 1)
    face.shape_key_add(name="Basis")
    d = np.zeros_like(co)
    d[lower, 2] = -0.4 * size * fade[lower]
    d[lower, 0] = 0.15 * co[lower, 0] * fade[lower]           # an open mouth is wider
    block = face.shape_key_add(name="viseme_aa", from_mix=False)
    block.data.foreach_set("co", (co + d).astype(np.float32).ravel())
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.location, camera.rotation_euler = (0, -0.3, 0), (np.pi / 2, 0, 0)  # looks +Y
    scene.collection.objects.link(camera)
    scene.camera = camera

    block.value = 1.0                                        # the factory: open, choose
    factory = MouthProjector(scene, face, camera, open_mouth=False)
    factory.project(1)
    block.value = 0.0                                        # the shot: at rest
    exact, _, _ = factory.project(1)
    product = MouthProjector(scene, face, camera)
    points, visible, _ = product.project(1)
    assert visible.all()
    width = np.ptp(exact[:, 0])
    assert np.abs(points - exact).max() <= 0.1 * width
    chosen_at_rest, _, _ = MouthProjector(scene, face, camera, open_mouth=False).project(1)
    assert np.abs(chosen_at_rest - exact).max() > 0.15 * width   # what it was: 0.21
