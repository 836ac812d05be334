"""Stage 2: the generator and discriminator, with the sync expert frozen.

Each sample makes 5 consecutive talking frames from another render of the same shot
(neutral, dub or talking input: the output must follow the audio, not the blurred source).
Per step: the discriminator learns real talking crops vs composited generated ones
(binary cross-entropy); then the generator minimises

    L1 (whole crop, plus the mouth region weighted MOUTH_WEIGHT)
    + SYNC_WEIGHT * BCE(sync expert(generated group, audio), in sync)
    + ADV_WEIGHT * BCE(discriminator(generated), real)
    + ssim_weight * (1 - SSIM(generated, truth) in the mouth region).

A generator that reads viseme weights (`GeneratorConfig.visemes`) is given those the talking
frames were driven by, with noise (`VISEME_NOISE`) as a reader of the sound would miss them.

A warping generator (`GeneratorConfig.output` "warp") adds
    + flow_weight * the flow's roughness (`core.models.warp.flow_roughness`)
    + blend_weight * the mouth region's mean (1 - blend)
    + colour_weight * the mouth region's mean (1 - blend) * |colour - truth|,
so that its flow, upsampled to the frame's resolution, moves the reference smoothly, and
it draws only where the reference cannot be moved into place (the drawn colour is made
at model size, the moved reference at the frame's); the last term asks the drawn colour
itself to be right wherever it shows, not only the mix: without it a faint share (blend
0.9) may carry a colour far off, (truth - moved) / (1 - blend), which the frame's
resolution shows as red and green fringes.

The SSIM term (off by default in the base recipe) asks directly for the structure the
evaluation's SSIM measures; the shipped generator's last two rounds use it.

The last `finetune_steps` steps are the adjacent-frame fine-tune of the second source
document applied to the generator: L = L1(f_t - f_t+1) + w * (J_t + J_t+1), f the
generator's bottleneck features, J the per-frame losses above. Two readings of the
feature term (`temporal`):

- "features" (the first shipped generator's): mean |f_t+1 - f_t| over every adjacent
  pair. The document's frames are a still head; a talking mouth must change, so this term
  fights articulation, and the generator can also meet it by shrinking its features.
- "steady" (default, the shipped generator's): the document's premise kept, that frames
  which look the same should have the same features: each pair's |f_t+1 - f_t| over mean
  |f| (no gain from shrinking), weighted by exp(-d / STEADY_SCALE), d the truth's mean
  mouth-region change between the two frames.

`cosine` lowers both learning rates as a cosine to 5 % over the run (as for the sync
expert), so the last steps, the fine-tune among them, settle instead of jumping.
`input_mix` sets the share of samples per input version (default `DEFAULT_INPUT_MIX`,
a quarter of them talking). The talking input's blur picture and lip contours show the target mouth,
which teaches the generator to copy the source; the shipped generator goes on from such a
run with `{"dub": 1}` (the dubbed render where a clip has one, else the neutral one).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..dataset.reader import DEFAULT_INPUT_MIX, ClipSet
from ..errors import InputError
from ..models.generator import (Discriminator, Generator, GeneratorConfig, composite,
                                select_inputs)
from ..models.passes import SoftPasses
from ..models.sync import load_sync_expert
from ..models.warp import compose, flow_roughness, grow_head, split_head
from ..models.weights import load_model_weights, save_weights
from ..preprocess.config import PreprocessConfig
from .bend import bend as bend_batch, check_share
from .recolour import recolour as recolour_batch
from .generator_eval import clip_measures
from .loop import RunConfig
from ..models.ssim import masked_ssim
from .sync import cosine_lr

MOUTH_WEIGHT = 4.0     # extra L1 inside the mouth region (the only place output is kept)
SYNC_WEIGHT = 0.05
ADV_WEIGHT = 0.02
FLOW_WEIGHT = 0.05
BLEND_WEIGHT = 0.0     # the first warping round's; the shipped second round's is 0.1
COLOUR_WEIGHT = 0.0    # the drawn colour's own error where it shows (off before run 18)
TEMPORAL_WEIGHT = 1.0  # w of the fine-tune: L1(f_t - f_t+1) + w * (J_t + J_t+1)
STEADY_SCALE = 0.01    # truth change (0-1 units, mouth region) at which a pair counts 1/e
TEMPORAL_TERMS = ("features", "steady")
VISEME_NOISE = 0.05    # std of the noise on the driven viseme weights a step reads
EVAL_VERSIONS = ("neutral", "dub", "talking")


def check_input_mix(mix: dict[str, float]) -> dict[str, float]:
    """The share of training samples per input version, checked (see generator_batch)."""
    unknown = sorted(set(mix) - set(EVAL_VERSIONS))
    if unknown or not mix or any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise InputError(f"input mix {mix}: give shares >= 0, not all 0, of "
                         f"{', '.join(EVAL_VERSIONS)} (e.g. neutral=0.75,dub=0.25)"
                         + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return dict(mix)


class GeneratorStage:
    name = "generator"

    def __init__(self, run: RunConfig, device: torch.device,
                 config: GeneratorConfig = GeneratorConfig(), sync_weights=None,
                 eval_split: str = "val", finetune_steps: int | None = None,
                 sync_weight: float | None = None, adv_weight: float | None = None,
                 init=None, temporal: str = "steady", cosine: bool = False,
                 input_mix: dict[str, float] | None = None, ssim_weight: float = 0.0,
                 flow_weight: float | None = None, blend_weight: float | None = None,
                 colour_weight: float | None = None, bend: float = 0.0,
                 recolour: float = 0.0):
        from ..models import shipped

        if temporal not in TEMPORAL_TERMS:
            raise InputError(f"unknown temporal term '{temporal}': use one of "
                             f"{', '.join(TEMPORAL_TERMS)}")
        self.temporal, self.cosine = temporal, cosine
        self.input_mix = check_input_mix(input_mix) if input_mix is not None else None
        self.device, self.run, self.config = device, run, config
        self.sync_weight = SYNC_WEIGHT if sync_weight is None else sync_weight
        self.adv_weight = ADV_WEIGHT if adv_weight is None else adv_weight
        if ssim_weight < 0:
            raise InputError(f"SSIM weight {ssim_weight}: give a weight >= 0")
        self.ssim_weight = ssim_weight
        self.flow_weight = FLOW_WEIGHT if flow_weight is None else flow_weight
        self.blend_weight = BLEND_WEIGHT if blend_weight is None else blend_weight
        self.colour_weight = COLOUR_WEIGHT if colour_weight is None else colour_weight
        if min(self.flow_weight, self.blend_weight, self.colour_weight) < 0:
            raise InputError("the flow, blend and colour weights must be >= 0")
        self.bend = check_share(bend)
        self.recolour = check_share(recolour, "recolour")
        self.warp_terms: dict[str, torch.Tensor] = {}   # the last warp's (generate)
        passes = PreprocessConfig(blur_fraction=config.blur_fraction)
        self.train_set = ClipSet(run.data, "train", config.size, run.max_clips, config=passes,
                                 front_end=config.audio, scale=config.scale)
        self.eval_set = ClipSet(run.data, eval_split, config.size, run.max_clips, config=passes,
                                front_end=config.audio, scale=config.scale)
        self.group = config.audio.group_frames
        sync_path = sync_weights or shipped("sync")
        self.sync = load_sync_expert(sync_path, device)
        if (self.sync.config.size, self.sync.config.embedding) != (config.size, config.embedding):
            raise InputError(f"the sync expert '{sync_path}' reads {self.sync.config.size} px "
                             f"crops into {self.sync.config.embedding}-d embeddings; this "
                             f"generator is {config.size} px, {config.embedding}-d: train the "
                             f"expert with --size {config.size} first (or give --sync).")
        for p in self.sync.parameters():
            p.requires_grad_(False)
        self.passes = SoftPasses(config.size).to(device)
        self.generator = Generator(config).to(device)
        self.growing = False     # True: the outer level is new and learns alone (`load`)
        if init is not None:                 # go on from trained weights (a new expert)
            self.load(init)
        self.discriminator = Discriminator().to(device)
        learnt = self.generator.outer_parameters() if self.growing else None
        if learnt is not None:                  # no gradients for what does not learn
            for parameter in set(self.generator.parameters()) - set(learnt):
                parameter.requires_grad_(False)
        self.opt_g = torch.optim.Adam(learnt or self.generator.parameters(), lr=run.lr,
                                      betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=run.lr,
                                      betas=(0.5, 0.999))
        self.finetune_steps = (max(1, run.steps // 5) if finetune_steps is None
                               else min(finetune_steps, run.steps))
        self.bce = nn.BCEWithLogitsLoss()
        self.before: dict[str, float] = {}

    def state(self) -> dict:
        return {"generator": self.generator, "discriminator": self.discriminator,
                "opt_g": self.opt_g, "opt_d": self.opt_d}

    # -- the forward pass shared by training and evaluation ---------------------------------

    def at_out(self, key: str) -> str:
        """The batch key of image `key` at the size the generator draws (`_large` at
        scale 2)."""
        return key + "_large" if self.config.scale == 2 else key

    def generate(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Composited output (B, T, 3, S', S') at the parts' size S' (`config.out_size`)
        and bottleneck features (B, T, C, s, s)."""
        b, t = batch["input"].shape[:2]
        with torch.no_grad():
            groups = torch.stack([batch["passes"][:, k:k + self.group].flatten(1, 2)
                                  for k in range(t)], dim=1)               # (B, T, 4G, S, S)
            visual = self.sync.embed_visual(groups.flatten(0, 1))          # (B*T, D)
            audio = self.sync.embed_audio(batch["audio"].flatten(0, 1))    # (B*T, D)
        source, heatmap = select_inputs(self.config.inputs,
                                        batch["passes"][:, 2:2 + t].flatten(0, 1),
                                        batch["heatmap"].flatten(0, 1),
                                        batch["input"].flatten(0, 1))
        def per_frame(key):                                  # (B, C, s, s) -> (B*T, C, s, s)
            return batch[key][:, None].expand(-1, t, -1, -1, -1).flatten(0, 1)

        reference = per_frame("reference")
        large = per_frame("reference_large") if self.config.scale == 2 else None
        visemes = batch["visemes"].flatten(0, 1) if self.config.visemes else None
        raw, features = self.generator.raw(source, heatmap, reference, visual, audio, visemes,
                                           large)
        mask = batch[self.at_out("mask")].flatten(0, 1)
        if self.generator.warps:
            parts = split_head(raw)
            rgb = compose(parts, reference if large is None else large)
            shown = (1 - parts.blend) * mask                               # (N, 1, S', S')
            wrong = (parts.colour - batch[self.at_out("target")].flatten(0, 1)
                     ).abs().mean(1, keepdim=True)
            self.warp_terms = {"flow": flow_roughness(parts.flow),
                               "drawn": shown.sum() / (mask.sum() + 1e-6),
                               "colour": (shown * wrong).sum() / (mask.sum() + 1e-6)}
        else:
            rgb = torch.sigmoid(raw)
        out = composite(rgb, batch[self.at_out("input")].flatten(0, 1), mask)
        return out.unflatten(0, (b, t)), features.unflatten(0, (b, t))

    def sync_logit(self, frames: torch.Tensor, mask: torch.Tensor,
                   audio: torch.Tensor) -> torch.Tensor:
        """Sync expert logit (B,) of G frames (B, G, 3, S', S') with their audio (B, 1, M,
        W) and their model-size mask (B, G, 1, S, S); frames larger than the model's side
        (a scale-2 generator's) are shrunk to it by pixel-area averaging first."""
        if frames.shape[-1] != mask.shape[-1]:
            frames = nn.functional.adaptive_avg_pool2d(frames.flatten(0, 1), mask.shape[-2:]
                                                       ).unflatten(0, frames.shape[:2])
        b, t = frames.shape[:2]
        passes = self.passes(frames.flatten(0, 1), mask.flatten(0, 1)).unflatten(0, (b, t))
        return self.sync(passes.flatten(1, 2), audio)

    def _losses(self, batch: dict, out: torch.Tensor) -> dict[str, torch.Tensor]:
        target, mask = batch[self.at_out("target")], batch[self.at_out("mask")]
        l1 = (out - target).abs()
        recon = l1.mean() + MOUTH_WEIGHT * (l1 * mask).sum() / (3 * mask.sum() + 1e-6)
        sync = self.bce(self.sync_logit(out, batch["mask"], batch["group_audio"]),
                        torch.ones(out.shape[0], device=out.device))
        adv_logits = self.discriminator(out.flatten(0, 1))
        adv = self.bce(adv_logits, torch.ones_like(adv_logits))
        structure = 1 - masked_ssim(out.flatten(0, 1), target.flatten(0, 1), mask.flatten(0, 1))
        losses = {"recon": recon, "sync": sync, "adv": adv, "ssim": structure,
                  "total": recon + self.sync_weight * sync + self.adv_weight * adv
                  + self.ssim_weight * structure}
        if self.generator.warps:
            losses.update(self.warp_terms)
            losses["total"] = (losses["total"] + self.flow_weight * self.warp_terms["flow"]
                               + self.blend_weight * self.warp_terms["drawn"]
                               + self.colour_weight * self.warp_terms["colour"])
        return losses

    # -- training -----------------------------------------------------------------------------

    def temporal_term(self, features: torch.Tensor, target: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
        """The fine-tune's L1(f_t - f_t+1) over adjacent pairs. features (B, T, C, s, s);
        target (B, T, 3, S, S) and mask (B, T, 1, S, S) say where the truth holds still."""
        change = (features[:, 1:] - features[:, :-1]).abs()
        if self.temporal == "features":
            return change.mean()
        relative = change.mean(dim=(2, 3, 4)) / (features.abs().mean() + 1e-6)   # (B, T-1)
        both = mask[:, 1:] * mask[:, :-1]
        truth = ((target[:, 1:] - target[:, :-1]).abs() * both).sum(dim=(2, 3, 4)) / (
            3 * both.sum(dim=(2, 3, 4)) + 1e-6)
        return (torch.exp(-truth / STEADY_SCALE) * relative).mean()

    def train_step(self, rng: np.random.Generator, step: int) -> dict[str, float]:
        finetune = step > self.run.steps - self.finetune_steps
        if finetune and not self.before:
            self.before = {f"before_{k}": v for k, v in self.evaluate().items()}
            self._save_before_finetune()
        if self.cosine:
            for optimizer in (self.opt_g, self.opt_d):
                for group in optimizer.param_groups:
                    group["lr"] = cosine_lr(self.run.lr, step, self.run.steps)
        self.generator.train()
        if self.growing:                          # the grown-from part keeps its statistics
            for name, module in self.generator.named_children():
                if name not in Generator.OUTER:
                    module.eval()
        self.discriminator.train()
        batch = self.tensors(self.train_set.generator_batch(rng, max(1, self.run.batch // 4),
                                                             self.input_mix))
        if self.bend:
            batch = bend_batch(rng, batch, self.bend)
        if self.recolour:
            batch = recolour_batch(rng, batch, self.recolour)
        if self.config.visemes:                  # as a reader of the sound would miss them
            noise = torch.from_numpy(rng.normal(0, VISEME_NOISE, batch["visemes"].shape))
            batch["visemes"] = (batch["visemes"] + noise.to(batch["visemes"])).clamp(0, 1)
        out, features = self.generate(batch)

        real = self.discriminator(batch[self.at_out("target")].flatten(0, 1))
        fake = self.discriminator(out.detach().flatten(0, 1))
        loss_d = self.bce(real, torch.ones_like(real)) + self.bce(fake, torch.zeros_like(fake))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        losses = self._losses(batch, out)
        loss_g = losses["total"]
        if finetune:
            temporal = self.temporal_term(features, batch[self.at_out("target")],
                                          batch[self.at_out("mask")])
            loss_g = temporal + TEMPORAL_WEIGHT * 2 * losses["total"]
            losses["temporal"] = temporal
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return {"d": loss_d.item(), **{k: v.item() for k, v in losses.items() if k != "total"}}

    def tensors(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """A batch's arrays as tensors on the stage's device."""
        return {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}

    # -- held-out evaluation ------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, clip_set: ClipSet | None = None) -> dict[str, float]:
        """Per input version (neutral, dub, talking) on whole held-out clips:

        mouth_l1 / mouth_psnr: the composited output vs the talking truth in the mouth region;
        sync_p: the sync expert's mean in-sync probability of the output's 5-frame groups
            with the talking audio (sync_p_truth: of the truth itself, sync_p_input: of the
            unchanged input frames);
        motion_corr: correlation over time between how far the output's mouth region is
            from the neutral render and how far the truth's is (the mouth opens and closes
            with the audio, not with the source); motion: the mean of the first over the
            mean of the second (1 moves as much as the truth, the mask weighting each pixel);
        flicker / flicker_truth: mean |frame-to-frame change| in the mouth region.
        """
        clip_set = clip_set or self.eval_set
        self.generator.eval()
        results: dict[str, list] = {}
        for version in EVAL_VERSIONS:
            rows = [clip_measures(self, clip, version) for clip in clip_set.clips
                    if version in clip.versions and clip.n_frames >= 2 * self.group - 1]
            if not rows:
                continue
            for key in rows[0]:
                values = [r[key] for r in rows if np.isfinite(r[key])]
                results[f"{version}_{key}"] = [float(np.mean(values)) if values else float("nan")]
        metrics = {k: v[0] for k, v in results.items()}
        metrics.update(self.before)
        return metrics

    # -- export -------------------------------------------------------------------------------

    def export(self) -> dict[str, torch.Tensor]:
        return dict(self.generator.state_dict())

    def _save_before_finetune(self) -> None:
        """OUT/generator/before_finetune.safetensors: the weights the fine-tune starts from
        (kept from the first pass when a run resumes inside the fine-tune)."""
        path = Path(self.run.out) / self.name / "before_finetune.safetensors"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            save_weights(path, self.export(), self.metadata())

    def metadata(self) -> dict[str, str]:
        return {"model": "generator", "config": json.dumps(self.config.to_dict()),
                "finetune_steps": str(self.finetune_steps), "temporal": self.temporal,
                "cosine_lr": str(self.cosine),
                "input_mix": json.dumps(self.input_mix or DEFAULT_INPUT_MIX),
                "sync_weight": str(self.sync_weight), "adv_weight": str(self.adv_weight),
                "ssim_weight": str(self.ssim_weight), "flow_weight": str(self.flow_weight),
                "blend_weight": str(self.blend_weight),
                "colour_weight": str(self.colour_weight), "bend": str(self.bend),
                "recolour": str(self.recolour),
                "outer_level_only": str(self.growing)}

    def load(self, path) -> None:
        """Weights of a trained generator; an RGB generator's head is grown into a
        warping one (`core.models.warp.grow_head`) when this generator warps, a
        generator's condition that reads no viseme weights is grown into one that reads
        them (their columns start at 0: the same output until they are learnt), and one of
        scale 1 into one of scale 2 (its outer level starts at 0 and learns alone:
        `growing`)."""
        tensors, config = load_model_weights(path, "generator")
        if config.get("output", "rgb") == "warp" and not self.generator.warps:
            raise InputError(f"'{path}' is a warping generator: go on from it with "
                             "--output warp.")
        if config.get("visemes", 0) and not self.config.visemes:
            raise InputError(f"'{path}' reads viseme weights: go on from it with --visemes.")
        if self.generator.warps and config.get("output", "rgb") == "rgb":
            head = grow_head({"weight": tensors["head.weight"], "bias": tensors["head.bias"]})
            tensors["head.weight"], tensors["head.bias"] = head["weight"], head["bias"]
        if self.config.visemes and not config.get("visemes", 0):
            weight = tensors["condition.0.weight"]
            tensors["condition.0.weight"] = torch.cat(
                [weight, weight.new_zeros(weight.shape[0], self.config.visemes)], dim=1)
        scale = config.get("scale", 1)
        if scale > self.config.scale:
            raise InputError(f"'{path}' draws its parts at scale {scale}: go on from it with "
                             f"--scale {scale}.")
        self.growing = scale < self.config.scale
        if self.growing:                        # the new outer level keeps its start
            state = self.generator.state_dict()
            tensors.update({k: v for k, v in state.items() if k.split(".")[0] in Generator.OUTER})
        self.generator.load_state_dict(tensors)

