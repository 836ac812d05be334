"""Every shipped weights file in models/ loads (without pickle), describes itself, has a
model card, and runs one batch; the total stays under 50 MB."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lipsync.core.models import MODELS_DIR, shipped
from lipsync.core.models.weights import load_weights

NAMES = ("sync", "generator", "parser", "judge", "visemes")   # judge: the evaluation's own
# sync expert; visemes: the viseme reader, which learns from speech it makes (no data set)


def test_every_shipped_file_has_metadata_a_card_and_the_total_is_small():
    total = 0
    for name in NAMES:
        path = shipped(name)
        tensors, meta = load_weights(path)
        assert meta["model"] == ("sync" if name == "judge" else name) and "config" in meta and int(meta["steps"]) > 0
        card = (MODELS_DIR / f"{name}.md").read_text()
        for heading in ("## Intended use", "## Limitations", "License:", "## Data",
                        "## Training command", "## Steps", "## Metrics"):
            assert heading in card
        assert meta["intended_use"] and meta["limitations"]
        assert meta["model_card"] == card, "the whole card, in the file too"
        assert meta["card"] == f"{name}.md" and "python -m lipsync train" in meta["training_command"]
        assert ("utterances" if name == "visemes" else "clips") in meta["data"]
        assert "steps" in meta["training"]
        assert "| metric | value |" in meta["metrics"], "the card's metrics, in the file too"
        total += path.stat().st_size
    assert total < 50e6
    assert not torch.equal(load_weights(shipped("judge"))[0]["logit_scale"],
                           load_weights(shipped("sync"))[0]["logit_scale"]), \
        "the judge must be a separately trained expert"


def test_shipped_networks_run_one_batch():
    from lipsync.core.models.generator import load_generator
    from lipsync.core.models.parser import load_parser
    from lipsync.core.models.sync import load_sync_expert
    from lipsync.core.train.parser import segment

    torch.manual_seed(0)
    sync = load_sync_expert(shipped("sync"))
    generator = load_generator(shipped("generator"))
    parser = load_parser(shipped("parser"))
    with torch.no_grad():
        visual = sync.embed_visual(torch.rand(2, 20, 64, 64))
        audio = sync.embed_audio(torch.randn(2, 1, 13, 20))
        visemes = torch.softmax(torch.randn(2, generator.config.visemes), dim=1)
        side = generator.config.out_size            # the parts' side: 128 at scale 2
        large = torch.rand(2, 3, side, side) if generator.config.scale == 2 else None
        out = generator(torch.rand(2, 4, 64, 64), torch.rand(2, 1, 64, 64),
                        torch.rand(2, 3, 64, 64), visual, audio, visemes, reference_large=large)
    assert out.shape == (2, 3, side, side) and torch.isfinite(out).all()
    assert generator.config.visemes == 7, "the shipped generator reads the viseme weights"
    labels = segment(parser, np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), np.uint8))
    assert labels.shape == (2, 64, 64) and labels.dtype == np.uint8
    from lipsync.core.models.visemes import load_reader

    with torch.no_grad():
        logits = load_reader(shipped("visemes"))(torch.randn(2, 40, 300))
    assert logits.shape == (2, 7, 300) and torch.isfinite(logits).all()


def test_shipped_weights_say_what_audio_and_crops_they_read():
    """The sync expert, the judge and the generator store the audio front end the product
    computes; every network stores its crop side."""
    import json

    from lipsync.core.audio import FRONT_END

    for name in NAMES:
        config = json.loads(load_weights(shipped(name))[1]["config"])
        assert config.get("size", 64) == 64 and (name == "visemes") != ("size" in config)
        if name != "parser":                        # the parser reads no audio
            assert config["audio"] == FRONT_END.to_dict(), name


def test_wrong_kind_of_weights_is_refused():
    from lipsync.core.errors import InputError
    from lipsync.core.models.sync import load_sync_expert

    with pytest.raises(InputError, match="not 'sync'"):
        load_sync_expert(shipped("parser"))
