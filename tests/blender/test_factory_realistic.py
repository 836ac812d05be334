"""The realistic family in the data factory (real bpy): a 3-clip Workbench set (12 frames,
128 px; a full beard, a plain face, a moustache) whose projected mouth keypoints land on lip
and mouth labels and whose mouth opens with speech; two Cycles clips at few samples; a
character's parts, materials and vertex colours, which Workbench shows."""

from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon.factory.character import build_character, face_anchor  # noqa: E402
from lipsync.addon.factory.character_spec import CharacterSpec  # noqa: E402
from lipsync.addon.factory.clip import CLIP_MARKER, ClipOptions  # noqa: E402
from lipsync.addon.factory.dataset import make_dataset  # noqa: E402
from lipsync.addon.factory.face_parts import PART_CLASSES as C  # noqa: E402
from lipsync.addon.factory.realistic_look import COLOUR_ATTRIBUTE, style_scene  # noqa: E402
from lipsync.addon.factory.shot import ShotSpec, setup_shot  # noqa: E402
from lipsync.core.mesh.viseme_names import VISEMES  # noqa: E402
from lipsync.core.preprocess.keypoints import KeypointTrack  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]
SEED = 3    # plan_clips(3, 3, families=("realistic",)): full beard (test), none, moustache
OPTIONS = ClipOptions(engine="BLENDER_WORKBENCH", max_frames=12, resolution=128, crop_size=64,
                      full_frame_share=1.0)
MOUTH = (C["lip_upper"], C["lip_lower"], C["teeth"], C["mouth_interior"])
OPEN = [VISEMES.index(v) for v in ("open", "round", "tongue_teeth")]


@pytest.fixture(scope="module")
def realistic_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("realistic")
    result = make_dataset(out, n_clips=3, seed=SEED, workers=1, options=OPTIONS,
                          families=("realistic",))
    assert result["failed"] == {} and result["rendered"] == 3
    return out


def _on_mouth_share(folder) -> float:
    """Share of visible projected mouth keypoints with a lip or mouth label within 1 px."""
    labels = np.load(folder / "frames.npz")["labels"]                       # (F, H, W)
    track = KeypointTrack.load(folder / "keypoints_talking.npz")
    hits = total = 0
    for frame, points, visible in zip(labels, track.points[:, 0], track.visible[:, 0]):
        for x, y in np.round(points[visible]).astype(int):
            near = frame[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
            hits += bool(np.isin(near, MOUTH).any())
            total += 1
    assert total > 0
    return hits / total


def test_keypoints_land_on_the_mouth_labels_and_the_mouth_opens(realistic_set):
    beards, teeth = set(), []
    for clip in sorted(realistic_set.iterdir()):
        if not (clip / CLIP_MARKER).exists():
            continue
        meta = json.loads((clip / CLIP_MARKER).read_text())
        assert meta["character"]["family"] == "realistic"
        beards.add(meta["character"]["facial_hair"])
        assert _on_mouth_share(clip) > 0.95, clip.name
        labels = np.load(clip / "frames.npz")["labels"]
        visemes = np.load(clip / "visemes.npy")
        opened = [f for f, w in enumerate(visemes) if w[OPEN].sum() > 0.6]
        assert opened, clip.name
        inside = np.isin(labels, (C["teeth"], C["mouth_interior"])).sum(axis=(1, 2))  # (F,)
        assert inside[opened].max() > inside.min() + 3, (clip.name, inside.tolist())
        teeth.append(any(np.isin(C["teeth"], labels[f]) for f in opened))
        crops = np.load(clip / "crops.npz")
        diff = np.abs(crops["talking"].astype(int) - crops["neutral"].astype(int)).max(axis=3)
        assert diff.max() > 40, clip.name
    assert beards == {"full_beard", "none", "moustache"}
    assert any(teeth), "an open mouth shows teeth"


def test_cycles_clips_render_with_exact_labels(tmp_path):
    options = ClipOptions(engine="CYCLES", max_frames=2, resolution=96, crop_size=64,
                          full_frame_share=1.0)
    result = make_dataset(tmp_path, n_clips=2, seed=4, workers=1, options=options,
                          families=("realistic",))
    assert result["rendered"] == 2
    for clip in (p for p in tmp_path.iterdir() if (p / CLIP_MARKER).exists()):
        frames = np.load(clip / "frames.npz")
        image, labels = frames["talking"].astype(int), frames["labels"]
        assert {C["skin"], C["lip_upper"], C["lip_lower"]} <= set(np.unique(labels))
        skin = image[labels == C["skin"]]
        assert skin.std(axis=0).mean() > 4, "shaded, detailed skin"
        assert _on_mouth_share(clip) > 0.95, clip.name


def _spec(pred) -> CharacterSpec:
    return next(s for s in (CharacterSpec.random(k, "realistic") for k in range(400)) if pred(s))


def test_parts_materials_and_vertex_colours_that_workbench_shows(tmp_path):
    spec = _spec(lambda s: s.facial_hair == "full_beard" and s.glasses > 0)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    character = build_character(scene, spec)
    mesh = character.object.data
    slots = {m.name.removeprefix("Character_"): m for m in mesh.materials}
    assert {"gums", "lash_left", "lash_right", "glasses"} <= set(slots)
    assert slots["gums"].pass_index == C["mouth_interior"]
    assert slots["lash_left"].pass_index == C["eye_left"]
    assert slots["glasses"].pass_index == C["hair"]
    bsdf = slots["skin"].node_tree.nodes["Principled BSDF"]
    assert bsdf.inputs["Subsurface Weight"].default_value > 0.1
    assert mesh.color_attributes.active_color.name == COLOUR_ATTRIBUTE
    shot = ShotSpec.random(1, engine="BLENDER_WORKBENCH", resolution=96)
    setup_shot(scene, character.object, face_anchor(character), shot)
    images = {}
    for styled in (False, True):
        if styled:
            style_scene(scene, character)
        scene.render.filepath = str(tmp_path / f"wb_{styled}.png")
        bpy.ops.render.render(write_still=True)
        images[styled] = np.array(bpy.data.images.load(scene.render.filepath).pixels[:])
    assert scene.display.shading.color_type == "VERTEX"
    assert np.abs(images[True] - images[False]).max() > 0.1, "the beard's vertex colours show"
