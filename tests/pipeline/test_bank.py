"""The mouth bank (core/pipeline/bank.py): a learnt character's own mouths, picked per
frame by the generated crop and drawn at the frame's resolution with the generated
mouth's colour; stored in the learnt file beside the generator's weights."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from lipsync.core.learn.tune import LearnResult
from lipsync.core.learn.weights import read_learnt, save_learnt
from lipsync.core.models import shipped
from lipsync.core.models.generator import load_generator
from lipsync.core.pipeline.bank import (BANK_DROP, BANK_MAX, MouthBank, bank_box, bank_side,
                                        bank_size, cut_exemplar, place_exemplar, spread)
from lipsync.core.pipeline.models import LipSyncModels
from lipsync.core.pipeline.native import native_pixels

S = 64
BANK_SIDE = 128


def _mouth(opening: float, side: int) -> np.ndarray:
    """(side, side, 3) float32: skin with a dark mouth `opening` (0-1) tall, fine stripes."""
    image = np.full((side, side, 3), (0.8, 0.6, 0.5), np.float32)
    h = max(1, int(opening * side * 0.3))
    c = side // 2
    image[c - h:c + h, side // 4:3 * side // 4] = (0.15, 0.05, 0.05)
    image[::2, :, 1] += 0.1                                  # detail only the large crop keeps
    return np.clip(image, 0, 1)


def _bank(openings=(0.1, 0.5, 0.9)) -> MouthBank:
    large = np.stack([np.rint(_mouth(o, BANK_SIDE) * 255).astype(np.uint8) for o in openings])
    small = np.stack([cv2.resize(_mouth(o, BANK_SIDE), (S, S), interpolation=cv2.INTER_AREA)
                      .transpose(2, 0, 1) for o in openings])
    return MouthBank.from_crops(small, large)


def test_the_closest_mouth_is_picked_and_a_crop_unlike_any_keeps_its_own_pixels():
    bank = _bank()
    mask = torch.ones(2, 1, S, S)
    query = torch.from_numpy(np.stack([bank.small[1] + 0.02, np.zeros((3, S, S), np.float32)]))
    assert bank.nearest(query, mask) == [1, None]            # black: no mouth of the bank
    assert np.allclose(bank.exemplar(1), bank.large[1] / 255)


def test_a_bank_is_spread_over_the_frames_at_their_own_size_and_survives_storage(caplog):
    assert spread(range(1000)) == set(np.linspace(0, 999, BANK_MAX).round().astype(int))
    assert spread([3, 5], 10) == {3, 5} and spread([]) == set()
    boxes = np.array([[0, 0, 190, 190], [10, 10, 205, 205], [0, 0, 900, 900]], np.float32)
    assert bank_side(boxes) == 195                           # the median side
    assert bank_side(boxes[2:]) == 512 and bank_side(boxes[:1] / 8) == 64
    assert bank_size(64) == BANK_MAX and 3 * 512 ** 2 * bank_size(512) <= 120e6
    small = np.random.default_rng(0).random((5, 3, 4, 4), dtype=np.float32)
    large = np.arange(5, dtype=np.uint8)[:, None, None, None].repeat(2, 1).repeat(2, 2) \
        .repeat(3, 3)
    bank = MouthBank.from_crops(small, large)
    again = MouthBank.from_tensors(bank.to_tensors())
    assert np.abs(again.small - bank.small).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(again.large, bank.large)
    assert MouthBank.from_tensors({}) is None
    old = {"bank.small": torch.zeros(1, 3, 4, 4, dtype=torch.uint8),
           "bank.large": torch.zeros(1, 8, 8, 3, dtype=torch.uint8)}   # before the jaw
    with caplog.at_level("WARNING"):
        assert MouthBank.from_tensors(old) is None
    assert "older version" in caplog.text and "learn the character again" in caplog.text


def test_the_frame_gets_the_exemplars_detail_with_the_generated_mouths_colour():
    side = 200
    box = np.array([100.0, 50.0, 100.0 + side, 50.0 + side])
    rect = (120, 70, 280, 230)
    exemplar = _mouth(0.5, BANK_SIDE)
    generated = cv2.resize(exemplar, (S, S), interpolation=cv2.INTER_AREA) + 0.1   # warmer
    plain = native_pixels(generated, box, rect)
    drawn = native_pixels(generated, box, rect, exemplar=exemplar)
    assert drawn.shape == plain.shape == (160, 160, 3)

    def detail(image):
        return cv2.Laplacian(image[..., 1], cv2.CV_32F).var()

    assert detail(drawn) > 5 * detail(plain)                 # the stripes at frame size
    assert abs(drawn.mean() - plain.mean()) < 0.02          # the generated colour


def test_a_learnt_file_holds_its_bank_and_loading_it_gives_the_models_their_bank(tmp_path):
    path = tmp_path / "hero.lipsync.safetensors"
    generator = load_generator(shipped("generator"))
    figures = {"ssim": 0.9, "l1": 0.02, "motion": 1.0}
    result = LearnResult(3, 1.0, 10, 2, figures, figures)
    save_learnt(path, generator, result, {"character": "hero"}, _bank())
    assert read_learnt(path)["bank"] == {"mouths": 3, "side_px": BANK_SIDE}
    assert "## Mouth bank" in path.with_suffix(".md").read_text()
    models = LipSyncModels.load("cpu", generator=path)
    assert len(models.bank) == 3 and models.bank.large.shape[1:] == (BANK_SIDE, BANK_SIDE, 3)
    for name, value in generator.state_dict().items():
        assert torch.equal(models.generator.state_dict()[name], value)
    assert LipSyncModels.load("cpu").bank is None             # the shipped generator: none
    assert len(LipSyncModels.load("cpu").with_generator(path).bank) == 3


@pytest.mark.parametrize("bad", [(np.zeros((2, 3, 4, 4)), np.zeros((3, 8, 8, 3), np.uint8)),
                                 (np.zeros((0, 3, 4, 4)), np.zeros((0, 8, 8, 3), np.uint8)),
                                 (np.zeros((BANK_MAX + 1, 3, 1, 1)),
                                  np.zeros((BANK_MAX + 1, 1, 1, 3), np.uint8))])
def test_a_bank_needs_one_large_crop_per_small_one(bad):
    with pytest.raises(ValueError, match="as many large crops"):
        MouthBank.from_crops(*bad)


def test_a_banks_mouth_covers_the_whole_mouth_region_where_the_generators_fades():
    from lipsync.core.pipeline.character import Generated
    from lipsync.core.pipeline.crop import crop_boxes
    from lipsync.core.pipeline.region import mouth_region_mask
    from lipsync.core.pipeline.run import _composite

    angles = np.linspace(0, 2 * np.pi, 25, endpoint=False)
    points = np.stack([100 + 30 * np.cos(angles), 100 + 10 * np.sin(angles)], 1)  # (25, 2)
    points[6], points[0] = (130, 100), (70, 100)                   # the corners
    box = crop_boxes(points[None], np.ones(1, bool))[0]            # the product's crop box
    face = np.array([0.0, 0.0, 200.0, 200.0])
    generated = np.full((S, S, 3), 0.2, np.float32)
    region = mouth_region_mask(points, (200, 200))

    def composite(exemplar):
        raw = np.full((200, 200, 3), 200, np.uint8)
        _composite(raw, Generated(box, generated, np.ones((S, S), np.float32), [points],
                                  face, None, exemplar), None)
        return raw.astype(np.float32) / 255

    faded, whole = composite(None), composite(np.full((BANK_SIDE, BANK_SIDE, 3), 0.2))
    rim = (region > 0.05) & (region < 0.5)
    assert np.abs(whole[rim] - 0.2).max() < 0.02                  # the bank's mouth, whole
    assert np.abs(faded[rim] - 0.2).mean() > 0.1                  # the generator's, faded
    assert np.array_equal(whole[region == 0], faded[region == 0])  # outside: the input
    jaw = (region > 0.3) & (np.arange(200)[:, None] > box[3])      # under the crop box
    assert jaw.any() and np.abs(whole[jaw] - 0.2).max() < 0.02     # the bank's jaw is drawn
    assert np.abs(faded[jaw] - 200 / 255).max() < 0.01             # the generator has none


def test_an_exemplar_of_a_box_its_size_is_the_frames_own_pixels_jaw_included():
    frame = np.random.default_rng(1).integers(0, 256, (320, 300, 3), dtype=np.uint8)
    box = np.array([50.3, 20.7, 250.1, 220.5], np.float32)            # side 199.8 px
    assert np.allclose(bank_box(box)[[1, 3]], box[[1, 3]] + BANK_DROP * 199.8)
    exemplar = cut_exemplar(frame, box, 200)
    assert np.array_equal(exemplar, frame[51:251, 50:250])             # whole pixels
    rect = (60, 70, 240, 230)
    placed = place_exemplar(exemplar, box, rect)
    assert np.array_equal(placed, frame[70:230, 60:240])               # back, not resampled
    moved = box + np.array([3, 2, 3, 2], np.float32)                   # the head moved
    assert np.array_equal(place_exemplar(exemplar, moved, rect), frame[68:228, 57:237])
    scaled = cut_exemplar(frame, box, 150)                              # another side: resampled
    assert scaled.shape == (150, 150, 3)
    back = place_exemplar(scaled, box, rect).astype(np.float32)
    assert not np.array_equal(back, placed) and back.shape == placed.shape



def test_a_banks_mouth_keeps_the_inputs_hair_and_may_drop_the_jaw_over_its_background():
    from lipsync.core.models.parser import CLASS_NAMES
    from lipsync.core.pipeline.finish import bank_keep

    def probs(*names):                                  # one pixel per name, certain
        p = torch.zeros(1, len(CLASS_NAMES), 1, len(names))
        for x, name in enumerate(names):
            p[0, CLASS_NAMES.index(name), 0, x] = 1
        return p

    made = bank_keep(probs("skin", "hair", "background", "background", "lower lip"),
                     probs("skin", "skin", "skin", "background", "teeth"))
    assert made[0, 0].tolist() == [1, 0, 1, 0, 1]
