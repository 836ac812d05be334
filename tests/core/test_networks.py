"""The networks at several crop sides, the audio front end in their configs, and loading
their weights (core/models): shapes, geometry as fractions of the side, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from lipsync.core.audio import FRONT_END, AudioFrontEnd
from lipsync.core.errors import InputError
from lipsync.core.models.config import pass_side
from lipsync.core.models.generator import Discriminator, Generator, GeneratorConfig, load_generator
from lipsync.core.models.parser import N_CLASSES, FaceParser, ParserConfig, load_parser
from lipsync.core.models.passes import SoftPasses
from lipsync.core.models.sync import SyncConfig, SyncExpert, load_sync_expert
from lipsync.core.models.weights import save_weights

SIZES = (64, 96, 128)


@pytest.mark.parametrize("size", SIZES)
def test_every_network_runs_at_the_size_of_its_config(size):
    torch.manual_seed(0)
    b, f = 2, FRONT_END
    sync = SyncExpert(SyncConfig(size=size)).eval()
    visual = sync.embed_visual(torch.rand(b, 4 * f.group_frames, size, size))
    sound = sync.embed_audio(torch.randn(b, 1, f.n_mfcc, f.window_columns))
    assert visual.shape == sound.shape == (b, 64)
    assert sync(torch.rand(b, 4 * f.group_frames, size, size),
                torch.randn(b, 1, f.n_mfcc, f.window_columns)).shape == (b,)
    generator = Generator(GeneratorConfig(size=size)).eval()
    rgb, features = generator(torch.rand(b, 4, size, size), torch.rand(b, 1, size, size),
                              torch.rand(b, 3, size, size), visual, sound, return_features=True)
    assert rgb.shape == (b, 3, size, size) and features.shape[-1] == size // 8
    assert Discriminator()(rgb).shape == (b, 1, size // 8, size // 8)
    parser = FaceParser(ParserConfig(size=size)).eval()
    logits, decoder = parser(torch.rand(b, 3, size, size))
    assert logits.shape == (b, N_CLASSES, size, size) and decoder.shape[-2:] == (size, size)
    passes = SoftPasses(size)(torch.rand(b, 3, size, size), torch.ones(b, 1, size, size))
    assert passes.shape == (b, 4, size, size)


def test_pixel_quantities_are_fractions_of_the_side():
    """At 64 px every value is the one the shipped networks were trained with."""
    assert SyncConfig().window_px() == (16, 64, 8, 56)
    assert SyncConfig(size=96).window_px() == (24, 96, 12, 84)
    assert SyncConfig(size=128).window_px() == (32, 128, 16, 112)
    assert (pass_side(64), pass_side(96), pass_side(128)) == (96, 144, 192)
    assert SoftPasses(64).gauss.shape[-1] == 7 and SoftPasses(128).gauss.shape[-1] == 13


@pytest.mark.parametrize("size", [0, 60, 8, 64.0, True])
def test_bad_sizes_are_refused(size):
    for config in (SyncConfig, GeneratorConfig, ParserConfig):
        with pytest.raises(InputError, match="multiple of 8"):
            config(size=size)


def test_the_audio_front_end_shapes_the_sync_expert():
    front = AudioFrontEnd(n_mels=30, n_mfcc=20, group_frames=3, window_columns=16)
    sync = SyncExpert(SyncConfig(audio=front)).eval()
    assert sync.embed_audio(torch.randn(2, 1, 20, 16)).shape == (2, 64)
    assert sync.embed_visual(torch.rand(2, 12, 64, 64)).shape == (2, 64)
    with pytest.raises(RuntimeError):
        sync.embed_audio(torch.randn(2, 1, 13, 16))       # 13 MFCC: not what it reads
    assert SyncConfig(audio=front.to_dict()).audio == front  # as read back from JSON


def _save(path, network, model: str) -> None:
    save_weights(path, dict(network.state_dict()),
                 {"model": model, "config": json.dumps(network.config.to_dict())})


def test_weights_carry_their_config_and_load_at_their_size(tmp_path):
    _save(tmp_path / "sync.safetensors", SyncExpert(SyncConfig(size=96)), "sync")
    _save(tmp_path / "generator.safetensors", Generator(GeneratorConfig(size=128)), "generator")
    _save(tmp_path / "parser.safetensors", FaceParser(ParserConfig(size=96)), "parser")
    assert load_sync_expert(tmp_path / "sync.safetensors").config.size == 96
    generator = load_generator(tmp_path / "generator.safetensors")
    assert generator.config.size == 128 and generator.config.audio == FRONT_END
    assert load_parser(tmp_path / "parser.safetensors").config.size == 96


def test_weights_that_read_other_audio_are_refused(tmp_path):
    other = AudioFrontEnd(n_mfcc=20)
    _save(tmp_path / "sync.safetensors", SyncExpert(SyncConfig(audio=other)), "sync")
    with pytest.raises(InputError, match="n_mfcc 20 \\(here 13\\)"):
        load_sync_expert(tmp_path / "sync.safetensors")
    _save(tmp_path / "generator.safetensors",
          Generator(GeneratorConfig(audio=AudioFrontEnd(sample_rate=22050))), "generator")
    with pytest.raises(InputError, match="sample_rate 22050"):
        load_generator(tmp_path / "generator.safetensors")


def test_a_config_of_another_version_is_a_clear_error(tmp_path):
    """A config without the audio front end (written before it was stored) names what is
    missing and what to do."""
    network = SyncExpert(SyncConfig())
    old = {"size": 64, "frames": 5, "width": 32, "embedding": 64, "audio_window": 20,
           "blur_fraction": 0.03, "window": [16, 64, 8, 56]}
    save_weights(tmp_path / "old.safetensors", dict(network.state_dict()),
                 {"model": "sync", "config": json.dumps(old)})
    with pytest.raises(InputError, match="unknown: audio_window, frames; missing: audio"):
        load_sync_expert(tmp_path / "old.safetensors")
