"""The mouth bank (core/pipeline/bank.py): a learnt character's own mouths, picked per
frame by the sound (their viseme weights) or else by the generated crop, and drawn at the
frame's resolution in the frame's light; stored in the learnt file beside the generator's
weights."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from lipsync.core.learn.tune import LearnResult
from lipsync.core.learn.weights import read_learnt, save_learnt
from lipsync.core.models import shipped
from lipsync.core.models.generator import load_generator
from lipsync.core.pipeline.bank import (BANK_GEOMETRY, BANK_MAX, OLD_GEOMETRY, Exemplar,
                                        MouthBank, bank_box, bank_side, bank_size,
                                        cover, cut_exemplar, exemplar_pixels, place_exemplar,
                                        spread)
from lipsync.core.pipeline.models import LipSyncModels

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
    assert bank.choose(query, mask) == [1, None]             # black: no mouth of the bank
    box = np.array([10.0, 20.0, 110.0, 120.0])
    exemplar = bank.exemplar(1, box)
    assert np.allclose(exemplar.pixels, bank.large[1] / 255)
    assert np.allclose(exemplar.box, bank_box(box))


def test_fine_detail_the_bank_lacks_does_not_change_the_mouth_chosen():
    """Matched blurred (`MATCH_BLUR`): a crop of the half-open mouth drawn with a fine
    checkerboard (a sharper generator's edges, 0.25 RMS from it) still picks that mouth."""
    bank = _bank()
    checks = (np.indices((S, S)).sum(0) % 2 * 2 - 1).astype(np.float32) * 0.25
    query = torch.from_numpy(np.clip(bank.small[1] + checks, 0, 1)[None])
    assert float((query[0] - torch.from_numpy(bank.small[1])).pow(2).mean().sqrt()) > 0.2
    assert bank.choose(query, torch.ones(1, 1, S, S)) == [1]


def test_a_bank_that_heard_its_frames_picks_the_mouth_of_the_sound():
    bank = _bank()                                            # mouths 0.1, 0.5, 0.9 open
    frames = np.stack([cv2.resize(_mouth(o, BANK_SIDE), (S, S), interpolation=cv2.INTER_AREA)
                       .transpose(2, 0, 1) for o in (0.12, 0.85, 0.45, 0.1)])
    sounds = np.eye(7, dtype=np.float32)[[0, 2, 4, 1]]        # rest, open, round, closed
    heard = bank.hearing(frames, np.ones((4, 1, S, S), np.float32), sounds)
    assert heard.shows.tolist() == [0, 2, 1, 0]               # each frame's closest mouth
    mask = torch.ones(3, 1, S, S)
    query = torch.from_numpy(np.stack([bank.small[0], bank.small[0],
                                       np.zeros((3, S, S), np.float32)]))
    new = np.eye(7, dtype=np.float32)[[4, 2, 2]] * 0.8 + 0.2 / 7   # round, open, open
    assert heard.choose(query, mask) == [0, 0, None]          # by the crop
    assert heard.choose(query, mask, new) == [1, 2, None]     # by the sound; black: none
    assert bank.choose(query, mask, new) == [0, 0, None]      # a bank that heard nothing
    again = MouthBank.from_tensors(heard.to_tensors())
    assert np.array_equal(again.sounds, sounds) and np.array_equal(again.shows, heard.shows)
    assert MouthBank.from_tensors(bank.to_tensors()).sounds is None
    with pytest.raises(ValueError, match="as many frames"):
        bank.hearing(frames, np.ones((4, 1, S, S), np.float32), sounds[:2])


def test_the_bank_holds_the_commonest_mouth_shapes_first_and_every_one_when_it_can():
    visemes = np.eye(7, dtype=np.float32)[[0] * 50 + [2] * 3 + [4] * 40 + [5]]
    assert cover(visemes, 10) == [0, 50, 53, 93]     # one of each; then all is matched
    assert cover(visemes, 2) == [0, 53]              # rest (50 frames), round (40)
    assert sorted(spread(range(94), 4)) == [0, 31, 62, 93]   # by time: no open mouth
    t = np.linspace(0, 1, 11)[:, None]
    blend = t * visemes[50] + (1 - t) * visemes[0]   # from rest to open
    assert cover(blend, 1) == [5]                    # the half-open middle stands for all
    assert cover(blend, 3) == [1, 5, 8]              # then each half's middle
    assert cover(np.zeros((0, 7)), 5) == []


def test_a_bank_is_spread_over_the_frames_at_their_own_size_and_survives_storage(caplog):
    assert spread(range(1000)) == set(np.linspace(0, 999, BANK_MAX).round().astype(int))
    assert spread([3, 5], 10) == {3, 5} and spread([]) == set()
    boxes = np.array([[0, 0, 190, 190], [10, 10, 205, 205], [0, 0, 900, 900]], np.float32)
    assert bank_side(boxes) == round(195 * BANK_GEOMETRY[0])  # the median exemplar box
    assert bank_side(boxes[2:]) == 512 and bank_side(boxes[:1] / 8) == 64
    assert bank_size(64) == BANK_MAX and 3 * 512 ** 2 * bank_size(512) <= 120e6
    small = np.random.default_rng(0).random((5, 3, 4, 4), dtype=np.float32)
    large = np.arange(5, dtype=np.uint8)[:, None, None, None].repeat(2, 1).repeat(2, 2) \
        .repeat(3, 3)
    bank = MouthBank.from_crops(small, large)
    again = MouthBank.from_tensors(bank.to_tensors())
    assert np.abs(again.small - bank.small).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(again.large, bank.large)
    assert again.geometry == pytest.approx(BANK_GEOMETRY)
    tensors = bank.to_tensors()
    del tensors["bank.box"]                  # a file of before the box grew: cut as it was
    assert MouthBank.from_tensors(tensors).geometry == OLD_GEOMETRY
    assert MouthBank.from_tensors({}) is None
    old = {"bank.small": torch.zeros(1, 3, 4, 4, dtype=torch.uint8),
           "bank.large": torch.zeros(1, 8, 8, 3, dtype=torch.uint8)}   # before the jaw
    with caplog.at_level("WARNING"):
        assert MouthBank.from_tensors(old) is None
    assert "older version" in caplog.text and "learn the character again" in caplog.text


def test_the_frame_gets_the_exemplars_detail_in_the_frames_own_light():
    box = np.array([100.0, 50.0, 300.0, 250.0])
    big = bank_box(box)
    rect = (120, 70, 280, 230)
    exemplar = Exemplar(_mouth(0.5, BANK_SIDE), big)
    own = place_exemplar(exemplar.pixels, big, rect)
    light = np.clip(own + 0.1, 0, 1)                            # the frame: brighter
    static = np.zeros(own.shape[:2], bool)
    static[:20, :40] = True                                     # where the mouth is still
    drawn = exemplar_pixels(exemplar, rect, light, static)
    assert drawn.shape == (160, 160, 3)
    assert np.abs(drawn - np.clip(own + 0.1, 0, 1)).max() < 1e-5   # its detail, the light
    plain = cv2.resize(cv2.resize(own, (S, S), interpolation=cv2.INTER_AREA), (160, 160))

    def detail(image):
        return cv2.Laplacian(image[..., 1], cv2.CV_32F).var()

    assert detail(drawn) > 5 * detail(plain)                 # the stripes at frame size
    few = np.zeros_like(static)
    few[0, :10] = True                                        # too little to judge the light
    assert np.array_equal(exemplar_pixels(exemplar, rect, light, few), own)


def test_a_learnt_file_holds_its_bank_and_loading_it_gives_the_models_their_bank(tmp_path):
    path = tmp_path / "hero.lipsync.safetensors"
    generator = load_generator(shipped("generator"))
    figures = {"ssim": 0.9, "l1": 0.02, "motion": 1.0}
    result = LearnResult(3, 1.0, 10, 2, figures, figures)
    save_learnt(path, generator, result, {"character": "hero"}, _bank())
    assert read_learnt(path)["bank"] == {"mouths": 3, "side_px": BANK_SIDE, "chosen_by": "crop"}
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


def test_a_banks_mouth_covers_the_whole_jaw_region_where_the_generators_fades():
    from lipsync.core.pipeline.character import Generated
    from lipsync.core.pipeline.crop import crop_boxes
    from lipsync.core.pipeline.region import JAW, mouth_region_mask
    from lipsync.core.pipeline.composite import composite_mouth

    angles = np.linspace(0, 2 * np.pi, 25, endpoint=False)
    points = np.stack([100 + 30 * np.cos(angles), 100 + 10 * np.sin(angles)], 1)  # (25, 2)
    points[6], points[0] = (130, 100), (70, 100)                   # the corners
    box = crop_boxes(points[None], np.ones(1, bool))[0]            # the product's crop box
    face = np.array([0.0, 0.0, 200.0, 200.0])
    generated = np.full((S, S, 3), 0.2, np.float32)
    region = mouth_region_mask(points, (200, 200))
    jaw_region = mouth_region_mask(points, (200, 200), form=JAW)

    def composite(exemplar):
        raw = np.full((200, 200, 3), 200, np.uint8)
        composite_mouth(raw, Generated(box, generated, np.ones((S, S), np.float32), [points],
                                  face, None, exemplar), None)
        return raw.astype(np.float32) / 255

    faded = composite(None)
    big = bank_box(box)
    pixels = np.full((BANK_SIDE, BANK_SIDE, 3), 200 / 255, np.float32)   # as the input ...
    pixels[int((105 - big[1]) / (big[3] - big[1]) * BANK_SIDE):] = 0.2  # ... but the jaw
    whole = composite(Exemplar(pixels, big))
    low = np.arange(200)[:, None] > 110                           # below the mouth centre
    rim = (jaw_region > 0.05) & (jaw_region < 0.5) & low
    assert np.abs(whole[rim] - 0.2).max() < 0.02                  # the bank's mouth, whole
    assert np.abs(faded[region > 0] - 0.2).mean() > 0.1           # the generator's, faded
    assert np.all(whole[jaw_region == 0] == 200 / 255)            # outside: the input
    assert np.all(faded[region == 0] == 200 / 255)
    jaw = (jaw_region > 0.3) & (region == 0) & (np.arange(200)[:, None] > box[3]) & low
    assert jaw.any() and np.abs(whole[jaw] - 0.2).max() < 0.02     # the bank's jaw is drawn
    assert np.all(faded[jaw] == 200 / 255)                         # the generator has none


def test_an_exemplar_of_a_box_its_size_is_the_frames_own_pixels_jaw_included():
    frame = np.random.default_rng(1).integers(0, 256, (420, 360, 3), dtype=np.uint8)
    box = np.array([50.3, 20.7, 250.1, 220.5], np.float32)            # side 199.8 px
    big = bank_box(box)
    scale, drop = BANK_GEOMETRY
    assert np.allclose(big[2:] - big[:2], scale * 199.8)                # larger ...
    assert np.allclose((big[1] + big[3]) / 2, (box[1] + box[3]) / 2 + drop * 199.8)  # lower
    side = round(scale * 199.8)
    x, y = np.rint((big[:2] + big[2:] - side) / 2).astype(int)
    exemplar = cut_exemplar(frame, box, side)
    assert np.array_equal(exemplar, frame[y:y + side, x:x + side])     # whole pixels
    rect = (x + 10, y + 20, x + side - 10, y + side - 30)
    placed = place_exemplar(exemplar, big, rect)
    assert np.array_equal(placed, frame[rect[1]:rect[3], rect[0]:rect[2]])   # not resampled
    moved = big + np.array([3, 2, 3, 2], np.float32)                   # the head moved
    assert np.array_equal(place_exemplar(exemplar, moved, rect),
                          frame[rect[1] - 2:rect[3] - 2, rect[0] - 3:rect[2] - 3])
    scaled = cut_exemplar(frame, box, 150)                              # another side: resampled
    assert scaled.shape == (150, 150, 3)
    back = place_exemplar(scaled, big, rect).astype(np.float32)
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
