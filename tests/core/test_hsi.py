"""Tests of core/preprocess/hsi.py: RGB -> HSI, the red-weighted hue, the lip mask."""

import numpy as np
import pytest

from lipsync.core.errors import InputError
from lipsync.core.preprocess.config import PreprocessConfig
from lipsync.core.preprocess.hsi import lip_mask_from_hue, rgb_to_hsi, rgb_to_hue

# Skin: the ten swatches of the Monk Skin Tone Scale (Monk 2019, published by
# Google at skintone.google), from very light (MST 01) to very dark (MST 10).
# Lips: no published table exists; for each tone a natural lip and a nude,
# low-contrast lip were picked by eye as typical of that tone (more red and
# darker than the skin, green close to blue; the nude ones are the most orange).
SKIN_TONES = {
    "MST01 very light": ((246, 237, 228), [(222, 140, 150), (224, 172, 170)]),
    "MST02 very light": ((243, 231, 219), [(214, 128, 135), (220, 165, 160)]),
    "MST03 light": ((247, 234, 208), [(206, 118, 118), (214, 158, 148)]),
    "MST04 olive": ((234, 218, 186), [(196, 112, 110), (205, 150, 138)]),
    "MST05 medium": ((215, 189, 150), [(186, 104, 102), (190, 130, 118)]),
    "MST06 tan": ((160, 126, 86), [(150, 80, 80), (156, 104, 94)]),
    "MST07 brown": ((130, 92, 67), [(124, 64, 66), (128, 84, 76)]),
    "MST08 dark brown": ((96, 65, 52), [(100, 52, 58), (104, 66, 62)]),
    "MST09 dark": ((58, 49, 42), [(76, 40, 46), (72, 46, 44)]),
    "MST10 very dark": ((41, 36, 32), [(60, 34, 40), (56, 38, 36)]),
}


def _pixels(colours):
    return np.array([colours], dtype=np.uint8)                 # (1, N, 3)


SKIN = _pixels([skin for skin, _ in SKIN_TONES.values()])
LIPS = _pixels([lip for _, lips in SKIN_TONES.values() for lip in lips])


# -- smoke, shapes, dtypes -------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_hsi_shapes_and_ranges(dtype):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    if dtype == np.float32:
        image = image.astype(np.float32) / 255
    hsi = rgb_to_hsi(image)
    assert hsi.shape == (17, 23, 3) and hsi.dtype == np.float32
    assert (hsi[..., 0] >= 0).all() and (hsi[..., 0] < 360).all()
    assert (hsi[..., 1:] >= 0).all() and (hsi[..., 1:] <= 1 + 1e-6).all()
    hue = rgb_to_hue(image, 0.24)
    assert hue.shape == (17, 23) and hue.dtype == np.float32
    assert (hue >= 0).all() and (hue < 360).all()


def test_uint8_and_float_agree():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    np.testing.assert_allclose(rgb_to_hsi(image), rgb_to_hsi(image.astype(np.float32) / 255), atol=1e-3)


# -- reference values -------------------------------------------------------------


def test_reference_values_hand_computed():
    # Hand-computed from the HSI formulas (Gonzalez & Woods): primaries at
    # 0/120/240 deg with S = 1, I = 1/3; secondaries at 60/180/300; grey S = 0.
    image = _pixels([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255),
                     (255, 0, 255), (128, 128, 128), (0, 0, 0), (255, 255, 255)])
    hsi = rgb_to_hsi(image)[0]
    np.testing.assert_allclose(hsi[:, 0], [0, 120, 240, 60, 180, 300, 0, 0, 0], atol=1e-3)
    np.testing.assert_allclose(hsi[:, 1], [1, 1, 1, 1, 1, 1, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(hsi[:, 2], [1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 128 / 255, 0, 1],
                               atol=1e-6)


def test_reference_value_orange():
    # (255, 128, 0): theta = arccos((127 + 255) / 2 / sqrt(127^2 + 255 * 128)) = 30.1 deg.
    expected = np.degrees(np.arccos(191.0 / np.sqrt(127 ** 2 + 255 * 128)))
    assert rgb_to_hsi(_pixels([(255, 128, 0)]))[0, 0, 0] == pytest.approx(expected, abs=1e-3)


def test_red_weighted_hue_is_hue_of_blue_pulled_to_red():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (6, 6, 3)).astype(np.float32)
    gamma = 0.3
    pulled = image.copy()
    pulled[..., 2] = (1 - gamma) * image[..., 2] + gamma * image[..., 0]
    np.testing.assert_allclose(rgb_to_hue(image / 255, gamma), rgb_to_hue(pulled / 255, 0.0), atol=1e-3)


def test_red_weighted_hue_expanded_formula():
    # The expanded form documented in hsi.py, evaluated in float64 by hand.
    r, g, b, gamma = 190.0, 100.0, 95.0, 0.24
    num = ((r - g) + (1 - gamma) * (r - b)) / 2
    den = np.sqrt((r - g) ** 2 + (1 - gamma) * (r - b) * (g - b) - gamma * (1 - gamma) * (r - b) ** 2)
    theta = np.degrees(np.arccos(num / den))
    expected = theta if g - b >= gamma * (r - b) else 360 - theta
    assert expected > 300
    assert rgb_to_hue(_pixels([(190, 100, 95)]), gamma)[0, 0] == pytest.approx(expected, abs=1e-2)


def test_hue_invariant_to_shading_and_grey_veil():
    lip = np.array([186, 104, 102], np.float32)
    colours = np.stack([lip, lip * 0.5, lip * 0.5 + 40]) / 255          # shade, shade + grey
    hue = rgb_to_hue(colours[None].astype(np.float32), 0.24)[0]
    np.testing.assert_allclose(hue, hue[0], atol=0.05)


# -- lips against skin, several skin tones (the required separation test) ------


def _margin(red_weight):
    lip_hue = rgb_to_hue(LIPS, red_weight)[0]
    skin_hue = rgb_to_hue(SKIN, red_weight)[0]
    return float(lip_hue.min() - skin_hue.max()), lip_hue, skin_hue


def test_red_weight_separates_lips_from_skin_better_than_plain_hue():
    config = PreprocessConfig()
    plain, plain_lips, _ = _margin(0.0)
    weighted, lips, skin = _margin(config.red_weight)
    # Plain hue: several lips (G > B) fall at 0-10 deg, below the skin; the margin is negative.
    assert plain < 0
    assert (plain_lips < 15).sum() >= 10
    assert weighted > 250 and weighted > plain + 250
    # With the variant every lip is above and every skin below the default threshold.
    assert (lips >= config.hue_threshold_deg).all(), lips
    assert (skin < config.hue_threshold_deg).all(), skin
    # and no plain-hue threshold does the same: a lip sits below the reddest skin.
    assert plain_lips.min() < rgb_to_hue(SKIN, 0.0).min()


def test_lip_mask_takes_lips_not_skin_for_every_tone():
    config = PreprocessConfig()
    assert lip_mask_from_hue(LIPS, config).all()
    assert not lip_mask_from_hue(SKIN, config).any()


def test_default_weight_is_in_the_window_where_all_tones_separate():
    # The measured table of the module docstring: 0.18-0.29 separate, 0.16 and 0.30 do not.
    for gamma in (0.18, 0.24, 0.29):
        assert _margin(gamma)[0] > 250
    for gamma in (0.16, 0.30):
        assert _margin(gamma)[0] < 0


def test_lip_mask_rejects_grey_white_black():
    config = PreprocessConfig()
    grey = _pixels([(128, 128, 128), (255, 255, 255), (0, 0, 0), (3, 1, 2), (230, 225, 226)])
    assert not lip_mask_from_hue(grey, config).any()


def test_lip_mask_float_input():
    config = PreprocessConfig()
    assert lip_mask_from_hue(LIPS.astype(np.float32) / 255, config).all()


# -- bad input ------------------------------------------------------------------


@pytest.mark.parametrize("image, words", [
    (np.zeros((4, 4), np.uint8), "(H, W, 3)"),
    (np.zeros((4, 4, 4), np.uint8), "(H, W, 3)"),
    (np.zeros((1, 4, 4, 3), np.uint8), "(H, W, 3)"),
    (np.zeros((4, 4, 3), np.int32), "dtype int32"),
    (np.zeros((4, 4, 3), np.uint16), "dtype uint16"),
    (np.full((4, 4, 3), 2.0, np.float32), "[0, 1]"),
    (np.full((4, 4, 3), np.nan, np.float32), "[0, 1]"),
    (np.zeros((0, 4, 3), np.uint8), "empty"),
    ([[[0, 0, 0]]], "numpy array"),
])
def test_bad_images_raise_input_error(image, words):
    for fn in (rgb_to_hsi, lambda im: rgb_to_hue(im, 0.2),
               lambda im: lip_mask_from_hue(im, PreprocessConfig())):
        with pytest.raises(InputError) as err:
            fn(image)
        assert words in str(err.value)


@pytest.mark.parametrize("weight", [-0.1, 1.0, 2.0])
def test_bad_red_weight(weight):
    with pytest.raises(InputError, match="red_weight"):
        rgb_to_hue(SKIN, weight)


@pytest.mark.parametrize("threshold", [0.0, 90.0, 200.0, 300.0, 350.0])
@pytest.mark.parametrize("weight", [0.0, 0.24])
def test_lip_mask_matches_arccos_reference(threshold, weight):
    # lip_mask_from_hue compares cosines; the reference takes arccos via rgb_to_hue / rgb_to_hsi.
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    config = PreprocessConfig(red_weight=weight, hue_threshold_deg=threshold)
    hsi = rgb_to_hsi(image)
    reference = ((rgb_to_hue(image, weight) >= threshold) & (hsi[..., 1] >= config.lip_min_saturation - 1e-6)
                 & (hsi[..., 2] >= config.lip_min_intensity))
    assert (lip_mask_from_hue(image, config) != reference).sum() <= 2      # ties at the threshold
