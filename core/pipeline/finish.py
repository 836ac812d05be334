"""The generated crop's finishing touches, after the networks (torch, no bpy).

`sharpen` (unsharp mask), `colour_reference` and `match_colour` (remove the generator's
low-frequency colour cast against the input, or the rest crop when re-voiced),
`grey_teeth` (drawn teeth lose the tint a held-out character's colours give them) and
`near_mouth` (where generated pixels are kept). Tensors are (N, C, S, S) float, images
in [0, 1], parser probabilities (N, 12, S, S); every scale is in crop sides, so the
same values hold at any crop side S.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models.parser import CLASS_NAMES, MOUTH_CLASSES
from ..models.ssim import luma

KEEP_CLASSES = tuple(CLASS_NAMES.index(n) for n in (
    "skin", "nose", "upper lip", "teeth", "lower lip", "mouth interior"))
SKIN_CLASSES = tuple(CLASS_NAMES.index(n) for n in ("skin", "nose"))
COLOUR_SIGMA = 1 / 8     # colour correction scale, in crop sides
SHARPEN_SIGMA = 1 / 64   # unsharp mask of the generated crop: blur scale, in crop sides,
SHARPEN_AMOUNT = 0.5     # and the share of (crop - blurred crop) added back
TEETH = CLASS_NAMES.index("teeth")
TEETH_CHROMA = 0.2       # share of the drawn teeth's chroma kept (teeth are near grey)
TEETH_SURE = 0.5         # the teeth probability from which that share is all that is kept
MOUTH_REACH = 1 / 16     # generated pixels reach this far (crop sides) past either mouth


def sharpen(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, S, S) in [0, 1]: the unsharp mask of generated crops `rgb` (same shape):
    rgb + SHARPEN_AMOUNT * (rgb - Gaussian(rgb, SHARPEN_SIGMA crop sides)), edges
    replicated. The generator's mouths are softer than the renders'."""
    blurred = gaussian_blur(rgb, SHARPEN_SIGMA * rgb.shape[-1], "replicate")
    return (rgb + SHARPEN_AMOUNT * (rgb - blurred)).clamp(0, 1)


def grey_teeth(rgb: torch.Tensor, made_probs: torch.Tensor) -> torch.Tensor:
    """(N, 3, s, s) drawn colour in [0, 1] with its chroma shrunk to TEETH_CHROMA where the
    parser sees teeth in the generated crop (probability TEETH_SURE or more; below it, in
    proportion; `made_probs` (N, 12, S, S), resampled to s), its luma (BT.601) kept. On a
    held-out character's colours the generator tints the teeth it draws (green on dark
    skin, docs/experiments.md 2026-12-06)."""
    teeth = (made_probs[:, TEETH:TEETH + 1] / TEETH_SURE).clamp(max=1)
    if teeth.shape[-1] != rgb.shape[-1]:
        teeth = nn.functional.interpolate(teeth, size=rgb.shape[-2:], mode="bilinear",
                                          align_corners=False)
    grey = luma(rgb)
    return (grey + (rgb - grey) * (1 - (1 - TEETH_CHROMA) * teeth)).clamp(0, 1)


def gaussian_blur(z: torch.Tensor, sigma: float, padding: str = "constant") -> torch.Tensor:
    """(N, C, H, W) blurred by a separable Gaussian of `sigma` px, out to 3 sigma;
    `padding`: 'constant' (zeros) or 'replicate' (edge pixels)."""
    radius = max(1, int(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=z.dtype, device=z.device)
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    g = g / g.sum()
    c = z.shape[1]
    z = nn.functional.pad(z, (radius, radius, radius, radius), mode=padding)
    z = nn.functional.conv2d(z, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return nn.functional.conv2d(z, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def near_mouth(input_probs: torch.Tensor, made_probs: torch.Tensor) -> torch.Tensor:
    """(N, S, S) in [0, 1]: the parser's mouth (lips, teeth, interior) in the input crop or
    in the generated one, grown by MOUTH_REACH. Elsewhere the input's own skin is kept: it
    is sharper than the generator's, and a neutral face's cheeks and chin barely move.

    input_probs, made_probs: (N, 12, S, S) parser class probabilities."""
    mouth = list(MOUTH_CLASSES)
    either = torch.maximum(input_probs[:, mouth].sum(dim=1), made_probs[:, mouth].sum(dim=1))
    reach = max(1, round(MOUTH_REACH * either.shape[-1]))
    return nn.functional.max_pool2d(either[:, None], 2 * reach + 1, stride=1,
                                    padding=reach)[:, 0]


def bank_keep(input_probs: torch.Tensor, bank_probs: torch.Tensor) -> torch.Tensor:
    """(N, S, S) in [0, 1]: where a bank's mouth (the character's own skin and jaw) is
    kept: wherever the input shows the face, and where it shows the background but the
    bank's mouth the face (a jaw dropped past the input's chin). Hair or anything else
    over the input's face stays.

    input_probs, bank_probs: (N, 12, S, S) parser class probabilities."""
    face = list(KEEP_CLASSES)
    background = CLASS_NAMES.index("background")
    return (input_probs[:, face].sum(dim=1)
            + input_probs[:, background] * bank_probs[:, face].sum(dim=1))


def colour_reference(crops: torch.Tensor, probs: torch.Tensor, made: torch.Tensor,
                     rest: torch.Tensor | None = None, rest_probs: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """What `match_colour` matches the generated crops to, and where it counts:
    (target (N, 3, S, S), weight (N, 1, S, S)).

    The input crops `crops`, wherever they and the generated crop show the same face part
    (skin, nose, lips, teeth, mouth interior). Re-voiced (`rest`: the rest frame's crops
    carried into each frame, which the generated mouth is made from), the skin still comes
    from the input crops (their light), the mouth from the rest crops: the input's old
    mouth, wide open and dark, would otherwise tint the new lips.

    crops, rest: (N, 3, S, S) in [0, 1]; probs, made, rest_probs: (N, 12, S, S) parser
    class probabilities of the input, generated and rest crops."""
    if rest is None:
        face = list(KEEP_CLASSES)
        return crops, (probs[:, face] * made[:, face]).sum(dim=1, keepdim=True)
    skin, mouth = list(SKIN_CLASSES), list(MOUTH_CLASSES)
    on_skin = (probs[:, skin] * made[:, skin]).sum(dim=1, keepdim=True)
    on_mouth = (rest_probs[:, mouth] * made[:, mouth]).sum(dim=1, keepdim=True)
    weight = on_skin + on_mouth
    return (on_skin * crops + on_mouth * rest) / weight.clamp_min(1e-6), weight


def match_colour(generated: torch.Tensor, target: torch.Tensor,
                 weight: torch.Tensor) -> torch.Tensor:
    """Remove the generator's low-frequency colour cast: add the smooth (Gaussian,
    `COLOUR_SIGMA` crop sides) weighted mean of target - generated, measured where
    `weight` (skin in both) is high, falling back to the crop's weighted mean.

    generated, target: (N, 3, S, S) in [0, 1]; weight: (N, 1, S, S) in [0, 1].
    """
    sigma = COLOUR_SIGMA * generated.shape[-1]

    def blur(z):
        return gaussian_blur(z, sigma)

    residual = (target - generated) * weight
    overall = residual.sum(dim=(2, 3), keepdim=True) / weight.sum(dim=(2, 3), keepdim=True
                                                                   ).clamp_min(1e-6)
    prior = 0.05
    shift = (blur(residual) + prior * overall) / (blur(weight) + prior)
    return (generated + shift).clamp(0, 1)
