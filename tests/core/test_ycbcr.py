"""Tests of core/preprocess/ycbcr.py: RGB -> YCbCr (BT.601 full range) and the skin ellipse."""

import math

import cv2
import numpy as np
import pytest

from lipsync.core.errors import InputError
from lipsync.core.preprocess.config import PreprocessConfig
from lipsync.core.preprocess.ycbcr import rgb_to_ycbcr, skin_mask_ellipse

# Monk Skin Tone Scale swatches (Monk 2019, skintone.google), MST 01 -> MST 10.
MONK = [(246, 237, 228), (243, 231, 219), (247, 234, 208), (234, 218, 186), (215, 189, 150),
        (160, 126, 86), (130, 92, 67), (96, 65, 52), (58, 49, 42), (41, 36, 32)]


def _pixels(colours, dtype=np.uint8):
    return np.array([colours], dtype=dtype)


# -- rgb_to_ycbcr -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_shapes_and_ranges(dtype):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    top = 255.0
    if dtype == np.float32:
        image, top = image.astype(np.float32) / 255, 1.0
    out = rgb_to_ycbcr(image)
    assert out.shape == (9, 13, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= top


def test_reference_values_jfif():
    # JFIF 1.02 section 7 (BT.601 full range): red Y = 76.245, Cb = 84.97,
    # Cr = 255.5 clamped to 255; green 149.685 / 43.53 / 21.23; blue 29.07 /
    # 255.5 -> 255 / 107.26; white 255 / 128 / 128; black 0 / 128 / 128.
    image = _pixels([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)])
    expected = [[76.245, 84.972, 255.0], [149.685, 43.528, 21.234], [29.07, 255.0, 107.266],
                [255.0, 128.0, 128.0], [0.0, 128.0, 128.0]]
    np.testing.assert_allclose(rgb_to_ycbcr(image)[0], expected, atol=0.01)


def test_matches_opencv_ycrcb():
    # OpenCV's COLOR_RGB2YCrCb implements the same BT.601 full-range transform
    # with the chroma scales rounded to 0.713 and 0.564 (channel order Y, Cr, Cb;
    # float input uses the offset 0.5, 8-bit input a fixed-point approximation).
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    as_float = image.astype(np.float32) / 255
    ycrcb = cv2.cvtColor(as_float, cv2.COLOR_RGB2YCrCb)
    np.testing.assert_allclose(rgb_to_ycbcr(as_float), ycrcb[..., [0, 2, 1]], atol=5e-4)
    ycrcb8 = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    np.testing.assert_allclose(rgb_to_ycbcr(image), ycrcb8[..., [0, 2, 1]], atol=1.0)


def test_float_input_uses_half_offset():
    out = rgb_to_ycbcr(_pixels([(0.5, 0.5, 0.5), (1.0, 1.0, 1.0)], np.float32))[0]
    np.testing.assert_allclose(out, [[0.5, 0.5, 0.5], [1.0, 0.5, 0.5]], atol=1e-6)


# -- skin ellipse -----------------------------------------------------------------------


def test_all_monk_tones_are_skin_with_default_scale():
    assert skin_mask_ellipse(_pixels(MONK), PreprocessConfig()).all()


def test_published_ellipse_misses_darkest_tones():
    # Documented in ycbcr.py: with the paper's axes (scale 1) MST 09 and MST 10 fall outside.
    mask = skin_mask_ellipse(_pixels(MONK), PreprocessConfig(skin_axis_scale=1.0))[0]
    assert mask[:8].all() and not mask[8:].any()


def test_grey_white_black_blue_green_are_not_skin():
    colours = [(128, 128, 128), (255, 255, 255), (0, 0, 0), (20, 18, 18), (40, 80, 200), (40, 180, 60)]
    assert not skin_mask_ellipse(_pixels(colours), PreprocessConfig()).any()


def test_float_and_uint8_agree():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    config = PreprocessConfig()
    a = skin_mask_ellipse(image, config)
    b = skin_mask_ellipse(image.astype(np.float32) / 255, config)
    assert (a != b).mean() < 0.001


def _colour_at(config, u, v):
    """Float RGB whose (Cb, Cr) sits at ellipse-frame offset (u, v) from the ellipse centre, Y = 128."""
    c, s = math.cos(config.skin_theta_rad), math.sin(config.skin_theta_rad)
    x, y = config.skin_ecx + u, config.skin_ecy + v
    cb = config.skin_cb_centre + c * x - s * y            # inverse rotation
    cr = config.skin_cr_centre + s * x + c * y
    r = 128 + 1.402 * (cr - 128)
    g = 128 - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)
    b = 128 + 1.772 * (cb - 128)
    return np.array([r, g, b]) / 255


def test_inside_on_and_outside_the_ellipse():
    config = PreprocessConfig(skin_axis_scale=1.0)
    a, b = config.skin_axis_a, config.skin_axis_b
    colours = [_colour_at(config, 0, 0),                    # centre
               _colour_at(config, a * 0.999, 0),            # just inside, on the major axis
               _colour_at(config, 0, -b * 0.999),           # just inside, on the minor axis
               _colour_at(config, -a * 0.7071, b * 0.7070),  # just inside, on the diagonal
               _colour_at(config, a * 1.001, 0),            # just outside
               _colour_at(config, 0, b * 1.01)]
    mask = skin_mask_ellipse(np.array([colours], np.float32), config)[0]
    assert mask.tolist() == [True, True, True, True, False, False]


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("image, words", [
    (np.zeros((4, 4), np.uint8), "(H, W, 3)"),
    (np.zeros((4, 4, 2), np.uint8), "(H, W, 3)"),
    (np.zeros((4, 4, 3), np.int64), "dtype int64"),
    (np.full((4, 4, 3), -0.5, np.float32), "[0, 1]"),
    (np.full((4, 4, 3), 255.0, np.float32), "divide 8-bit values by 255"),
])
def test_bad_images_raise_input_error(image, words):
    for fn in (rgb_to_ycbcr, lambda im: skin_mask_ellipse(im, PreprocessConfig())):
        with pytest.raises(InputError) as err:
            fn(image)
        assert words in str(err.value)
