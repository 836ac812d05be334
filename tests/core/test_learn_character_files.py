"""Learn Character's pure parts: where the learnt file lives and the one rule that finds
it, its settings, the varied script of sentences, the espeak-ng message, and the batch's
lip-sync steps picking up a learnt file from the render."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lipsync.core import batch
from lipsync.core.audio import AudioTiming
from lipsync.core.errors import InputError
from lipsync.core.learn.character import (LearnSettings, file_stem, find_learnt, learnt_path,
                                          work_path)
from lipsync.core.speech import script
from lipsync.core.speech.espeak import is_available


def test_paths_and_the_one_rule(tmp_path):
    assert file_stem("Hero") == "Hero" and file_stem("Mr. Big/Boss 2") == "Mr._Big_Boss_2"
    assert learnt_path(tmp_path, "Hero") == tmp_path / "Hero.lipsync.safetensors"
    assert work_path(tmp_path, "Hero") == tmp_path / ".Hero.learning"
    assert find_learnt(tmp_path, "Hero") is None
    assert find_learnt(None, "Hero") is None and find_learnt("", "Hero") is None
    learnt_path(tmp_path, "Hero").write_bytes(b"x")
    assert find_learnt(tmp_path, "Hero") == tmp_path / "Hero.lipsync.safetensors"
    assert find_learnt(tmp_path, "Villain") is None


@pytest.mark.parametrize("changes, words", [
    (dict(sentences=0), "sentences = 0"), (dict(language="xx"), "language 'xx'"),
    (dict(samples=0), "samples = 0"), (dict(steps=0), "steps = 0"),
    (dict(minutes=0), "minutes = 0"), (dict(margin=2), "margin = 2")])
def test_bad_settings_are_refused(changes, words):
    with pytest.raises(InputError, match=words):
        LearnSettings(**changes)


def test_the_render_key_leaves_out_what_learning_alone_uses():
    a, b = LearnSettings(steps=10, minutes=1), LearnSettings(steps=500, minutes=30)
    assert a.render_key() == b.render_key()
    assert LearnSettings(samples=4).render_key() != a.render_key()


def test_a_script_is_varied_and_repeatable():
    lines = script.script_for("en", 30, seed=1)
    assert lines == script.script_for("en", 30, seed=1) != script.script_for("en", 30, seed=2)
    assert len({line.text for line in lines[:24]}) == 24          # no repeat while they last
    assert len({line.voice for line in lines}) > 1 and len({line.rate_wpm for line in lines}) > 5
    assert all(script.RATES_WPM[0] <= line.rate_wpm <= script.RATES_WPM[1] for line in lines)
    with pytest.raises(InputError, match="language 'xx'"):
        script.script_for("xx", 3)


def test_without_espeak_the_message_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(script, "is_available", lambda: False)
    with pytest.raises(InputError, match="apt-get install espeak-ng.*brew install espeak-ng"):
        script.require_espeak()


@pytest.mark.skipif(not is_available(), reason="espeak-ng is not installed")
def test_a_script_is_spoken_with_pauses_between_lines():
    timing = AudioTiming(fps=25)
    lines = script.script_for("en", 2, seed=0)
    one = script.speak_script(lines[:1], timing)
    two = script.speak_script(lines, timing)
    assert two.samples.shape == (timing.n_samples_for(two.n_frames),)
    assert two.visemes.shape == (two.n_frames, 7) and np.allclose(two.visemes.sum(1), 1)
    assert two.n_frames > one.n_frames + script.PAUSE_S * 25
    pause = two.phonemes[len(one.phonemes)][0]                     # the second line's start
    assert pause == pytest.approx(len(one.samples) / 16000 + script.PAUSE_S, abs=0.05)


def test_the_batch_lip_sync_uses_the_learnt_file_the_render_found(tmp_path):
    render_dir = tmp_path / "render"
    render_dir.mkdir()
    command = ("py", "-m", "lipsync", "sync", "--fps", batch.FPS_FROM_RENDER)
    task = batch.Task(shot="s", language="en", command=command, out_dir=tmp_path / "en",
                      marker=tmp_path / "en/report.json", log=tmp_path / "en.log",
                      render_dir=render_dir)
    (render_dir / "render.json").write_text(json.dumps({"fps": 24, "learnt": None}))
    assert batch.resolve_command(task) == command[:-1] + ("24",)
    (render_dir / "render.json").write_text(json.dumps({"fps": 24, "learnt": "/l/Hero.x"}))
    assert batch.resolve_command(task)[-2:] == ("--weights", "/l/Hero.x")
    given = batch.Task(**{**task.__dict__, "command": command + ("--weights", "mine")})
    assert batch.resolve_command(given)[-2:] == ("--weights", "mine")
