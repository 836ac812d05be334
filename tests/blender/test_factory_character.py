"""Factory characters (real bpy): seeded specs, viseme shape keys, exact part labels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon.factory.face_parts import PART_CLASSES  # noqa: E402
from lipsync.addon.factory.character import build_character, face_anchor, set_viseme_weights  # noqa: E402
from lipsync.addon.factory.character_spec import CharacterSpec  # noqa: E402
from lipsync.core.mesh.viseme_names import VISEMES  # noqa: E402
from lipsync.addon.factory.labels import label_colours, labels_from_rgba, render_labels  # noqa: E402
from lipsync.core.errors import InputError  # noqa: E402

pytestmark = pytest.mark.blender

RES = 128
SHEET = Path("/tmp/factory_sheet.png")
C = PART_CLASSES


def _spec_with(pred, start: int = 0) -> CharacterSpec:
    return next(s for s in map(CharacterSpec.random, range(start, start + 500)) if pred(s))


def aim_camera(scene, character, res: int = RES, margin: float = 1.15):
    """A camera in front of the face (from `face_anchor`), framing the head."""
    from mathutils import Vector

    centre, forward, height = face_anchor(character)
    cam = scene.camera
    if cam is None:
        cam = bpy.data.objects.new("FaceCam", bpy.data.cameras.new("FaceCam"))
        scene.collection.objects.link(cam)
        scene.camera = cam
    up = np.array((0.0, 0.0, 1.0))
    target = centre + up * 0.2 * height
    dist = margin * height / (2 * math.tan(cam.data.angle / 2))
    cam.location = Vector(target + forward * dist)
    cam.rotation_euler = (Vector(target) - cam.location).to_track_quat("-Z", "Y").to_euler()
    scene.render.resolution_x = scene.render.resolution_y = res
    scene.render.resolution_percentage = 100
    return cam


def show(character, viseme: str) -> None:
    for key in character.object.data.shape_keys.key_blocks[1:]:
        key.value = 1.0 if key.name == viseme else 0.0


def positions(obj) -> np.ndarray:
    """(N, 3) world positions of the evaluated mesh (shape keys applied)."""
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    mesh = ev.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        nor = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("normal", nor)
    finally:
        ev.to_mesh_clear()
    m = np.array(obj.matrix_world)
    co = co.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]
    nor = nor.reshape(-1, 3) @ m[:3, :3].T
    return co, nor / np.linalg.norm(nor, axis=1, keepdims=True)


def vertex_parts(obj) -> np.ndarray:
    """(N,) class id per vertex (the "part" attribute)."""
    attr = obj.data.attributes["part"]
    out = np.empty(len(attr.data), dtype=np.int32)
    attr.data.foreach_get("value", out)
    return out


def project(scene, cam, co: np.ndarray) -> np.ndarray:
    """(N, 2) pixel x, y (row) of world points."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    p = np.array([world_to_camera_view(scene, cam, Vector(c))[:2] for c in co])
    return np.stack([p[:, 0] * RES, (1.0 - p[:, 1]) * RES], axis=1)


def centroid(labels: np.ndarray, cls: int) -> np.ndarray:
    ys, xs = np.nonzero(labels == cls)
    return np.array([xs.mean(), ys.mean()])


# --- one character in a scene ---------------------------------------------------

@pytest.fixture(scope="module")
def shot():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    spec = _spec_with(lambda s: s.has_hair and s.hair_style != "long" and s.lip_redness > 0.3, start=10)
    character = build_character(scene, spec)
    cam = aim_camera(scene, character)
    return scene, character, cam


def test_structure(shot):
    scene, ch, _ = shot
    obj = ch.object
    assert obj.name == "Character" and obj.type == "MESH" and list(scene.objects).count(obj) == 1
    assert {m.pass_index for m in obj.data.materials} == set(C.values()) - {0}
    assert [k.name for k in obj.data.shape_keys.key_blocks] == ["Basis", *VISEMES[1:]]
    gi = obj.vertex_groups[ch.mouth_group].index
    in_group = {v.index for v in obj.data.vertices if any(g.group == gi for g in v.groups)}
    parts = vertex_parts(obj)
    assert in_group == set(np.flatnonzero(np.isin(parts, (C["lip_upper"], C["lip_lower"]))).tolist())
    mats = [m.pass_index for m in obj.data.materials]
    face_cls = {mats[p.material_index] for p in obj.data.polygons}
    assert face_cls == set(C.values()) - {0}


def test_visemes_move_the_mouth_only(shot):
    scene, ch, _ = shot
    obj = ch.object
    keys = obj.data.shape_keys.key_blocks
    basis = np.array([v.co for v in keys["Basis"].data])
    parts = vertex_parts(obj)
    centre, _, height = face_anchor(ch)
    far = np.linalg.norm(basis - centre, axis=1) > 0.5 * height
    fixed = np.isin(parts, [C[n] for n in ("eye_left", "eye_right", "brow_left", "brow_right", "hair", "nose")])
    lips = np.isin(parts, (C["lip_upper"], C["lip_lower"]))
    assert far.sum() > 0.3 * len(basis)
    for name in VISEMES[1:]:
        d = np.linalg.norm(np.array([v.co for v in keys[name].data]) - basis, axis=1)
        assert d[far | fixed].max() < 1e-7, name
        assert d[lips].max() > 0.001, name  # > 1 mm
    show(ch, "neutral")


@pytest.mark.parametrize("viseme", ["neutral", "closed", "open", "round", "lip_teeth", "tongue_teeth"])
def test_labels_of_visemes(shot, viseme, tmp_path):
    scene, ch, cam = shot
    show(ch, viseme)
    labels = render_labels(scene, ch, scene.frame_current, tmp_path / f"{viseme}.png")
    assert labels.shape == (RES, RES) and labels.dtype == np.uint8
    present = set(np.unique(labels).tolist())
    must = {C[n] for n in ("background", "skin", "brow_left", "brow_right", "eye_left", "eye_right",
                           "nose", "lip_upper", "lip_lower", "hair")}
    assert must <= present, (viseme, must - present)
    inner = {C["teeth"], C["mouth_interior"]}
    if viseme in ("neutral", "closed"):
        assert not present & inner, viseme
    if viseme == "open":
        assert inner <= present
        assert (labels == C["mouth_interior"]).sum() > (labels == C["teeth"]).sum()
    if viseme in ("lip_teeth", "tongue_teeth"):
        assert C["teeth"] in present
    if viseme == "tongue_teeth":
        assert C["mouth_interior"] in present

    # Where the parts are: the character's left eye is on the image's right, brows
    # above eyes, nose between eyes and mouth, upper lip above lower lip, hair on top.
    cx = {n: centroid(labels, C[n]) for n in ("eye_left", "eye_right", "brow_left", "brow_right", "nose",
                                               "lip_upper", "lip_lower", "hair")}
    assert cx["eye_left"][0] > RES / 2 > cx["eye_right"][0]
    assert cx["brow_left"][1] < cx["eye_left"][1] and cx["brow_right"][1] < cx["eye_right"][1]
    assert cx["eye_left"][1] < cx["nose"][1] < cx["lip_upper"][1] < cx["lip_lower"][1]
    assert cx["hair"][1] < cx["brow_left"][1]
    if present & inner:
        ys, xs = np.nonzero(np.isin(labels, list(inner)))
        lys, lxs = np.nonzero(np.isin(labels, (C["lip_upper"], C["lip_lower"])))
        assert lxs.min() <= xs.min() and xs.max() <= lxs.max() and lys.min() <= ys.min() <= ys.max() <= lys.max()

    # Visible (facing) vertices of the middle of the lips land on lip labels (3x3 window);
    # for f/v the upper teeth cover the top of the lower lip.
    co, nor = positions(ch.object)
    parts = vertex_parts(ch.object)
    lip = np.isin(parts, (C["lip_upper"], C["lip_lower"]))
    xs_l = co[lip, 0]
    mid = np.abs(co[:, 0] - xs_l.mean()) < 0.35 * (xs_l.max() - xs_l.min())
    view = np.array(cam.location)[None] - co
    facing = (nor * view).sum(1) / np.linalg.norm(view, axis=1) > 0.5
    ok_cls = [C["lip_upper"], C["lip_lower"]] + ([C["teeth"]] if viseme == "lip_teeth" else [])
    padded = np.pad(labels, 1, mode="edge")
    for cls in (C["lip_upper"], C["lip_lower"]):
        sel = (parts == cls) & facing & mid
        assert sel.sum() > 20
        px = np.clip(np.floor(project(scene, cam, co[sel])).astype(int), 0, RES - 1)
        win = np.stack([padded[px[:, 1] + dy, px[:, 0] + dx] for dy in range(3) for dx in range(3)], 1)
        hit = np.isin(win, ok_cls).any(axis=1).mean()
        assert hit > 0.95, (viseme, cls, hit)
    show(ch, "neutral")


def test_render_labels_restores_scene(shot, tmp_path):
    scene, ch, _ = shot
    # A user's scene: other settings, an occluder with a material, one with an object-level link.
    occ = bpy.data.objects.new("Occluder", bpy.data.meshes.new("Occluder"))
    import bmesh

    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=0.04)
    bm.to_mesh(occ.data)
    bm.free()
    centre, forward, height = face_anchor(ch)
    occ.location = centre + forward * 0.05 + np.array([0.5 * height * 0.25, 0, 0])
    user_mat = bpy.data.materials.new("UserRed")
    occ.data.materials.append(user_mat)
    scene.collection.objects.link(occ)
    obj_link = bpy.data.objects.new("ObjLinked", occ.data)
    obj_link.location = (5, 5, 5)
    scene.collection.objects.link(obj_link)
    obj_link.material_slots[0].link = "OBJECT"
    obj_link.material_slots[0].material = user_mat
    render, shading = scene.render, scene.display.shading
    render.engine = "CYCLES"
    render.filepath = "//user_out/frame_"
    render.image_settings.file_format = "JPEG"
    render.film_transparent = False
    scene.view_settings.view_transform = "AgX"
    scene.view_settings.look = "AgX - Punchy"
    scene.view_settings.exposure = 0.25
    scene.display.render_aa = "8"
    shading.light = "STUDIO"
    shading.show_cavity = True
    scene.frame_current = 3

    def snapshot():
        out = {}
        for name, owner in (("render", render), ("image", render.image_settings), ("view", scene.view_settings),
                            ("display_dev", scene.display_settings), ("display", scene.display),
                            ("shading", shading), ("cycles", scene.cycles)):
            for p in owner.bl_rna.properties:
                if p.identifier == "rna_type" or p.type in ("POINTER", "COLLECTION"):
                    continue
                v = getattr(owner, p.identifier)
                out[f"{name}.{p.identifier}"] = tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v
        out["frame"] = scene.frame_current
        out["slots"] = [(o.name, s.link, s.material.name if s.material else None)
                        for o in scene.objects for s in o.material_slots]
        out["data_slots"] = [(m.name if m else None) for m in occ.data.materials] + \
            [(m.name if m else None) for m in ch.object.data.materials]
        out["materials"] = sorted(m.name for m in bpy.data.materials)
        out["colours"] = [tuple(m.diffuse_color) for m in bpy.data.materials]
        return out

    before = snapshot()
    labels = render_labels(scene, ch, 1, tmp_path / "labels.png")
    after = snapshot()
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}
    # The occluder hides part of the face and is labelled background.
    px = project(scene, scene.camera, np.array([occ.location]))[0].astype(int)
    assert labels[px[1], px[0]] == 0
    # The file holds the same class ids.
    import cv2

    assert np.array_equal(cv2.imread(str(tmp_path / "labels.png"), cv2.IMREAD_UNCHANGED), labels)
    for o in (occ, obj_link):
        bpy.data.objects.remove(o)


def test_label_colours_and_decoding():
    cols = label_colours()
    assert set(cols) == set(C.values())
    assert len(set(cols.values())) == len(cols)
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (*cols[7], 255)
    rgba[0, 1] = (*(c + 1 if c < 255 else c for c in cols[9]), 255)  # 1 level off: still class 9
    rgba[0, 2] = (204, 204, 204, 255)  # object without material: background
    rgba[1, 0] = (*cols[8], 0)  # transparent: background
    assert labels_from_rgba(rgba).tolist() == [[7, 9, 0], [0, 0, 0]]
    rgba[1, 1] = (128, 128, 1, 255)
    with pytest.raises(Exception, match="no class colour"):
        labels_from_rgba(rgba)


def test_viseme_weights_and_anchor(shot):
    scene, ch, _ = shot
    w = np.zeros((4, len(VISEMES)))
    w[0, 0] = 1.0
    w[1, VISEMES.index("open")] = 1.0
    w[2, VISEMES.index("round")] = 0.5
    w[3, VISEMES.index("lip_teeth")] = 0.25
    set_viseme_weights(ch, w, frame_start=10)
    set_viseme_weights(ch, w, frame_start=10)  # again: replaces, no duplicates
    keys = ch.object.data.shape_keys.key_blocks
    for i in range(4):
        scene.frame_set(10 + i)
        for j, name in enumerate(VISEMES[1:], start=1):
            assert keys[name].value == pytest.approx(w[i, j], abs=1e-6), (i, name)
    with pytest.raises(InputError, match="shape"):
        set_viseme_weights(ch, np.zeros((3, 5)), 1)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        set_viseme_weights(ch, np.full((3, 7), 2.0), 1)
    ch.object.data.shape_keys.animation_data_clear()
    show(ch, "neutral")
    scene.frame_set(1)

    centre, forward, height = face_anchor(ch)
    assert np.allclose(forward, (0, -1, 0)) and 0.18 < height < 0.28
    ch.object.rotation_euler = (0, 0, math.pi / 2)
    ch.object.location = (1, 2, 3)
    bpy.context.view_layer.update()
    c2, f2, h2 = face_anchor(ch)
    assert np.allclose(f2, (1, 0, 0), atol=1e-6) and h2 == pytest.approx(height)
    assert np.allclose(c2, np.array([1, 2, 3]) + [-centre[1], centre[0], centre[2]], atol=1e-6)
    ch.object.rotation_euler = (0, 0, 0)
    ch.object.location = (0, 0, 0)
    bpy.context.view_layer.update()


def test_contact_sheet_of_random_characters(tmp_path):
    """8 random characters x 3 visemes, Cycles 8 samples at 128 px -> SHEET (look at it)."""
    import cv2

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 8
    scene.cycles.use_denoising = False
    scene.cycles.device = "CPU"
    scene.view_settings.view_transform = "Standard"
    world = bpy.data.worlds.new("SheetWorld")
    scene.world = world
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.32, 0.34, 0.38, 1.0)
    for name, energy, rot in (("Key", 2.2, (50, 0, -30)), ("Fill", 0.6, (70, 0, 40))):
        light = bpy.data.objects.new(name, bpy.data.lights.new(name, "SUN"))
        light.data.energy = energy
        light.rotation_euler = tuple(math.radians(a) for a in rot)
        scene.collection.objects.link(light)
    rows = []
    seeds = list(range(100, 106))  # plus the next stylised and the next bald character
    seeds.append(next(s for s in range(106, 999) if CharacterSpec.random(s).stylised))
    seeds.append(next(s for s in range(106, 999) if not CharacterSpec.random(s).has_hair and s not in seeds))
    for seed in seeds:
        spec = CharacterSpec.random(seed)
        ch = build_character(scene, spec)
        aim_camera(scene, ch, margin=1.05)
        labels = render_labels(scene, ch, scene.frame_current, tmp_path / f"{seed}.png")
        assert (C["hair"] in labels) == spec.has_hair, seed
        tiles = []
        for viseme in ("open", "round", "lip_teeth"):
            show(ch, viseme)
            scene.render.filepath = str(tmp_path / f"{seed}_{viseme}.png")
            bpy.ops.render.render(write_still=True)
            tiles.append(cv2.imread(scene.render.filepath))
        rows.append(np.concatenate(tiles, axis=1))
        mesh, mats = ch.object.data, list(ch.object.data.materials)
        bpy.data.objects.remove(ch.object)
        bpy.data.meshes.remove(mesh)
        for m in mats:
            bpy.data.materials.remove(m)
    sheet = np.concatenate([np.concatenate(rows[i:i + 2], axis=1) for i in range(0, 8, 2)], axis=0)
    assert cv2.imwrite(str(SHEET), sheet)
    assert sheet.shape == (4 * RES, 6 * RES, 3)
