"""Learn Character on a small factory character (real bpy, Workbench renders): the panel's
background run on a copy writes the learnt file and card and leaves the scene and file
untouched; later headless runs of that character use it, and it changes their output;
cancel leaves nothing; a re-run reuses renders; no mouth controls is a clear error."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from learn_scenes import factory_shot, plain_shot  # noqa: E402
from lipsync_helpers import read  # noqa: E402

from lipsync.addon import headless  # noqa: E402
from lipsync.addon.jobs.learn_job import LearnCharacterJob, LearnRequest  # noqa: E402
from lipsync.addon.jobs.runner import JobRunner  # noqa: E402
from lipsync.addon.ui.operators import learn_request_from_settings  # noqa: E402
from lipsync.core.errors import Cancelled  # noqa: E402
from lipsync.core.learn.character import LearnSettings  # noqa: E402
from lipsync.addon.jobs.learn_renders import BANK_RENDERS  # noqa: E402
from lipsync.core.learn.weights import read_learnt  # noqa: E402
from lipsync.core.pipeline.bank import MouthBank  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.slow]
SPEECH = Path(__file__).resolve().parents[2] / "demo" / "speech.wav"
FEW = LearnSettings(sentences=1, steps=2, minutes=1.0)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mouth_state(obj) -> tuple:
    """The shape keys' values and every keyframe of the mesh: what must not change."""
    from bpy_extras import anim_utils

    keys = obj.data.shape_keys
    values = tuple(round(b.value, 6) for b in keys.key_blocks)
    anim = keys.animation_data
    bag = anim_utils.action_get_channelbag_for_slot(anim.action, anim.action_slot)
    return values, tuple((c.data_path, tuple(tuple(k.co) for k in c.keyframe_points))
                         for c in bag.fcurves)


def _tick(runner: JobRunner, cancel_after: float | None = None, limit_s: float = 600) -> str:
    begun = time.time()
    runner.start()
    while time.time() - begun < limit_s:
        state = runner.tick()
        if cancel_after is not None and runner.progress > cancel_after:
            runner.cancel()
        if state != "RUNNING":
            return state
        time.sleep(0.05)
    raise AssertionError("the job did not end in time")


@pytest.fixture(scope="module")
def learnt(tmp_path_factory, registered):
    """The panel's Learn Character on the factory character (2 sentences, 20 steps)."""
    folder = tmp_path_factory.mktemp("learn")
    blend, name = factory_shot(folder, resolution=128)
    sha = _sha(blend)
    scene = bpy.context.scene
    obj = scene.objects[name]
    before = _mouth_state(obj)
    s = scene.lipsync
    s.learn_sentences, s.learn_steps, s.learn_minutes, s.device = 2, 20, 2.0, "CPU"
    runner = JobRunner(_background(scene))
    state = _tick(runner)
    assert state == "DONE", runner.error
    return dict(folder=folder, blend=blend, name=name, result=runner.result, sha=sha,
                before=before, after=_mouth_state(obj), filepath=bpy.data.filepath)


def _background(scene):
    from lipsync.addon.jobs.learn_background import BackgroundLearnJob

    return BackgroundLearnJob(learn_request_from_settings(scene))


def test_learning_writes_the_file_and_its_card_and_touches_nothing(learnt):
    path = learnt["folder"] / "lipsync_learnt" / "Hero.lipsync.safetensors"
    assert learnt["result"].path == str(path) and path.is_file()
    record = read_learnt(path)
    assert record["source"]["character"] == "Hero" and record["steps"] == 20
    assert record["source"]["file"] == str(learnt["blend"])       # the user's, not the copy
    assert "shape keys by the factory names" in record["source"]["controls"]
    assert {"ssim", "l1"} <= set(record["heldout_after"]) and record["heldout_frames"] >= 1
    assert record["heldout_input"]["ssim"] < 0.999                # the mouth moved
    bank = MouthBank.of_file(path)                                # its own mouths, rendered
    assert record["bank"]["mouths"] == len(bank) and 1 <= len(bank) <= BANK_RENDERS
    assert record["bank"]["chosen_by"] == "sound" and bank.sounds.shape[1] == 7
    assert len(bank.sounds) == record["source"]["frames_used"] == len(bank.shows)  # all heard
    assert len(set(bank.shows.tolist())) > len(bank) // 2     # its frames show many mouths
    assert "viseme reader read most alike" in path.with_suffix(".md").read_text()
    assert bank.large.shape[1] == record["bank"]["side_px"] >= 64
    assert bank.large.std() > 10                                  # pictures, not blanks
    jaw = bank.large[:, -bank.large.shape[1] // 10:]              # under the crop box
    assert (jaw.max(axis=-1) > 0).mean() > 0.95                   # inside the render border
    card = path.with_suffix(".md").read_text()
    assert "renders of the character 'Hero'" in card and "20 steps" in card
    assert "input as is (rest render)" in card and "BLENDER_WORKBENCH" in card
    assert sorted(p.name for p in path.parent.iterdir()) == ["Hero.lipsync.md",
                                                              "Hero.lipsync.safetensors"]
    assert _sha(learnt["blend"]) == learnt["sha"]                 # the file: as it was
    assert learnt["after"] == learnt["before"]                    # keyframes, key values
    assert learnt["filepath"] == str(learnt["blend"])


def _sync(blend: Path, out: Path, *extra: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "lipsync", "blend", str(blend), "sync",
                           "--character", "Hero", "--audio", str(SPEECH), "--device", "cpu",
                           "--out", str(out), *extra], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = out.glob("*/*_001")
    return dict(stdout=done.stdout, run=run,
                report=json.loads((run / "lipsync" / "report.json").read_text()))


def test_later_runs_use_it_and_it_changes_the_mouth(learnt, tmp_path):
    path = learnt["folder"] / "lipsync_learnt" / "Hero.lipsync.safetensors"
    used = _sync(learnt["blend"], tmp_path / "learnt")
    assert used["report"]["learnt"] == {"Hero": str(path)}
    assert "its learnt generator Hero.lipsync.safetensors was used" in used["stdout"]
    assert "its own mouths chosen by the sound" in used["stdout"]
    general = _sync(learnt["blend"], tmp_path / "general", "--learnt", "")
    assert general["report"]["learnt"] == {}
    names = sorted(p.name for p in (used["run"] / "lipsync").glob("*.png"))
    diff = max(np.abs(read(used["run"] / "lipsync" / n).astype(int)
                      - read(general["run"] / "lipsync" / n)).max() for n in names)
    assert diff > 10, "the learnt generator made the same mouth as the general one"
    frames = used["run"] / "frames"
    same_outside = [np.array_equal(read(used["run"] / "lipsync" / n)[:8],
                                   read(frames / n)[:8]) for n in names]
    assert all(same_outside)                                     # only the mouth changes


def test_an_explicit_weights_file_wins_with_a_note(learnt, tmp_path):
    from lipsync.core.models import MODELS_DIR

    used = _sync(learnt["blend"], tmp_path / "given", "--weights",
                 str(MODELS_DIR / "generator.safetensors"))
    assert used["report"]["learnt"] == {}
    assert "not its learnt generator Hero.lipsync.safetensors" in used["stdout"]


def test_the_panel_cancel_leaves_nothing(tmp_path, registered):
    blend, _ = factory_shot(tmp_path, resolution=96)
    runner = JobRunner(_background(bpy.context.scene))
    assert _tick(runner, cancel_after=0.0) == "FAILED"
    assert isinstance(runner.error, Cancelled)
    assert not (tmp_path / "lipsync_learnt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.blend"]


def test_headless_cancel_leaves_nothing_and_a_rerun_reuses_renders(tmp_path, registered):
    blend, name = factory_shot(tmp_path, resolution=96)
    sha = _sha(blend)
    request = LearnRequest(scene="Scene", character=name, settings=FEW, device="cpu")
    calls = []

    def cancel_soon() -> bool:
        calls.append(1)
        return len(calls) > 30

    with pytest.raises(Cancelled):
        LearnCharacterJob(request).run(should_cancel=cancel_soon)
    assert not (tmp_path / "lipsync_learnt").exists()

    crashed = LearnCharacterJob(request)                  # a run that dies mid-render
    crashed.prepare()
    steps = crashed.main_thread_steps()
    n = len(crashed.frames)
    for _ in range(n + 12):                               # keypoints, then 12 renders
        next(steps)
    steps.close()
    work = tmp_path / "lipsync_learnt" / ".Hero.learning"
    assert len(list((work / "rest").glob("*.png"))) == 12
    result = LearnCharacterJob(request).run()
    assert result.reused == 12
    assert Path(result.path).is_file() and not work.exists()
    assert _sha(blend) == sha                             # opened, never saved
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert bpy.context.scene.objects[name].data.shape_keys.key_blocks[-1].value == \
        pytest.approx(0.3)


def test_a_character_without_mouth_controls_gets_a_clear_message(tmp_path, registered,
                                                                  capsys):
    plain_shot(tmp_path, None, name="bare")
    code = headless.blender_command(["learn", "--character", "Face", "--sentences", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot drive 'Face'" in err and "no mouth controls" in err
    assert "uses the general model" in err
    assert not (tmp_path / "lipsync_learnt").exists()


def test_an_existing_learnt_file_is_never_overwritten(tmp_path, registered, capsys):
    factory_shot(tmp_path, resolution=96)
    folder = tmp_path / "lipsync_learnt"
    folder.mkdir()
    (folder / "Hero.lipsync.md").write_text("my notes")
    code = headless.blender_command(["learn", "--character", "Hero"])
    assert code == 2 and "already exists and is kept" in capsys.readouterr().err
    assert (folder / "Hero.lipsync.md").read_text() == "my notes"
    assert sorted(p.name for p in folder.iterdir()) == ["Hero.lipsync.md"]


@pytest.mark.parametrize("mouth_px, shot_pct", [(150.0, 100), (150.0, 50), (20.0, 100)])
def test_renders_are_made_at_the_resolution_the_networks_learn_from(mouth_px, shot_pct):
    """A 1080p mouth is rendered smaller (its crop about CROP_SCALE x the cut side), a
    small one at the shot's own percentage, never above it."""
    from lipsync.addon.jobs.learn_renders import CROP_SCALE, render_percentage
    from lipsync.core.pipeline.crop import crop_boxes
    from lipsync.core.preprocess.keypoints import N_MOUTH_KEYPOINTS, KeypointTrack

    angles = np.linspace(0, 2 * np.pi, N_MOUTH_KEYPOINTS, endpoint=False)
    ring = np.stack([np.cos(angles) * mouth_px / 2, np.sin(angles) * mouth_px / 6], 1) + 500
    points = np.tile(ring[None, None], (3, 1, 1, 1)).astype(np.float32)
    track = KeypointTrack(points=points, visible=np.ones((3, 1, N_MOUTH_KEYPOINTS), bool),
                          boxes=np.zeros((3, 1, 4), np.float32), frames=np.arange(1, 4))
    side = float(np.median(np.diff(crop_boxes(points[:, 0], track.visible[:, 0])[:, ::2])))
    pct = render_percentage(track, shot_pct, 96)
    assert 1 <= pct <= shot_pct
    if side > CROP_SCALE * 96:
        assert pct < shot_pct
        assert CROP_SCALE * 96 <= side * pct / shot_pct <= CROP_SCALE * 96 * 1.1
    else:
        assert pct == shot_pct
