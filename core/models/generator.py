"""The decoder/generator subnetwork and its discriminator.

Generator: one output crop per target frame, from
- the S20 passes of the input frame (mouth blur picture + gradient, 4 channels),
- the input frame's lip contours as a heatmap (1 channel: the keypoints as position),
- a reference crop of the same character at another time (3 channels: identity),
conditioned at the bottleneck on the frozen sync expert's visual embedding of the frame's
group of frames and audio embedding of the same moment (`GeneratorConfig.audio`: the audio
front end of those embeddings) and, `GeneratorConfig.visemes` > 0, on the frame's viseme
weights (the mouth shape the sound asks for, as `core.models.visemes` reads it). A U-Net (S -> S/8 px and back) with the condition tiled
over the S/8 x S/8 bottleneck. A warping generator of `GeneratorConfig.scale` 2 adds an
outer level: it reads the reference crop at 2S and the U-Net's last features, and adds its
own correction to the U-Net's head upsampled to 2S, so flow, blend and colour come at twice
the crop side (its correction starts at 0: grown from a generator of scale 1, it first
gives that generator's parts, upsampled). Output RGB in [0, 1]; the caller composites
it back inside the feathered mouth-region mask (`composite`), so pixels outside the region
are the input's own. Two heads (`GeneratorConfig.output`): "rgb" draws the crop; "warp"
moves the reference's own pixels by a dense flow and synthesises only what they lack
(`core.models.warp`), which the pipeline applies at the frame's own resolution.

Discriminator: a PatchGAN on mouth-region crops: (B, 3, S, S) -> (B, 1, S/8, S/8) logits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..audio.frontend import FRONT_END, AudioFrontEnd
from .blocks import Residual, Up, conv
from .config import check_front_end, check_size, config_from_dict, front_end_field
from .warp import WARP_CHANNELS, WarpParts, compose, split_head


# The source document's ablation: a Wav2Lip-style frame with its lower half masked, the
# mouth blur picture alone, blur + gradient map, and blur + gradient + keypoint heatmap
# (the shipped default). Unused channels are zeros, so all four share one architecture.
INPUT_VARIANTS = ("masked", "blur", "blur+gradient", "blur+gradient+keypoints")
OUTPUTS = ("rgb", "warp")   # the head: the crop's colour, or a warp of the reference
VISEME_COUNT = 7            # the viseme weights per frame (`core.mesh.viseme_names.VISEMES`)


@dataclass(frozen=True)
class GeneratorConfig:
    size: int = 64           # crop side S, px
    width: int = 32          # channels of the first stage
    embedding: int = 64      # sync expert embedding size (visual and audio each)
    blur_fraction: float = 0.03  # S20 mouth blur of the inputs (as the sync expert's)
    inputs: str = "blur+gradient+keypoints"  # what the generator sees: one of INPUT_VARIANTS
    audio: AudioFrontEnd = FRONT_END  # the audio its sync expert's embeddings read
    output: str = "rgb"      # the head: one of OUTPUTS
    visemes: int = 0         # viseme weights per frame the condition reads: 0 or VISEME_COUNT
    scale: int = 1           # a warping head's parts are drawn at scale x size px: 1 or 2
    LATER_FIELDS = ("visemes", "scale")   # files written before them read none / scale 1

    def __post_init__(self) -> None:
        check_size(self.size, "generator")
        object.__setattr__(self, "audio", front_end_field(self.audio))
        if self.inputs not in INPUT_VARIANTS:
            raise ValueError(f"inputs must be one of {INPUT_VARIANTS}, got {self.inputs!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.visemes not in (0, VISEME_COUNT):
            raise ValueError(f"visemes must be 0 or {VISEME_COUNT}, got {self.visemes!r}")
        if self.scale not in (1, 2) or (self.scale == 2 and self.output != "warp"):
            raise ValueError(f"scale must be 1, or 2 for a warping head; got {self.scale!r} "
                             f"with output {self.output!r}")

    @property
    def out_size(self) -> int:
        """The side (px) of the parts the head draws: scale x size."""
        return self.scale * self.size

    def to_dict(self) -> dict:
        return asdict(self)


class Generator(nn.Module):
    IN_CHANNELS = 4 + 1 + 3  # source passes, keypoint heatmap, reference

    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.enc1 = conv(self.IN_CHANNELS, w)               # S
        self.enc2 = conv(w, 2 * w, 2)                       # S/2
        self.enc3 = conv(2 * w, 3 * w, 2)                   # S/4
        self.enc4 = conv(3 * w, 4 * w, 2)                   # S/8
        self.condition = nn.Sequential(nn.Linear(2 * config.embedding + config.visemes, 4 * w),
                                       nn.ReLU(inplace=True))
        self.middle = nn.Sequential(conv(8 * w, 4 * w), Residual(4 * w), Residual(4 * w))
        self.up3 = Up(4 * w, 3 * w, 3 * w)
        self.up2 = Up(3 * w, 2 * w, 2 * w)
        self.up1 = Up(2 * w, w, w)
        self.head = nn.Conv2d(w, WARP_CHANNELS if config.output == "warp" else 3, 3, 1, 1)
        if config.scale == 2:                   # the outer level, at 2S (module docstring)
            self.outer_in = conv(3, w // 2)
            self.outer_up = Up(w, w // 2, w // 2)
            self.outer_head = nn.Conv2d(w // 2, WARP_CHANNELS, 3, 1, 1)
            nn.init.zeros_(self.outer_head.weight)
            nn.init.zeros_(self.outer_head.bias)

    OUTER = ("outer_in", "outer_up", "outer_head")   # the outer level's modules

    def outer_parameters(self) -> list[nn.Parameter]:
        """The outer level's parameters (empty at scale 1)."""
        return [p for name, p in self.named_parameters() if name.split(".")[0] in self.OUTER]

    @property
    def warps(self) -> bool:
        """Whether the head warps the reference (else it draws the crop)."""
        return self.config.output == "warp"

    def forward(self, source: torch.Tensor, heatmap: torch.Tensor, reference: torch.Tensor,
                visual_embedding: torch.Tensor, audio_embedding: torch.Tensor,
                visemes: torch.Tensor | None = None, return_features: bool = False,
                reference_large: torch.Tensor | None = None):
        """source (B,4,S,S), heatmap (B,1,S,S), reference (B,3,S,S), embeddings (B,D) each,
        visemes (B,7) (only for a generator that reads them), reference_large (B,3,2S,2S) the
        reference at the parts' size (scale 2 only) -> RGB (B,3,S',S') in [0, 1], S' =
        `config.out_size` (a warping head's parts composed with the reference at that
        size); with `return_features` also the bottleneck features (B,4W,S/8,S/8)."""
        raw, features = self.raw(source, heatmap, reference, visual_embedding, audio_embedding,
                                 visemes, reference_large)
        if not self.warps:
            rgb = torch.sigmoid(raw)
        else:
            rgb = compose(split_head(raw), reference_large if self.config.scale == 2 else reference)
        return (rgb, features) if return_features else rgb

    def parts(self, source: torch.Tensor, heatmap: torch.Tensor, reference: torch.Tensor,
              visual_embedding: torch.Tensor, audio_embedding: torch.Tensor,
              visemes: torch.Tensor | None = None,
              reference_large: torch.Tensor | None = None) -> WarpParts:
        """A warping generator's parts at `config.out_size` (inputs as `forward`)."""
        if not self.warps:
            raise ValueError("an RGB generator has no warp parts")
        return split_head(self.raw(source, heatmap, reference, visual_embedding,
                                   audio_embedding, visemes, reference_large)[0])

    def raw(self, source: torch.Tensor, heatmap: torch.Tensor, reference: torch.Tensor,
            visual_embedding: torch.Tensor, audio_embedding: torch.Tensor,
            visemes: torch.Tensor | None = None,
            reference_large: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The head's output before its activation (B, 3 or 6, S', S') and the bottleneck
        features (B, 4W, S/8, S/8)."""
        if (self.config.scale == 2) != (reference_large is not None):
            raise ValueError("a generator of scale 2, and only one, reads the reference at "
                             "twice the crop side: pass reference_large")
        condition = [visual_embedding, audio_embedding]
        if self.config.visemes:
            if visemes is None:
                raise ValueError("this generator reads the frames' viseme weights: pass them")
            condition.append(visemes.to(visual_embedding.dtype))
        e1 = self.enc1(torch.cat([source, heatmap, reference], dim=1))
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        c = self.condition(torch.cat(condition, dim=1))
        c = c[:, :, None, None].expand(-1, -1, *e4.shape[-2:])
        features = self.middle(torch.cat([e4, c], dim=1))
        x = self.up1(self.up2(self.up3(features, e3), e2), e1)
        raw = self.head(x)
        if self.config.scale == 2:
            outer = self.outer_up(x, self.outer_in(reference_large))
            raw = nn.functional.interpolate(raw, size=outer.shape[-2:], mode="bilinear",
                                            align_corners=False) + self.outer_head(outer)
        return raw, features


def select_inputs(inputs: str, passes: torch.Tensor, heatmap: torch.Tensor,
                  frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's (source (B,4,S,S), heatmap (B,1,S,S)) under input variant `inputs`,
    from the S20 passes (B,4,S,S), the lip heatmap (B,1,S,S) and the input crop (B,3,S,S)."""
    if inputs == "blur+gradient+keypoints":
        return passes, heatmap
    zeros = torch.zeros_like(heatmap)
    if inputs == "masked":                        # Wav2Lip: the lower half hidden
        top = (torch.arange(frame.shape[-2], device=frame.device) < frame.shape[-2] // 2)
        return torch.cat([frame * top.view(1, 1, -1, 1), zeros], dim=1), zeros
    if inputs == "blur":
        return torch.cat([passes[:, :3], zeros], dim=1), zeros
    return passes, zeros                          # blur+gradient


def composite(generated: torch.Tensor, frame: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mask * generated + (1 - mask) * frame; (B,3,S,S), (B,3,S,S), (B,1,S,S)."""
    return mask * generated + (1 - mask) * frame


class Discriminator(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        w = width

        def block(c_in, c_out):
            return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1),
                                 nn.LeakyReLU(0.2, inplace=True))

        self.net = nn.Sequential(block(3, w), block(w, 2 * w), block(2 * w, 4 * w),
                                 nn.Conv2d(4 * w, 1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) in [0, 1] -> patch logits (B, 1, S/8, S/8), real = high."""
        return self.net(image * 2 - 1)


def load_generator(path, device: torch.device | str = "cpu") -> Generator:
    """A trained generator from its safetensors file, on `device`, in eval mode;
    InputError when it was trained on other audio than `FRONT_END`."""
    from .weights import load_network

    def build(config: dict) -> Generator:
        config = config_from_dict(GeneratorConfig, config, path)
        check_front_end(config.audio, path)
        return Generator(config)

    return load_network(path, "generator", build, device)
