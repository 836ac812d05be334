"""The first source document's ablation: what the generator should see of the input frame.

Four generators are trained on the same data, with the same frozen sync expert, seed,
steps and batch, differing only in their input (`models.generator.INPUT_VARIANTS`):
a Wav2Lip-style frame with its lower half masked, the mouth blur picture, blur + gradient
map, and blur + gradient + keypoint heatmap. Reported per variant: convergence (the first
evaluation step at which the generator's mean sync loss, the frozen expert's BCE on the
generated 5-frame groups, fell below `SYNC_LOSS_TARGET`) and the held-out metrics at the
last step (`GeneratorStage.evaluate`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..models.generator import INPUT_VARIANTS, GeneratorConfig
from ..progress import ProgressFn, no_progress
from .generator import GeneratorStage
from .loop import RunConfig, run_stage

SYNC_LOSS_TARGET = 0.5     # BCE: the expert's mean in-sync probability above ~0.6
REPORTED = ("neutral_motion_corr", "dub_motion_corr", "neutral_mouth_psnr", "neutral_sync_p",
            "neutral_flicker")


def steps_to_target(history: list[dict], target: float = SYNC_LOSS_TARGET) -> int | None:
    """The first evaluation step whose mean training sync loss is below `target`."""
    for record in history:
        if record["train"].get("sync", float("inf")) < target:
            return int(record["step"])
    return None


def run_ablation(run: RunConfig, sync_weights: str | Path | None = None,
                 variants: tuple[str, ...] = INPUT_VARIANTS,
                 progress: ProgressFn = no_progress, log=print) -> dict:
    """Train one generator per variant under `run.out/<variant>/` (the shipped generator's
    recipe: cosine learning rate, steady fine-tune term); returns and writes
    `run.out/ablation.json`: {variant: {"steps_to_sync_target", "seconds", metrics...}}."""
    out = Path(run.out)
    results = {}
    for variant in variants:
        config = GeneratorConfig(inputs=variant)
        folder = out / variant.replace("+", "_")
        record = run_stage(
            lambda r, device: GeneratorStage(r, device, config, sync_weights=sync_weights,
                                             cosine=True),
            RunConfig(**{**run.to_dict(), "out": str(folder)}), progress=progress, log=log)
        results[variant] = {"steps_to_sync_target": steps_to_target(record["history"]),
                            "seconds": record["seconds"],
                            **{k: record["heldout"].get(k) for k in REPORTED}}
    summary = {"steps": run.steps, "batch": run.batch, "seed": run.seed, "data": run.data,
               "sync_loss_target": SYNC_LOSS_TARGET, "variants": results}
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps(summary, indent=2))
    return summary


def format_table(summary: dict) -> str:
    """Markdown: one row per variant."""
    head = ("| generator input | steps to sync loss < "
            f"{summary['sync_loss_target']} | " + " | ".join(REPORTED) + " |")
    lines = [head, "|---" * (len(REPORTED) + 2) + "|"]
    for variant, r in summary["variants"].items():
        reached = r["steps_to_sync_target"]
        cells = [f"{r[k]:.3f}" if isinstance(r[k], float) else "n/a" for k in REPORTED]
        lines.append(f"| {variant} | {reached if reached is not None else 'not reached'} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)
