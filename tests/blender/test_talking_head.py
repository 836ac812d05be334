"""The procedural talking head (real bpy) and the audio envelope (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from audio_envelope import mouth_open_from_audio


# --- envelope (no bpy) -------------------------------------------------------

def test_envelope_silence_and_burst():
    sr, fps, n = 16000, 25.0, 50  # 2 s
    t = np.arange(int(sr * n / fps)) / sr
    x = np.zeros_like(t)
    burst = (t >= 0.8) & (t < 1.2)
    x[burst] = 0.5 * np.sin(2 * np.pi * 220 * t[burst])
    env = mouth_open_from_audio(x, sr, fps, n)
    assert env.shape == (n,)
    assert env.min() >= 0.0 and env.max() <= 1.0
    assert np.all(env[:15] < 0.05) and np.all(env[-15:] < 0.05)  # silence -> 0
    assert np.all(env[21:29] > 0.5)  # frames 20..29 are the burst
    assert np.all(mouth_open_from_audio(np.zeros(sr), sr, fps, 25) == 0.0)
    # Stereo input and frames past the end of the audio.
    env2 = mouth_open_from_audio(np.stack([x, x], axis=1), sr, fps, n + 10)
    assert np.allclose(env2[:n - 5], env[:n - 5], atol=1e-6)
    assert np.all(env2[n + 3:] == 0.0)


# --- talking head (real bpy) -------------------------------------------------

try:
    import bpy
except ImportError:  # pragma: no cover - bpy is part of the dev environment
    bpy = None

needs_bpy = pytest.mark.skipif(bpy is None, reason="needs the bpy module")
RES = 96


@pytest.fixture(scope="module")
def head_scene():
    from lipsync.addon.factory.face_parts import PART_CLASSES
    from lipsync.addon.factory.talking_head import build_talking_head

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene  # the fresh, empty scene of the factory file
    th = build_talking_head(scene, seed=1, resolution=(RES, RES), engine="BLENDER_WORKBENCH",
                            samples=4, mouth_open=[0.0, 0.5, 1.0])
    scene.render.image_settings.file_format = "PNG"
    return scene, th, PART_CLASSES


def _lip_centres(scene, th):
    """Projected pixel centres of the upper and lower lip (evaluated mesh)."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from lipsync.addon.factory.face_parts import PART_CLASSES

    dg = bpy.context.evaluated_depsgraph_get()
    ev = th.head.evaluated_get(dg)
    mesh = ev.to_mesh()
    try:
        out = {}
        mats = [m.pass_index for m in th.head.data.materials]
        for name in ("lip_upper", "lip_lower"):
            cls = PART_CLASSES[name]
            idx = {v for p in mesh.polygons if mats[p.material_index] == cls for v in p.vertices}
            co = np.array([ev.matrix_world @ mesh.vertices[i].co for i in idx])
            # Centroid of the middle third of the lip (the whole lip's centroid
            # falls below the arc of the upper lip).
            xs = co[:, 0]
            mid = np.abs(xs - xs.mean()) < (xs.max() - xs.min()) / 6
            c = co[mid].mean(axis=0)
            p = world_to_camera_view(scene, th.camera, Vector(c))
            out[name] = np.array([p.x * RES, (1.0 - p.y) * RES])
        return out
    finally:
        ev.to_mesh_clear()


def _render(scene, path):
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(str(path), check_existing=False)
    w, h = img.size
    px = np.array(img.pixels[:], dtype=np.float32).reshape(h, w, 4)[::-1, :, :3]  # top row first
    bpy.data.images.remove(img)
    return px


def _patch(img, xy, r=1):
    x, y = int(round(xy[0])), int(round(xy[1]))
    return img[max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1].reshape(-1, 3).mean(axis=0)


@pytest.mark.blender
@needs_bpy
def test_head_structure(head_scene):
    scene, th, classes = head_scene
    head = th.head
    assert head.name == "Head" and head.type == "MESH"
    assert scene.camera == th.camera
    assert head.vertex_groups.get(th.mouth_group) is not None
    keys = head.data.shape_keys.key_blocks
    assert [k.name for k in keys] == ["Basis", "open"]
    assert {m.pass_index for m in head.data.materials} == set(classes.values()) - {0}
    assert 500 < len(head.data.vertices) < 10000
    # Lip vertices are exactly the "mouth" group.
    gi = head.vertex_groups[th.mouth_group].index
    in_group = {v.index for v in head.data.vertices if any(g.group == gi for g in v.groups)}
    mats = [m.pass_index for m in head.data.materials]
    lips = {v for p in head.data.polygons if mats[p.material_index] in (7, 9) for v in p.vertices}
    assert in_group == lips
    # Keyframed values follow mouth_open.
    for i, want in enumerate([0.0, 0.5, 1.0]):
        scene.frame_set(scene.frame_start + i)
        assert keys["open"].value == pytest.approx(want, abs=1e-4)


@pytest.mark.blender
@needs_bpy
@pytest.mark.parametrize("engine", ["BLENDER_WORKBENCH", "CYCLES"])
def test_render_red_lips_and_dark_open_mouth(head_scene, engine, tmp_path):
    scene, th, _ = head_scene
    scene.render.engine = engine
    scene.cycles.samples = 4
    imgs, centres = {}, {}
    for i, value in ((0, 0.0), (2, 1.0)):
        scene.frame_set(scene.frame_start + i)
        centres[value] = _lip_centres(scene, th)
        imgs[value] = _render(scene, tmp_path / f"{engine}_{i}.png")

    for value in (0.0, 1.0):
        for name, xy in centres[value].items():
            assert 0.3 * RES < xy[0] < 0.7 * RES and 0.45 * RES < xy[1] < 0.85 * RES
            r, g, b = _patch(imgs[value], xy)
            assert r > 1.3 * g and r > 1.3 * b and r > 0.1, (engine, value, name, (r, g, b))

    # Between the lips of the open mouth: darker when open than when closed.
    mid = (centres[1.0]["lip_upper"] + centres[1.0]["lip_lower"]) / 2
    dark_open = _patch(imgs[1.0], mid).mean()
    dark_closed = _patch(imgs[0.0], mid).mean()
    assert dark_open < 0.6 * dark_closed, (engine, dark_open, dark_closed)
