"""Tests of core/preprocess/gradient.py: zero-sum kernels, O = I * A1 * A2, 4-channel input."""

import numpy as np
import pytest
from scipy import ndimage

from lipsync.core.errors import InputError
from lipsync.core.preprocess.config import PreprocessConfig
from lipsync.core.preprocess.gradient import (A1, A2_5, A2_7, combined_kernel, gradient_map, rgb_to_grey,
                                              rgb_with_gradient, second_kernel, step_response_peak)
from lipsync.core.preprocess.mouth_blur import blur_region


def _grey_rgb(grey):
    return np.repeat(np.asarray(grey, np.float32)[:, :, None], 3, axis=2)


# -- kernels -----------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, size", [(A1, 3), (A2_5, 5), (A2_7, 7)])
def test_kernels_are_zero_sum_and_point_symmetric(kernel, size):
    assert kernel.shape == (size, size)
    assert abs(float(kernel.astype(np.float64).sum())) < 1e-6
    np.testing.assert_array_equal(kernel, kernel[::-1, ::-1])
    assert not kernel.flags.writeable


def test_integer_kernels_exact_sums():
    # A1 = 4-neighbour Laplacian: 4 * 1 - 4 = 0; A2_5 = LoG approximation: 16 - 4 * (1 + 2 + 1) = 0.
    assert A1.sum() == 0 and A2_5.sum() == 0 and A2_5[2, 2] == 16


@pytest.mark.parametrize("size", [5, 7])
def test_combined_kernel_zero_sum(size):
    k = combined_kernel(size)
    assert k.shape == (size + 2, size + 2) and abs(k.sum()) < 1e-9


def test_second_kernel_sizes():
    assert second_kernel(5) is A2_5 and second_kernel(7) is A2_7
    with pytest.raises(InputError, match="5 and 7"):
        second_kernel(3)


# -- gradient_map ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 7])
def test_matches_scipy_true_convolution(size):
    rng = np.random.default_rng(0)
    grey = rng.random((40, 50)).astype(np.float32)
    config = PreprocessConfig(gradient_kernel_size=size, gradient_gain=1.0)
    # scipy.ndimage.convolve is a true convolution; mode 'mirror' is OpenCV's BORDER_REFLECT_101.
    ref = ndimage.convolve(ndimage.convolve(grey.astype(np.float64), A1.astype(np.float64), mode="mirror"),
                           second_kernel(size).astype(np.float64), mode="mirror")
    expected = np.clip(np.abs(ref) / step_response_peak(size), 0, 1)
    np.testing.assert_allclose(gradient_map(_grey_rgb(grey), config), expected, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_constant_image_gives_zero(dtype):
    image = np.full((32, 32, 3), 0.6, np.float32)
    if dtype == np.uint8:
        image = np.full((32, 32, 3), 153, np.uint8)
    out = gradient_map(image, PreprocessConfig())
    assert out.shape == (32, 32) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0, atol=1e-5)


@pytest.mark.parametrize("size", [5, 7])
def test_step_edge_is_nonzero_only_near_the_edge(size):
    grey = np.zeros((30, 40), np.float32)
    grey[:, 20:] = 1.0
    out = gradient_map(_grey_rgb(grey), PreprocessConfig(gradient_kernel_size=size, gradient_gain=1.0))
    radius = 1 + size // 2                                       # A1 reaches 1 px, A2 size // 2 px
    near = np.zeros(40, bool)
    near[20 - radius:20 + radius] = True
    assert (out[:, near].max(axis=0) > 0).all()
    np.testing.assert_allclose(out[:, ~near], 0, atol=1e-6)
    assert out.max() == pytest.approx(1.0, abs=1e-5)             # gain 1: a unit step peaks at 1


def test_fixed_scale_not_per_image_normalisation():
    grey = np.full((20, 30), 0.4, np.float32)
    weak, strong = grey.copy(), grey.copy()
    weak[:, 15:] += 0.05
    strong[:, 15:] += 0.10
    config = PreprocessConfig(gradient_gain=1.0)
    a, b = gradient_map(_grey_rgb(weak), config), gradient_map(_grey_rgb(strong), config)
    assert b.max() == pytest.approx(2 * a.max(), rel=1e-3)
    assert a.max() == pytest.approx(0.05, rel=1e-3)


def test_gain_clips_at_one():
    grey = np.zeros((20, 30), np.float32)
    grey[:, 15:] = 1.0
    out = gradient_map(_grey_rgb(grey), PreprocessConfig(gradient_gain=5.0))
    assert out.max() == 1.0 and out.min() >= 0.0


def test_blurred_area_has_low_gradient():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[:, 32:] = True
    blurred = blur_region(image, mask, 9)
    out = gradient_map(blurred, PreprocessConfig())
    assert out[:, 40:].mean() < 0.1 * out[:, :24].mean()


def test_uint8_and_float_agree():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    config = PreprocessConfig()
    as_float = image.astype(np.float32) / 255
    np.testing.assert_allclose(gradient_map(image, config), gradient_map(as_float, config), atol=1e-5)


def test_grey_is_bt601_luma():
    # ITU-R BT.601 luma weights 0.299 / 0.587 / 0.114.
    image = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    np.testing.assert_allclose(rgb_to_grey(image)[0], [0.299, 0.587, 0.114, 1.0], atol=1e-6)


# -- rgb_with_gradient -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_rgb_with_gradient(dtype):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    expected_rgb = image.astype(np.float32) / 255
    if dtype == np.float32:
        image = expected_rgb
    grad = gradient_map(image, PreprocessConfig())
    out = rgb_with_gradient(image, grad)
    assert out.shape == (12, 10, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., :3], expected_rgb, atol=1e-6)
    np.testing.assert_array_equal(out[..., 3], grad)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("grad, words", [
    (np.zeros((12, 11), np.float32), "matching"),
    (np.zeros((12, 10), np.uint8), "float"),
    (np.full((12, 10), 1.5, np.float32), "[0, 1]"),
])
def test_rgb_with_gradient_bad_input(grad, words):
    with pytest.raises(InputError) as err:
        rgb_with_gradient(np.zeros((12, 10, 3), np.uint8), grad)
    assert words in str(err.value)


def test_gradient_bad_image():
    with pytest.raises(InputError, match="picture"):
        gradient_map(np.zeros((8, 8, 4), np.uint8), PreprocessConfig())
