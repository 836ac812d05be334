"""RGB -> YCbCr, and the elliptical skin model in the Cb-Cr plane (path B).

Conventions: input images are (H, W, 3) RGB, uint8 in [0, 255] or float32 in
[0, 1]. YCbCr is ITU-R BT.601 full range as in JPEG (JFIF 1.02, section 7)::

    Y  =       0.299    R + 0.587    G + 0.114    B
    Cb = 128 - 0.168736 R - 0.331264 G + 0.5      B
    Cr = 128 + 0.5      R - 0.418688 G - 0.081312 B

For uint8 input the result is float32 in [0, 255] (Cb and Cr of saturated blue
and red reach 255.5 and are clamped, as JFIF prescribes). For float input the
offset is 0.5 instead of 128 and the result is float32 in [0, 1].

Skin model: Hsu, Abdel-Mottaleb and Jain, "Face detection in color images",
IEEE Trans. PAMI 24(5), 2002, eq. (10)-(11): a pixel is skin when::

    x = cos(theta) (Cb - cx) + sin(theta) (Cr - cy)
    y = -sin(theta) (Cb - cx) + cos(theta) (Cr - cy)
    (x - ecx)^2 / a^2 + (y - ecy)^2 / b^2 <= 1

with cx = 109.38, cy = 152.02, theta = 2.53 rad, ecx = 1.60, ecy = 2.41,
a = 25.39, b = 14.03 (8-bit units; the same constants appear in independent
re-implementations). The paper applies the ellipse after a luma-dependent
"nonlinear transform" of Cb, Cr; we apply it directly to full-range Cb, Cr, as
the seed describes (project onto the Cb-Cr plane, inside or on the ellipse is
skin). Measured on the Monk Skin Tone swatches (Monk 2019; the values in
tests/core/test_ycbcr.py), the ellipse value above is 0.01-0.97 for MST 01-08,
1.01 and 1.28 for the darkest MST 09 and 10, and 1.67 for any neutral grey
(with the nonlinear transform the light tones MST 01-04 fall far outside, so
it is not used). `PreprocessConfig.skin_axis_scale` = 1.15 multiplies both
semi-axes, which brings all ten tones inside (value <= 1.3225) while grey
stays out.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .config import PreprocessConfig
from .frames import check_rgb_image

# Rows give Y, Cb, Cr from R, G, B (JFIF / BT.601 full range).
_RGB_TO_YCBCR = np.array([[0.299, 0.587, 0.114],
                          [-0.168736, -0.331264, 0.5],
                          [0.5, -0.418688, -0.081312]], dtype=np.float32)


def rgb_to_ycbcr(image: np.ndarray) -> np.ndarray:
    """Convert RGB to BT.601 full-range YCbCr (JPEG).

    Args:
        image: (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1].

    Returns:
        (H, W, 3) float32 Y, Cb, Cr: in [0, 255] (offset 128) for uint8 input,
        in [0, 1] (offset 0.5) for float input.
    """
    image = check_rgb_image(image)
    uint8 = image.dtype == np.uint8
    offset = np.array([[0.0], [128.0], [128.0]] if uint8 else [[0.0], [0.5], [0.5]], dtype=np.float32)
    out = cv2.transform(image.astype(np.float32, copy=False), np.hstack([_RGB_TO_YCBCR, offset]))
    return np.clip(out, 0.0, 255.0 if uint8 else 1.0, out=out)  # (H, W, 3)


def skin_mask_ellipse(image: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Skin pixels: (Cb, Cr) inside or on the Hsu et al. (2002) ellipse.

    Args:
        image: (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1].
        config: uses the `skin_*` ellipse fields and `skin_axis_scale`.

    Returns:
        (H, W) bool, True on skin.
    """
    image = check_rgb_image(image)
    matrix = _padded(ellipse_matrix(config))
    if image.dtype != np.uint8:
        matrix[:, :3] *= 255.0                                  # [0, 1] input, 8-bit model
    # One affine map gives ((x - ecx) / a, (y - ecy) / b) directly from R, G, B:
    # the chroma rows, the rotation, the offsets and the axes folded together.
    # (A third, zero output row keeps OpenCV on its fast 3-to-3 channel path.)
    xy = cv2.transform(image.astype(np.float32, copy=False), matrix)   # (H, W, 3), last channel 0
    xy *= xy
    return xy[..., 0] + xy[..., 1] <= 1.0


def ellipse_matrix(config: PreprocessConfig) -> np.ndarray:
    """(2, 4) float32 affine map from 8-bit (R, G, B, 1) to ((x - ecx) / a, (y - ecy) / b).

    a and b are the semi-axes times `skin_axis_scale`; a pixel is skin when the
    squared norm of the result is <= 1.
    """
    c, s = math.cos(config.skin_theta_rad), math.sin(config.skin_theta_rad)
    rot = np.array([[c, s], [-s, c]], dtype=np.float64)         # (2, 2)
    chroma = _RGB_TO_YCBCR[1:].astype(np.float64)               # (2, 3): Cb, Cr without offset
    linear = rot @ chroma                                       # (2, 3)
    shift = rot @ np.array([128.0 - config.skin_cb_centre, 128.0 - config.skin_cr_centre])
    shift -= np.array([config.skin_ecx, config.skin_ecy])
    axes = np.array([config.skin_axis_a, config.skin_axis_b]) * config.skin_axis_scale
    return (np.concatenate([linear, shift[:, None]], axis=1) / axes[:, None]).astype(np.float32)


def _padded(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, np.zeros((1, matrix.shape[1]), dtype=matrix.dtype)])
