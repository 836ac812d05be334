"""RGB -> HSI, and the red-weighted hue that finds lips (path A of the mouth blur).

Conventions: input images are (H, W, 3) RGB, uint8 in [0, 255] or float32 in
[0, 1]. Hue is in degrees [0, 360); saturation and intensity are in [0, 1].
Outputs are float32.

Plain HSI (Gonzalez & Woods, "Digital Image Processing", the HSI model)::

    I = (R + G + B) / 3
    S = 1 - 3 min(R, G, B) / (R + G + B)             (black: S = 0)
    theta = arccos( ((R-G) + (R-B)) / 2 / sqrt((R-G)^2 + (R-B)(G-B)) )
    H = theta if B <= G else 360 - theta             (grey, den = 0: H = 0)

Lips are red, but plain hue puts them on both sides of 0 deg: (180, 90, 100)
has B > G and H = 353, while (190, 100, 95) has G > B and H = 3. Skin sits at
16-41 deg. No threshold "H >= T" takes every lip and no skin.

The red-weighted hue (`rgb_to_hue` with ``red_weight = gamma``) is the hue of
the colour (R, G, B') with ``B' = (1 - gamma) B + gamma R``: the blue channel is
pulled towards red. Substituting B' expands to::

    num   = ((R - G) + (1 - gamma)(R - B)) / 2
    den^2 = (R-G)^2 + (1-gamma)(R-B)(G-B) - gamma (1-gamma) (R-B)^2
    H_gamma = theta_gamma    if G - B >= gamma (R - B)
              360 - theta_gamma otherwise

i.e. the seed's "term added to the denominator that raises the weight of R
against B" is ``-gamma (1-gamma) (R-B)^2``, and the branch that decides between
theta and 360 - theta moves from ``G >= B`` to ``G - B >= gamma (R - B)``.
Because it is the plain formula applied to a valid colour, den^2 >= 0 and
|num / den| <= 1 for every input, so no clipping hides a mistake.

Why it works: with R the largest channel, hue is a monotonic function of
``t = (G - B) / (R - B)``; plain hue wraps at t = 0. Skin has G about half way
between R and B (t = 0.30-0.67 on the Monk scale) while lips have G close to B
(t = -0.30-0.18, nude lips included). The weight moves the wrap to t = gamma:
lips land on the 360 - theta branch (335-356 deg), skin stays small (4-34 deg),
and shading (scaling RGB) or a grey veil (adding to RGB) does not change t.

Measured on the ten Monk Skin Tone swatches and twenty lip colours (a natural
and a nude lip per tone; the table in tests/core/test_hsi.py)::

    gamma  skin H (deg)  lip H (deg)   min lip - max skin   slack at 0/360 wrap
    0.00    16.7 - 40.9   0.0 - 358.3        -40.9          lips on both sides
    0.16     8.6 - 36.8   0.1 - 359.6        -36.7          lips on both sides
    0.18     7.5 - 36.2 338.6 - 359.9        302.4          skin 7.5, lip 0.1
    0.20     6.3 - 35.5 337.6 - 358.7        302.1          skin 6.3, lip 1.3
    0.24     3.8 - 34.1 335.6 - 356.2        301.5          skin 3.8, lip 3.8
    0.28     1.1 - 32.4 333.6 - 353.5        301.1          skin 1.1, lip 6.5
    0.30     skin wraps   332.5 - 352.2      -27.1          skin on both sides

The default gamma = 0.24 balances the slack on both sides of the wrap (the
reddest skin, MST 08, against the most orange nude lip); the default threshold
300 deg leaves 35 deg below the lowest lip and excludes blue and violet.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .config import PreprocessConfig
from .frames import check_rgb_image
from ..errors import InputError


def rgb_to_hsi(image: np.ndarray) -> np.ndarray:
    """Convert RGB to HSI with the plain formula (see the module docstring).

    Args:
        image: (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1].

    Returns:
        (H, W, 3) float32: hue in degrees [0, 360), saturation [0, 1],
        intensity [0, 1]. Grey pixels get hue 0, black pixels saturation 0.
    """
    image = check_rgb_image(image)
    r, g, b = _planes(image)                                    # (H, W) each, 0-255 or 0-1
    total = r + g + b
    scale = 255.0 if image.dtype == np.uint8 else 1.0
    out = np.empty(image.shape, dtype=np.float32)
    out[..., 0] = _hue(r, g, b, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sat = 1.0 - 3.0 * np.minimum(np.minimum(r, g), b) / total
    out[..., 1] = np.where(total > 0, np.clip(sat, 0.0, 1.0), 0.0)
    out[..., 2] = total / (3.0 * scale)
    return out


def rgb_to_hue(image: np.ndarray, red_weight: float = 0.0) -> np.ndarray:
    """Red-weighted HSI hue: the hue of (R, G, (1 - w) B + w R).

    Args:
        image: (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1].
        red_weight: gamma in [0, 1); 0 gives the plain HSI hue. See the module
            docstring for the expanded formula and the measured choice 0.24.

    Returns:
        (H, W) float32 hue in degrees [0, 360); grey pixels get 0.
    """
    image = check_rgb_image(image)
    if not 0.0 <= red_weight < 1.0:
        raise InputError(f"red_weight must be in [0, 1), got {red_weight!r}")
    return _hue(*_planes(image), red_weight)


def lip_mask_from_hue(image: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Lip-coloured pixels: red-weighted hue >= threshold, saturated, not black.

    Equivalent to ``(rgb_to_hue(image, w) >= T) & (S >= s_min) & (I >= i_min)``
    but compares cosines instead of taking arccos, and needs no division.

    Args:
        image: (H, W, 3) RGB, uint8 [0, 255] or float32 [0, 1].
        config: uses `red_weight`, `hue_threshold_deg`, `lip_min_saturation`,
            `lip_min_intensity`.

    Returns:
        (H, W) bool, True on lip-coloured pixels.
    """
    image = check_rgb_image(image)
    r, g, b = _planes(image)
    scale = 255.0 if image.dtype == np.uint8 else 1.0
    total = r + g + b                                           # (H, W)
    low = np.minimum(np.minimum(r, g), b)
    # S >= s_min  <=>  3 min <= (1 - s_min) total, with no division.
    keep = 3.0 * low <= (1.0 - config.lip_min_saturation) * total
    keep &= total >= max(3.0 * scale * config.lip_min_intensity, 1e-12)
    keep &= _hue_at_least(r, g, b, config.red_weight, config.hue_threshold_deg)
    return keep


def _planes(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous float32 R, G, B planes, values not rescaled (hue and saturation are scale-free)."""
    return tuple(np.asarray(c, dtype=np.float32) for c in cv2.split(image))


def _chroma_terms(r: np.ndarray, g: np.ndarray, b: np.ndarray,
                  gamma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """num, den of cos(theta) and the 360 - theta branch, for (r, g, (1-gamma) b + gamma r)."""
    if gamma:
        b = b + np.float32(gamma) * (r - b)
    rg = r - g
    rb = r - b
    num = 0.5 * (rg + rb)
    den = np.sqrt(np.maximum(rg * rg + rb * (g - b), 0.0))
    return num, den, b > g


def _hue(r: np.ndarray, g: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    """Hue in degrees of (r, g, (1-gamma) b + gamma r); any common scale of r, g, b."""
    num, den, flipped = _chroma_terms(r, g, b, gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(den > 0, num / den, 1.0)
    theta = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    hue = np.where(flipped, 360.0 - theta, theta)
    hue[hue >= 360.0] = 0.0
    return hue.astype(np.float32, copy=False)


def _hue_at_least(r: np.ndarray, g: np.ndarray, b: np.ndarray, gamma: float, threshold: float) -> np.ndarray:
    """hue >= threshold without arccos: theta <= 360 - T on the flipped branch, theta >= T otherwise."""
    if threshold <= 0.0:
        return np.ones(r.shape, dtype=bool)
    num, den, flipped = _chroma_terms(r, g, b, gamma)
    phi = 360.0 - threshold
    if phi >= 180.0:
        high = np.ones_like(flipped)
    else:
        high = num >= np.float32(math.cos(math.radians(phi))) * den
    if threshold > 180.0:
        low = np.zeros_like(flipped)
    else:
        low = num <= np.float32(math.cos(math.radians(threshold))) * den
    return np.where(flipped, high, low) & (den > 0)             # grey (den = 0) has hue 0 < T
