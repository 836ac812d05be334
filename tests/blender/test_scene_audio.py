"""Reading a sound strip's samples for a frame range matches Blender's own mixdown."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

bpy = pytest.importorskip("bpy")

from lipsync.addon.blender.sound import read_scene_audio  # noqa: E402
from lipsync.core.errors import AudioError, InputError  # noqa: E402

pytestmark = pytest.mark.blender
SR = 16000


def _clicks(path, seconds=3.0, at=(0.5, 1.7)):
    x = np.zeros(int(seconds * SR), np.float32)
    for t in at:
        x[int(t * SR):int(t * SR) + 40] = 0.8
    sf.write(path, x, SR)
    return x


def _onsets(x, threshold=0.3):
    hits = np.flatnonzero(np.abs(x) > threshold)
    return hits[np.insert(np.diff(hits) > 100, 0, True)] / SR


@pytest.mark.parametrize("fps,fps_base", [(24, 1.0), (30, 1.001), (24, 1.001), (25, 1.0)])
@pytest.mark.parametrize("offset", [0.0, 0.25, -0.3])
def test_strip_samples_match_blender_mixdown(tmp_path, fps, fps_base, offset):
    _clicks(tmp_path / "clicks.wav")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, fps_base
    scene.frame_start, scene.frame_end = 5, 80
    strip = scene.sequence_editor_create().strips.new_sound("s", str(tmp_path / "clicks.wav"), 1, 11)
    strip.sound_offset = offset
    bpy.ops.sound.mixdown(filepath=str(tmp_path / "mix.wav"), container="WAV", codec="PCM",
                          format="F32", mixrate=SR)
    mix, _ = sf.read(tmp_path / "mix.wav", always_2d=True)
    ours = read_scene_audio(scene, 5, 76, cache_dir=str(tmp_path))
    expected = _onsets(mix[:, 0])
    got = _onsets(ours.samples)
    assert len(got) == len(expected) >= 1
    np.testing.assert_allclose(got, expected, atol=1.5 / SR * 10)  # within ~1 ms


def test_mix_all_adds_the_strips_and_single_choice_is_required(tmp_path):
    _clicks(tmp_path / "a.wav", at=(0.2,))
    _clicks(tmp_path / "b.wav", at=(1.0,))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = 25
    strips = scene.sequence_editor_create().strips
    strips.new_sound("a", str(tmp_path / "a.wav"), 1, 1)
    strips.new_sound("b", str(tmp_path / "b.wav"), 2, 1)
    with pytest.raises(InputError, match="2 sound strips"):
        read_scene_audio(scene, 1, 50)
    mixed = read_scene_audio(scene, 1, 50, mix_all=True)
    np.testing.assert_allclose(_onsets(mixed.samples), [0.2, 1.0], atol=1e-3)
    only_b = read_scene_audio(scene, 1, 50, strip_name="b")
    np.testing.assert_allclose(_onsets(only_b.samples), [1.0], atol=1e-3)
    assert mixed.samples.shape == (32000,)


def test_partial_overlap_is_silence_and_no_overlap_is_an_error(tmp_path):
    _clicks(tmp_path / "a.wav", seconds=1.0, at=(0.5,))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = 25
    scene.sequence_editor_create().strips.new_sound("a", str(tmp_path / "a.wav"), 1, 1)
    audio = read_scene_audio(scene, 1, 50)  # audio covers frames 1-25 only
    assert audio.covered_frames == 25
    assert not audio.samples[16000:].any()
    with pytest.raises(AudioError, match="outside the audio"):
        read_scene_audio(scene, 100, 10)
