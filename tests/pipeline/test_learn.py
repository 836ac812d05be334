"""Learning a speaker from their own footage (core/learn, `python -m lipsync learn`): on a
clip of a face whose mouth opens with its audio, the learnt generator does better than the
general one on frames it never saw, `sync --weights` uses it, and nothing of the user's
is overwritten."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile

from lipsync.__main__ import main
from lipsync.core.audio import FRONT_END
from lipsync.core.errors import Cancelled, InputError
from lipsync.core.learn.footage import MIN_FRAMES, collect_footage
from lipsync.core.learn.tune import learn
from lipsync.core.learn.weights import read_learnt
from lipsync.core.pipeline.bank import MouthBank
from lipsync.core.pipeline.character import CharacterTrack
from lipsync.core.pipeline.models import LipSyncModels
from lipsync.core.preprocess.keypoints import KeypointTrack
from synthetic_faces import FaceSpec, synthetic_frame

FPS = 25


def _footage(folder: Path, n_frames: int) -> tuple[Path, Path, Path]:
    """(frames folder, audio file, keypoints file): a face whose mouth opens as loud as
    its audio (noise in syllables of 0.2 s), 160 x 128 frames."""
    rng = np.random.default_rng(0)
    loudness = 0.5 + 0.5 * np.sin(np.arange(n_frames) * 2 * np.pi * 0.2)     # (F,) 0..1
    (folder / "frames").mkdir(parents=True)
    points, boxes = [], []
    for i, level in enumerate(loudness):
        frame, (face,) = synthetic_frame(128, 160, [FaceSpec(centre=(80, 64), size=112,
                                                             mouth_open=0.05 + 0.5 * level)])
        cv2.imwrite(str(folder / "frames" / f"{i + 1:04d}.png"),
                    cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        points.append(face.keypoints)
        boxes.append(face.box)
    per_frame = FRONT_END.sample_rate // FPS
    samples = rng.normal(0, 1, n_frames * per_frame) * np.repeat(0.02 + 0.3 * loudness,
                                                                 per_frame)
    soundfile.write(folder / "speech.wav", samples.astype(np.float32), FRONT_END.sample_rate)
    pts = np.stack(points)[:, None]
    KeypointTrack(points=pts, visible=np.ones(pts.shape[:3], bool),
                  boxes=np.float32(boxes)[:, None],
                  frames=np.arange(n_frames)).save(folder / "keypoints.npz")
    return folder / "frames", folder / "speech.wav", folder / "keypoints.npz"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return _footage(tmp_path_factory.mktemp("speaker"), 40)


def _args(clip, out: Path, *extra: str) -> list[str]:
    frames, audio, keypoints = clip
    return ["--frames", str(frames), "--audio", str(audio), "--fps", str(FPS),
            "--keypoints", str(keypoints), "--device", "cpu", "--out", str(out), *extra]


def test_learning_a_speaker_beats_the_general_model_on_held_out_frames_and_sync_uses_it(
        clip, tmp_path, capsys):
    weights = tmp_path / "speaker.safetensors"
    assert main(["learn", *_args(clip, weights, "--steps", "40")]) == 0
    learnt = read_learnt(weights)
    assert learnt["steps"] == 40 and learnt["heldout_frames"] == 6
    assert learnt["heldout_after"]["ssim"] > learnt["heldout_before"]["ssim"] + 0.01
    assert learnt["heldout_after"]["l1"] < learnt["heldout_before"]["l1"]
    assert learnt["bank"]["mouths"] == 40                      # its own mouths, every frame
    assert learnt["bank"]["chosen_by"] == "sound"              # the reader heard its speech
    bank = MouthBank.of_file(weights)
    assert bank.sounds.shape == (40, 7) and np.allclose(bank.sounds.sum(1), 1, atol=1e-4)
    shown = bank.small[bank.shows]                             # each frame: its own mouth,
    assert np.abs(shown - bank.small).mean() < 0.01            # or one just like it
    card = weights.with_suffix(".md").read_text()
    assert "| learnt |" in card and str(clip[0]) in card
    assert "held-out mouth SSIM" in capsys.readouterr().out

    general, own = tmp_path / "general", tmp_path / "own"
    assert main(["sync", *_args(clip, general)]) == 0
    assert main(["sync", *_args(clip, own, "--weights", str(weights))]) == 0
    name = sorted(p.name for p in clip[0].iterdir())[-1]
    a, b = (cv2.imread(str(folder / name)).astype(int) for folder in (general, own))
    assert np.abs(a - b).max() > 10          # the learnt generator made this mouth


def test_an_existing_file_is_never_overwritten(clip, tmp_path):
    weights = tmp_path / "mine.safetensors"
    weights.write_bytes(b"the user's file")
    assert main(["learn", *_args(clip, weights, "--steps", "1")]) == 2
    assert weights.read_bytes() == b"the user's file"
    assert main(["learn", *_args(clip, tmp_path / "mine.pt", "--steps", "1")]) == 2


def test_a_clip_too_short_to_learn_from_is_refused(tmp_path):
    frames, audio, keypoints = _footage(tmp_path, MIN_FRAMES - 5)
    models = LipSyncModels.load("cpu")
    paths = sorted(frames.iterdir())
    track = CharacterTrack("speaker", KeypointTrack.load(keypoints),
                           soundfile.read(audio, dtype="float32")[0])
    with pytest.raises(InputError, match="learning needs at least"):
        collect_footage(paths, track, FPS, models)


def test_cancel_stops_learning_and_writes_nothing(clip, tmp_path):
    frames, audio, keypoints = clip
    models = LipSyncModels.load("cpu")
    track = CharacterTrack("speaker", KeypointTrack.load(keypoints),
                           soundfile.read(audio, dtype="float32")[0])
    footage = collect_footage(sorted(frames.iterdir()), track, FPS, models)
    asked = []

    def cancel_on_third_step() -> bool:
        asked.append(1)
        return len(asked) >= 3

    with pytest.raises(Cancelled):
        learn(models, footage, steps=10, should_cancel=cancel_on_third_step)
    assert list(tmp_path.iterdir()) == []
