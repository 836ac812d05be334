"""The data factory: a 2-clip, 8-frame data set rendered with the real bpy module in worker
processes, then checked as a user of the data would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("bpy")

from lipsync.addon.factory.clip import CLIP_MARKER, ClipOptions  # noqa: E402
from lipsync.addon.factory.dataset import make_dataset
from lipsync.core.dataset.reader import read_manifest  # noqa: E402
from lipsync.core.audio import AudioTiming  # noqa: E402
from lipsync.core.preprocess.keypoints import KeypointTrack  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]
OPTIONS = ClipOptions(max_frames=8, full_frame_share=1.0, resolution=128, crop_size=96)
UPPER_LIP, LOWER_LIP, TEETH, INTERIOR = 7, 9, 8, 11


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    result = make_dataset(out, n_clips=2, seed=11, workers=2, options=OPTIONS)
    assert result["failed"] == {} and result["rendered"] == 2
    return out


def test_manifest_and_files(dataset):
    clips = read_manifest(dataset)
    assert [c["clip_id"] for c in clips] == ["clip_00000", "clip_00001"]
    for clip in clips:
        folder = dataset / clip["clip_id"]
        meta = json.loads((folder / CLIP_MARKER).read_text())
        assert meta["frames"] == clip["frames"] == 8
        crops = np.load(folder / "crops.npz")
        for version in meta["versions"]:
            assert crops[version].shape == (8, 96, 96, 3)
        assert crops["labels"].shape == (8, 96, 96)
        assert {"character", "shot", "plan"} <= set(meta)


def test_audio_length_matches_frames_at_the_clip_fps(dataset):
    for clip in read_manifest(dataset):
        samples, rate = sf.read(dataset / clip["clip_id"] / "audio.wav")
        assert rate == 16000
        assert len(samples) == AudioTiming(fps=clip["fps"]).n_samples_for(clip["frames"])


def test_every_label_class_appears_where_expected(dataset):
    for clip in read_manifest(dataset):
        folder = dataset / clip["clip_id"]
        labels = np.load(folder / "frames.npz")["labels"]
        assert labels.shape == (8, 128, 128)
        present = set(np.unique(labels))
        meta = json.loads((folder / CLIP_MARKER).read_text())
        expected = {0, 1, 4, 5, 6, UPPER_LIP, LOWER_LIP}  # background, skin, eyes, nose, lips
        assert expected <= present, (clip["clip_id"], present)
        assert (10 in present) == (meta["character"]["hair_style"] != "none")
        # Lips sit below the nose, eyes above it, in every frame.
        for frame in labels:
            ys = {c: np.nonzero(frame == c)[0].mean() for c in (4, 6, UPPER_LIP)}
            assert ys[4] < ys[6] < ys[UPPER_LIP]


def test_keypoints_fall_on_the_lip_labels(dataset):
    hits = []
    for clip in read_manifest(dataset):
        folder = dataset / clip["clip_id"]
        track = KeypointTrack.load(folder / "keypoints_talking.npz")
        all_labels = np.load(folder / "frames.npz")["labels"]
        for i, labels in enumerate(all_labels):
            pts = track.points[i, 0]
            for k in (2, 3, 4, 8, 9, 10):  # lip bodies: between outer and inner contour
                x, y = np.round((pts[k] + pts[12 + k]) / 2).astype(int)
                window = labels[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
                hits.append(bool(np.isin(window, (UPPER_LIP, LOWER_LIP)).any()))
    assert np.mean(hits) >= 0.9


def test_neutral_differs_from_talking_only_around_the_mouth(dataset):
    """Lips, teeth, interior and the jaw below them change; the eyes, brows, nose and
    everything above the eyes do not (the mouth-only change is what a generator must learn)."""
    checked = 0
    for clip in read_manifest(dataset):
        crops = np.load(dataset / clip["clip_id"] / "crops.npz")
        diff = np.abs(crops["talking"].astype(int) - crops["neutral"].astype(int)).max(axis=3)
        for changed, labels in zip(diff > 12, crops["labels"]):
            if not changed.any():
                continue  # a silent frame
            eyes_bottom = np.nonzero(np.isin(labels, (4, 5)))[0].max()
            rows, cols = np.nonzero(changed)
            assert rows.min() > eyes_bottom
            on_features = np.isin(labels[rows, cols], (2, 3, 4, 5, 6)).sum()
            assert on_features <= 0.02 * len(rows) + 2  # edge pixels next to the upper lip
            checked += 1
    assert checked >= 4


def test_same_plan_same_files_whatever_ran_before(dataset, tmp_path):
    """A clip rendered alone, in this process after other work, equals the data set's copy."""
    from lipsync.addon.factory.clip import make_clip
    from lipsync.core.dataset.plan import plan_clips

    plan = plan_clips(2, seed=11)[1]
    again = make_clip(plan, tmp_path, OPTIONS)
    first = dataset / plan.clip_id
    for name in ("crops.npz", "frames.npz", "keypoints_talking.npz", "keypoints_neutral.npz"):
        old, new = np.load(first / name), np.load(again / name)
        assert sorted(old.files) == sorted(new.files)
        for key in old.files:
            np.testing.assert_array_equal(old[key], new[key], err_msg=f"{name}:{key}")
    for name in ("audio.wav", "visemes.npy", "phonemes.json", CLIP_MARKER):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name


def test_held_out_clips_always_keep_full_frames():
    from lipsync.addon.factory.clip import keeps_full_frames
    from lipsync.core.dataset.plan import plan_clips

    plans = plan_clips(300, seed=3)
    options = ClipOptions(full_frame_share=0.1)
    kept = [keeps_full_frames(p, options) for p in plans]
    assert all(k for k, p in zip(kept, plans) if p.split != "train")
    train = [k for k, p in zip(kept, plans) if p.split == "train"]
    assert 0.03 < np.mean(train) < 0.2


def test_resume_keeps_finished_clips_and_redoes_half_written_ones(dataset, tmp_path):
    before = (dataset / "clip_00000" / "crops.npz").stat().st_mtime_ns
    (dataset / "clip_00001.abc.tmp").mkdir()  # a clip cut off mid-way
    (dataset / "clip_00001.abc.tmp" / "crops.npz").write_bytes(b"half")
    result = make_dataset(dataset, n_clips=2, seed=11, workers=1, options=OPTIONS)
    assert result["rendered"] == 0
    assert not list(dataset.glob("*.tmp"))
    assert (dataset / "clip_00000" / "crops.npz").stat().st_mtime_ns == before


def test_resume_with_other_settings_is_refused(dataset):
    from lipsync.core.errors import InputError

    with pytest.raises(InputError, match="other settings"):
        make_dataset(dataset, n_clips=2, seed=12, workers=1, options=OPTIONS)


def test_show_prints_counts_and_writes_a_contact_sheet(dataset, tmp_path):
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-m", "lipsync", "dataset", "show", str(dataset),
                          "--sheet", str(tmp_path / "sheet.png")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "2 clips, 16 frames" in out.stdout and "split" in out.stdout
    assert (tmp_path / "sheet.png").stat().st_size > 10_000


def test_an_evaluation_set_at_another_frame_rate_holds_only_the_chosen_split(tmp_path):
    """`--splits test --fps 60`: the plan's test clip alone, its shot as planned but at 60 fps
    (audio, frames and records agree), and a resume with other splits is refused."""
    from lipsync.addon.factory.shot import ShotSpec
    from lipsync.core.dataset.plan import plan_clips
    from lipsync.core.errors import InputError

    options = ClipOptions(max_frames=5, resolution=64, crop_size=48, fps=60,
                          engine="BLENDER_WORKBENCH")
    out = tmp_path / "fps60"
    result = make_dataset(out, n_clips=3, seed=101, workers=1, options=options,
                          splits=("test",))
    test_plans = [p for p in plan_clips(3, seed=101) if p.split == "test"]
    assert result == {"clips": 1, "rendered": 1, "failed": {}}
    clips = read_manifest(out)
    assert [c["clip_id"] for c in clips] == [p.clip_id for p in test_plans]
    meta = json.loads((out / clips[0]["clip_id"] / CLIP_MARKER).read_text())
    assert clips[0]["fps"] == meta["fps"] == meta["shot"]["fps"] == 60
    samples, _ = sf.read(out / clips[0]["clip_id"] / "audio.wav")
    assert len(samples) == AudioTiming(fps=60).n_samples_for(5)
    planned = json.loads(json.dumps(ShotSpec.random(test_plans[0].shot_seed,
                                                    engine="BLENDER_WORKBENCH").to_dict()))
    assert meta["shot"] == {**planned, "fps": 60, "resolution": 64}
    with pytest.raises(InputError, match="other settings"):
        make_dataset(out, n_clips=3, seed=101, workers=1, options=options,
                     splits=("val", "test"))


def test_a_held_out_engine_set_changes_the_engine_alone(tmp_path):
    """`--engine BLENDER_EEVEE` (an engine the seeded mix never draws): the same shot as the
    Workbench render of the same plan (same camera, light and motion, so the same keypoints),
    shaded differently."""
    clips = {}
    for engine in ("BLENDER_WORKBENCH", "BLENDER_EEVEE"):
        options = ClipOptions(max_frames=3, resolution=64, crop_size=48, engine=engine)
        out = tmp_path / engine
        assert make_dataset(out, n_clips=3, seed=101, workers=1, options=options,
                            splits=("test",))["rendered"] == 1
        clips[engine] = out / read_manifest(out)[0]["clip_id"]
    meta = {e: json.loads((c / CLIP_MARKER).read_text()) for e, c in clips.items()}
    assert meta["BLENDER_EEVEE"]["shot"] == {**meta["BLENDER_WORKBENCH"]["shot"],
                                             "engine": "BLENDER_EEVEE"}
    points = {e: KeypointTrack.load(c / "keypoints_talking.npz").points for e, c in clips.items()}
    np.testing.assert_allclose(points["BLENDER_EEVEE"], points["BLENDER_WORKBENCH"], atol=1e-3)
    crops = {e: np.load(c / "crops.npz")["talking"].astype(float) for e, c in clips.items()}
    assert crops["BLENDER_EEVEE"].std() > 10                     # a rendered face, not a blank
    assert np.abs(crops["BLENDER_EEVEE"] - crops["BLENDER_WORKBENCH"]).mean() > 5


@pytest.mark.parametrize("change, message", [({"splits": ("tests",)}, "--splits must name"),
                                             ({"splits": ()}, "--splits must name"),
                                             ({"fps": 0}, "--fps must be"),
                                             ({"fps": 500}, "--fps must be")])
def test_bad_splits_or_frame_rate_are_refused_before_anything_is_written(tmp_path, change,
                                                                          message):
    from lipsync.core.errors import InputError

    splits = change.get("splits", ("test",))
    options = ClipOptions(max_frames=5, fps=change.get("fps"))
    with pytest.raises(InputError, match=message):
        make_dataset(tmp_path / "set", n_clips=3, seed=101, workers=1, options=options,
                     splits=splits)
    assert not (tmp_path / "set").exists()
