"""Character families in the data factory (real bpy): a 4-clip set of anime and creature
characters (2 each, 12 frames, 96 px, Workbench) with exact labels where the mouth is, the
families in the manifest and per-family contact sheets; an anime clip in Cycles with its
toon tones and outline."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("bpy")

from lipsync.addon.factory.clip import CLIP_MARKER, ClipOptions  # noqa: E402
from lipsync.addon.factory.dataset import make_dataset, show_dataset  # noqa: E402
from lipsync.core.dataset.reader import read_manifest  # noqa: E402
from lipsync.core.mesh.viseme_names import VISEMES  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]
FAMILIES = ("anime", "creature")
SEED = 3    # plan_clips(4, 3, families=FAMILIES): 2 anime, 2 creature; both tests held out
OPTIONS = ClipOptions(engine="BLENDER_WORKBENCH", max_frames=12, resolution=96, crop_size=64,
                      full_frame_share=1.0)
SKIN, UPPER_LIP, TEETH, LOWER_LIP, INTERIOR = 1, 7, 8, 9, 11
OPEN = [VISEMES.index(v) for v in ("open", "round", "tongue_teeth")]   # visemes that part the lips


@pytest.fixture(scope="module")
def families_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("families")
    result = make_dataset(out, n_clips=4, seed=SEED, workers=2, options=OPTIONS,
                          families=FAMILIES)
    assert result["failed"] == {} and result["rendered"] == 4
    return out


def _clips(out, family):
    return [c for c in read_manifest(out) if c["family"] == family]


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_renders_with_labels_where_the_mouth_is(families_set, family):
    clips = _clips(families_set, family)
    assert len(clips) == 2
    open_frames = 0
    for clip in clips:
        folder = families_set / clip["clip_id"]
        meta = json.loads((folder / CLIP_MARKER).read_text())
        assert meta["character"]["family"] == meta["plan"]["family"] == family
        labels = np.load(folder / "frames.npz")["labels"]             # (F, 96, 96)
        visemes = np.load(folder / "visemes.npy")                     # (F, 7)
        for frame, weights in zip(labels, visemes):
            present = set(np.unique(frame))
            assert {SKIN, UPPER_LIP, LOWER_LIP} <= present, (clip["clip_id"], present)
            if weights[OPEN].sum() > 0.6:
                open_frames += 1
                assert INTERIOR in present, (clip["clip_id"], present)
            if family == "anime":   # the drawn mouth's dark line shows even at rest
                assert INTERIOR in present
        # The mouth's classes lie below the eyes and the nose.
        ys = {c: np.nonzero(labels == c)[1].mean() for c in (4, 6, INTERIOR)}
        assert ys[4] < ys[6] < ys[INTERIOR]
        crops = np.load(folder / "crops.npz")
        assert crops["talking"].shape == (12, 64, 64, 3) and crops["talking"].std() > 10
    assert open_frames >= 2
    teeth = [np.isin(TEETH, np.load(families_set / c["clip_id"] / "frames.npz")["labels"])
             for c in clips]
    assert any(teeth), "an open mouth shows teeth"


def test_the_mouth_moves_in_the_talking_frames_only(families_set):
    for clip in read_manifest(families_set):
        crops = np.load(families_set / clip["clip_id"] / "crops.npz")
        diff = np.abs(crops["talking"].astype(int) - crops["neutral"].astype(int)).max(axis=3)
        assert diff.max() > 40, clip["clip_id"]
        labels = crops["labels"]
        moved = diff > 12
        on_eyes = np.isin(labels, (2, 3, 4, 5)) & moved
        assert on_eyes.sum() <= 0.02 * moved.sum() + 2


def test_manifest_recipe_and_a_contact_sheet_per_family(families_set, tmp_path):
    from lipsync.core.errors import InputError

    recipe = json.loads((families_set / "recipe.json").read_text())
    assert recipe["families"] == list(FAMILIES)
    text = show_dataset(families_set, tmp_path / "sheet.png", n_tiles=4)
    assert "family    anime: 2, creature: 2" in text
    assert "anime     train: 0, val: 1, test: 1" in text
    for name in ("sheet.png", "sheet_anime.png", "sheet_creature.png"):
        assert (tmp_path / name).stat().st_size > 5_000, name
    with pytest.raises(InputError, match="other settings"):
        make_dataset(families_set, n_clips=4, seed=SEED, workers=1, options=OPTIONS)


def test_an_anime_clip_in_cycles_has_toon_tones_and_an_outline(tmp_path):
    """Few tones on the skin (hard-edged steps, not a smooth gradient), and dark outline
    pixels just outside the head's labelled silhouette."""
    options = ClipOptions(engine="CYCLES", max_frames=2, resolution=96, crop_size=64)
    make_dataset(tmp_path, n_clips=4, seed=SEED, workers=1, options=options,
                 families=FAMILIES, splits=("val",))
    clip = read_manifest(tmp_path)[0]
    assert clip["family"] == "anime" and clip["engine"] == "CYCLES"
    frames = np.load(tmp_path / clip["clip_id"] / "frames.npz")
    image, labels = frames["talking"][0].astype(int), frames["labels"][0]
    skin = image[labels == SKIN]
    grey = skin.sum(axis=1)
    common = np.unique(grey // 6, return_counts=True)[1]
    assert np.sort(common)[-3:].sum() > 0.6 * len(grey), "skin in two or three tones"
    from scipy.ndimage import binary_dilation

    head = labels > 0
    ring = binary_dilation(head, iterations=1) & ~head
    outside = binary_dilation(head, iterations=5) & ~binary_dilation(head, iterations=3)
    assert image[ring].mean() < 0.9 * image[outside].mean(), "a dark line around the head"


def test_a_set_that_asks_for_more_mouth_styles_draws_them_and_resumes(tmp_path):
    """Its training anime characters wear the asked styles (recorded in clip.json); the
    same command resumes; other styles are refused as other settings."""
    from lipsync.core.errors import InputError

    options = ClipOptions(engine="BLENDER_WORKBENCH", max_frames=2, resolution=96,
                          crop_size=64, mouth_styles=("open", "tilt"))
    kept = dict(n_clips=3, seed=0, workers=1, families=("anime",), splits=("train",))
    assert make_dataset(tmp_path, options=options, **kept)["rendered"] == 2
    for clip in read_manifest(tmp_path):
        meta = json.loads((tmp_path / clip["clip_id"] / CLIP_MARKER).read_text())
        assert meta["character"]["mouth_style"] in ("open", "tilt")
    assert make_dataset(tmp_path, options=options, **kept)["rendered"] == 0
    with pytest.raises(InputError, match="other settings"):
        make_dataset(tmp_path, options=replace(options, mouth_styles=("open",)), **kept)
