"""Configuration of the mouth-feature preprocessing (seed step S20).

One frozen dataclass holds every threshold and size used by `hsi`, `ycbcr`,
`mouth_blur` and `gradient`; the add-on panel and the command line build the
same object. Sizes that depend on the picture are fractions of the face size
(the longer side of the face box, in pixels), so one config works at 256 px and
at 4K. Every field documents its unit and valid range; `__post_init__` rejects
values outside it with an `InputError` naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class PreprocessConfig:
    """Every tunable of the mouth blur and gradient passes.

    Path A (HSI lip colour):
        red_weight: gamma of the red-weighted hue, dimensionless, [0, 1).
            0 gives the plain HSI hue; 0.24 was chosen from the measured
            table in `hsi.rgb_to_hue` (balanced slack between the most orange
            nude lip and the reddest skin of the Monk scale).
        hue_threshold_deg: a pixel is lip when its red-weighted hue is at or
            above this, degrees, [0, 360). Lips measure 335-356 deg with the
            default weight, skin 4-34 deg.
        lip_min_saturation: HSI saturation below which a pixel is never lip
            (grey, white teeth, specular highlights), [0, 1].
        lip_min_intensity: HSI intensity below which a pixel is never lip
            (near-black pixels have a noisy hue), [0, 1].
        keypoint_margin: with mouth keypoints, path A looks for lips inside the
            outer lip contour grown by this fraction of the mouth width, >= 0.

    Path B (YCbCr skin ellipse), Hsu, Abdel-Mottaleb & Jain (2002):
        skin_cb_centre, skin_cr_centre: ellipse reference point (cx, cy) in the
            Cb-Cr plane, 8-bit units [0, 255].
        skin_theta_rad: rotation of the ellipse axes, radians.
        skin_ecx, skin_ecy: ellipse centre offset in the rotated frame, 8-bit units.
        skin_axis_a, skin_axis_b: semi-axes in the rotated frame, 8-bit units, > 0.
        skin_axis_scale: both semi-axes are multiplied by this, > 0. The default
            1.15 brings all ten Monk skin tones inside while neutral grey
            (Cb = Cr = 128) stays outside (measured in `ycbcr`).
        lower_fraction: the part of the upright skin region that holds the
            mouth: this fraction of its vertical extent, from the chin up, (0, 1].
        orientation_tolerance: skin-ratio lead another side of the face box
            needs over the bottom half before the face counts as rotated, [0, 1).
        upright_tolerance_deg: with keypoints, a face tilted less than this is
            treated as upright (no rotation of the crop), degrees, [0, 45].

    Speed:
        analysis_size: longer side, px, of the copy of the face box on which
            skin (and, without keypoints, lip) colours are analysed; larger face
            boxes are shrunk with area averaging and the masks scaled back up.
            The regions are mean-filtered with a kernel of ~10% of the face, so
            a 256 px analysis loses nothing visible. Integer >= 32.

    Blur and fusion:
        blur_fraction: mean-filter kernel size as a fraction of the face size;
            rounded to an odd number >= 3, (0, 1].
        clean_fraction: structuring element of the open/close that cleans the
            lip mask, fraction of the face size; odd, >= 3 px, (0, 1].
        feather_fraction: soft edge of the blurred region, fraction of the face
            size (0 gives a hard edge), [0, 1].
        fusion_weight: w in blur = w * A + (1 - w) * B, open interval (0, 1).

    Gradient:
        gradient_kernel_size: size of the second zero-sum kernel A2, 5 or 7.
        gradient_gain: fixed scale of |I * A1 * A2|: with gain 1 an ideal step
            edge of height 1 reaches exactly 1.0; the default 2.0 makes a step
            of half the grey range saturate. Values above 1 are clipped. > 0.
    """

    red_weight: float = 0.24
    hue_threshold_deg: float = 300.0
    lip_min_saturation: float = 0.06
    lip_min_intensity: float = 0.04
    keypoint_margin: float = 0.25

    skin_cb_centre: float = 109.38
    skin_cr_centre: float = 152.02
    skin_theta_rad: float = 2.53
    skin_ecx: float = 1.60
    skin_ecy: float = 2.41
    skin_axis_a: float = 25.39
    skin_axis_b: float = 14.03
    skin_axis_scale: float = 1.15
    lower_fraction: float = 0.4
    orientation_tolerance: float = 0.05
    upright_tolerance_deg: float = 10.0

    analysis_size: int = 256

    blur_fraction: float = 0.1
    clean_fraction: float = 0.02
    feather_fraction: float = 0.01
    fusion_weight: float = 0.5

    gradient_kernel_size: int = 5
    gradient_gain: float = 2.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise InputError(f"PreprocessConfig.{name} must be a finite number, got {value!r}")
        _in_range("red_weight", self.red_weight, 0.0, 1.0, hi_open=True)
        _in_range("hue_threshold_deg", self.hue_threshold_deg, 0.0, 360.0, hi_open=True)
        _in_range("lip_min_saturation", self.lip_min_saturation, 0.0, 1.0)
        _in_range("lip_min_intensity", self.lip_min_intensity, 0.0, 1.0)
        _in_range("keypoint_margin", self.keypoint_margin, 0.0, math.inf)
        _in_range("skin_cb_centre", self.skin_cb_centre, 0.0, 255.0)
        _in_range("skin_cr_centre", self.skin_cr_centre, 0.0, 255.0)
        for name in ("skin_axis_a", "skin_axis_b", "skin_axis_scale", "gradient_gain"):
            _in_range(name, getattr(self, name), 0.0, math.inf, lo_open=True)
        _in_range("lower_fraction", self.lower_fraction, 0.0, 1.0, lo_open=True)
        _in_range("orientation_tolerance", self.orientation_tolerance, 0.0, 1.0, hi_open=True)
        _in_range("upright_tolerance_deg", self.upright_tolerance_deg, 0.0, 45.0)
        _in_range("blur_fraction", self.blur_fraction, 0.0, 1.0, lo_open=True)
        _in_range("clean_fraction", self.clean_fraction, 0.0, 1.0, lo_open=True)
        _in_range("feather_fraction", self.feather_fraction, 0.0, 1.0)
        _in_range("fusion_weight", self.fusion_weight, 0.0, 1.0, lo_open=True, hi_open=True)
        if not isinstance(self.analysis_size, int) or self.analysis_size < 32:
            raise InputError(f"PreprocessConfig.analysis_size must be an integer >= 32 px, "
                             f"got {self.analysis_size!r}")
        if self.gradient_kernel_size not in (5, 7):
            raise InputError(
                f"PreprocessConfig.gradient_kernel_size must be 5 or 7, got {self.gradient_kernel_size!r}")


def odd_kernel_size(face_size: float, fraction: float) -> int:
    """Odd kernel size >= 3 px: `fraction` of `face_size` (px), rounded to the nearest odd."""
    size = int(round(face_size * fraction))
    if size % 2 == 0:
        size += 1
    return max(3, size)


def _in_range(name: str, value: float, lo: float, hi: float,
              lo_open: bool = False, hi_open: bool = False) -> None:
    too_low = value <= lo if lo_open else value < lo
    too_high = value >= hi if hi_open else value > hi
    if too_low or too_high:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise InputError(f"PreprocessConfig.{name} must be in {left}{lo:g}, {hi:g}{right}, got {value!r}")
