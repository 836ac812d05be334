"""Gradient feature map of a mouth blur picture (seed step S20, 4).

Conventions: pictures are (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1]; the
map is (H, W) float32 in [0, 1]. The grey image is BT.601 luma
``I = 0.299 R + 0.587 G + 0.114 B`` in [0, 1].

    O = I * A1 * A2            (* is convolution)

A1 (3x3) is the 4-neighbour Laplacian (Gonzalez & Woods, "Digital Image
Processing", the Laplacian for image sharpening)::

    0  1  0
    1 -4  1          sum = 4 - 4 = 0
    0  1  0

A2 (`PreprocessConfig.gradient_kernel_size`) is a Laplacian-of-Gaussian, i.e.
Gaussian smoothing and a second derivative in one kernel: it widens the
receptive field and averages out pixel noise while keeping a zero sum (a flat
area gives 0). 5x5 is the classic integer LoG mask of the Marr-Hildreth edge
detector (as printed in Gonzalez & Woods); 7x7 is -LoG with sigma = 1.2
sampled on the grid with its mean subtracted (`log_kernel`)::

     0  0 -1  0  0
     0 -1 -2 -1  0
    -1 -2 16 -2 -1   sum = 16 - 4 * (1 + 2 + 1) = 0
     0 -1 -2 -1  0
     0  0 -1  0  0

All three kernels are point-symmetric (K[::-1, ::-1] == K), so OpenCV's
correlation (`cv2.filter2D`) equals convolution; the code flips them anyway so
it stays right for any kernel. A blurred area has small second derivatives, a
sharp one large: |O| tells the network where the blur is.

Scale: |O| is multiplied by the fixed constant ``gradient_gain / step_peak``
where `step_peak` is the largest |O| that an ideal step edge of height 1
produces with these kernels (`step_response_peak`), then clipped to [0, 1]. No
per-image normalisation, so maps of different frames are comparable.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .config import PreprocessConfig
from .frames import check_rgb_image
from ..errors import InputError

A1 = np.array([[0, 1, 0],
               [1, -4, 1],
               [0, 1, 0]], dtype=np.float32)
"""3x3 zero-sum kernel: the 4-neighbour Laplacian."""

A2_5 = np.array([[0, 0, -1, 0, 0],
                 [0, -1, -2, -1, 0],
                 [-1, -2, 16, -2, -1],
                 [0, -1, -2, -1, 0],
                 [0, 0, -1, 0, 0]], dtype=np.float32)
"""5x5 zero-sum kernel: integer Laplacian-of-Gaussian approximation."""

_LUMA = np.array([[0.299, 0.587, 0.114]], dtype=np.float32)


def log_kernel(size: int, sigma: float) -> np.ndarray:
    """(size, size) float32 -LoG(sigma) sampled at integer offsets, mean removed (sum 0)."""
    r = np.arange(size, dtype=np.float64) - size // 2
    q = (r[None, :] ** 2 + r[:, None] ** 2) / (2.0 * sigma * sigma)
    kernel = (1.0 - q) * np.exp(-q)
    return (kernel - kernel.mean()).astype(np.float32)


A2_7 = log_kernel(7, 1.2)
"""7x7 zero-sum kernel: sampled -LoG, sigma 1.2, mean removed."""

A1.setflags(write=False)
A2_5.setflags(write=False)
A2_7.setflags(write=False)


def second_kernel(size: int) -> np.ndarray:
    """A2 of the given size (5 or 7)."""
    if size == 5:
        return A2_5
    if size == 7:
        return A2_7
    raise InputError(f"the second gradient kernel A2 exists in sizes 5 and 7, got {size!r}")


@lru_cache(maxsize=2)
def step_response_peak(size: int) -> float:
    """Largest |I * A1 * A2| over an ideal vertical step edge of height 1 (A2 of `size`)."""
    # The response at each offset from the edge is the sum of the kernel columns
    # on the bright side, i.e. a cumulative column sum.
    columns = combined_kernel(size).sum(axis=0)
    return float(np.abs(np.cumsum(columns)).max())


def rgb_to_grey(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB uint8 or float [0, 1] -> (H, W) float32 BT.601 luma in [0, 1]."""
    image = check_rgb_image(image, "picture")
    scale = 1.0 / 255.0 if image.dtype == np.uint8 else 1.0
    grey = cv2.transform(image.astype(np.float32, copy=False), _LUMA * np.float32(scale))
    return grey.reshape(image.shape[:2])


def gradient_map(image: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Gradient feature map |I * A1 * A2|, fixed scale, clipped.

    Args:
        image: (H, W, 3) RGB mouth blur picture, uint8 [0, 255] or float32 [0, 1].
        config: `gradient_kernel_size` (5 or 7) and `gradient_gain`.

    Returns:
        (H, W) float32 in [0, 1]; 0 on flat areas.
    """
    grey = rgb_to_grey(image)
    a2 = second_kernel(config.gradient_kernel_size)
    # filter2D correlates: flip to convolve (a no-op for these symmetric kernels).
    out = cv2.filter2D(grey, cv2.CV_32F, A1[::-1, ::-1].copy(), borderType=cv2.BORDER_REFLECT_101)
    out = cv2.filter2D(out, cv2.CV_32F, a2[::-1, ::-1].copy(), borderType=cv2.BORDER_REFLECT_101)
    gain = np.float32(config.gradient_gain / step_response_peak(config.gradient_kernel_size))
    np.abs(out, out=out)
    out *= gain
    return np.clip(out, 0.0, 1.0, out=out)


def rgb_with_gradient(picture: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Stack RGB and the gradient map as a 4-channel network input.

    Args:
        picture: (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1].
        grad: (H, W) float32 in [0, 1], from `gradient_map`.

    Returns:
        (H, W, 4) float32 in [0, 1]: R, G, B, gradient.
    """
    picture = check_rgb_image(picture, "picture")
    grad = np.asarray(grad)
    if grad.shape != picture.shape[:2] or grad.dtype.kind != "f":
        raise InputError(f"grad must be a float {picture.shape[:2]} map matching the picture, "
                         f"got {grad.shape} {grad.dtype}")
    if grad.size and (grad.min() < 0.0 or grad.max() > 1.0):
        raise InputError(f"grad values must be in [0, 1], got min {grad.min():g} max {grad.max():g}")
    out = np.empty(picture.shape[:2] + (4,), dtype=np.float32)
    out[..., :3] = picture
    if picture.dtype == np.uint8:
        out[..., :3] *= np.float32(1.0 / 255.0)
    out[..., 3] = grad
    return out


def combined_kernel(size: int) -> np.ndarray:
    """The full convolution A1 * A2 ((size + 2) square, float64); its sum is 0."""
    a2 = second_kernel(size).astype(np.float64)
    out = np.zeros((size + 2, size + 2))
    for (i, j), weight in np.ndenumerate(A1.astype(np.float64)):
        out[i:i + size, j:j + size] += weight * a2
    return out

