"""The evaluation's results as numbers and text: per-scenario summaries, breakdowns by
engine, frame rate, language and character family, the Markdown table and the report folder."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

TARGETS = {"offset": "0 +- 1 frame", "confidence_ratio": ">= 0.9 (LSE-C within 10 % of "
           "the truth's)", "opening_corr": ">= 0.8", "ssim": ">= 0.85",
           "outside_identical": "true"}


def format_conditions(results: dict) -> str:
    """One line: the data set, its recipe's seed and options, and the clips' frame sizes."""
    data = results.get("data") or {}
    recipe = data.get("recipe") or {}
    options = ", ".join(f"{k} {v}" for k, v in (recipe.get("options") or {}).items()
                        if v is not None and k in ("resolution", "fps", "engine"))
    sizes = ", ".join(f"{w}x{h}" for h, w in data.get("frame_sizes", []))
    parts = [f"data `{data.get('folder', '?')}`"]
    if recipe:
        parts.append(f"seed {recipe.get('seed')}" + (f" ({options})" if options else ""))
    if sizes:
        parts.append(f"frames {sizes} px")
    return "; ".join(parts)




def summarise(per_clip: dict[str, dict]) -> dict:
    """Means of every measure over the clips, the offsets, the LSE-C ratio to the truth's,
    whether every clip kept its outside pixels, and the clips' own figures."""
    rows = list(per_clip.values())
    keys = [k for k in rows[0] if k not in ("outside_identical",)]
    summary = {"clips": len(rows)}
    for key in keys:
        values = [r[key] for r in rows if np.isfinite(r[key])]
        summary[key] = float(np.mean(values)) if values else float("nan")
    summary["offsets"] = [r["offset"] for r in rows]
    summary["offset_ok"] = all(abs(r["offset"]) <= 1 for r in rows)
    summary["confidence_ratio"] = summary["lse_c"] / summary["truth_lse_c"] \
        if summary["truth_lse_c"] > 0 else float("nan")
    summary["outside_identical"] = all(r["outside_identical"] for r in rows)
    summary["per_clip"] = per_clip
    return summary


# record fields a breakdown groups by: the manifest's, and "look" (`run.look_of`)
GROUPS = ("engine", "fps", "language", "family", "look")
GROUP_DEFAULTS = {"family": "cartoon"}   # the value of a field a record lacks (older sets)
GROUP_COLUMNS = (("LSE-C", "lse_c"), ("truth LSE-C", "truth_lse_c"),
                 ("opening corr", "opening_corr"), ("truth opening corr", "truth_opening_corr"),
                 ("PSNR dB", "psnr"), ("SSIM", "ssim"), ("sharpness", "sharpness"),
                 ("motion", "motion"))   # (head, measure) of a breakdown's table
GROUP_METRICS = tuple(key for _, key in GROUP_COLUMNS)


def breakdown(per_clip: dict[str, dict], records: dict[str, dict]) -> dict:
    """Means of GROUP_METRICS over the clips of each render engine, frame rate, language,
    character family and look (a record without one takes GROUP_DEFAULTS; a group no
    record has is left out): {group: {value: {"clips": n, metric: mean}}}, so a weakness
    on one engine, language, family or unseen look shows. records: clip id -> record."""
    result: dict = {}
    for group in GROUPS:
        if group not in GROUP_DEFAULTS and not any(group in records[c] for c in per_clip):
            continue

        def value_of(clip: str) -> str:
            return str(records[clip].get(group, GROUP_DEFAULTS.get(group)))

        values = sorted({value_of(clip) for clip in per_clip})
        result[group] = {}
        for value in values:
            rows = [m for clip, m in per_clip.items() if value_of(clip) == value]
            cell = {"clips": len(rows)}
            for key in GROUP_METRICS:
                finite = [r[key] for r in rows if np.isfinite(r[key])]
                cell[key] = float(np.mean(finite)) if finite else float("nan")
            result[group][value] = cell
    return result


def format_breakdown(results: dict) -> str:
    """A Markdown table per scenario of `breakdown`: one row per engine, frame rate,
    language, family and look, each followed by the same clips' input left as it is
    (the scenario's "by_do_nothing")."""
    heads = [head for head, _ in GROUP_COLUMNS]
    blocks = []
    for scenario, s in results["scenarios"].items():
        nothing = s.get("by_do_nothing", {})
        lines = [f"### {scenario}", "", "| group | clips | " + " | ".join(heads) + " |",
                 "|---" * (len(heads) + 2) + "|"]
        for group, cells in s.get("by", {}).items():
            for value, cell in cells.items():
                lines.append(_group_row(f"{group} {value}", cell))
                if value in nothing.get(group, {}):
                    lines.append(_group_row(f"{group} {value}: do nothing", nothing[group][value]))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _group_row(name: str, cell: dict) -> str:
    numbers = ["n/a" if not np.isfinite(cell[k]) else f"{cell[k]:.3f}" for k in GROUP_METRICS]
    return f"| {name} | {cell['clips']} | " + " | ".join(numbers) + " |"


COLUMNS = (("clips", "clips", "{:d}"), ("LSE-D", "lse_d", "{:.3f}"),
           ("LSE-C", "lse_c", "{:.3f}"), ("truth LSE-C", "truth_lse_c", "{:.3f}"),
           ("LSE-C ratio", "confidence_ratio", "{:.2f}"), ("offsets ok", "offset_ok", "{}"),
           ("opening corr", "opening_corr", "{:.3f}"),
           ("truth opening corr", "truth_opening_corr", "{:.3f}"), ("PSNR dB", "psnr", "{:.2f}"),
           ("SSIM", "ssim", "{:.3f}"), ("flicker", "flicker", "{:.2f}"),
           ("truth flicker", "truth_flicker", "{:.2f}"),
           ("sharpness (truth 1)", "sharpness", "{:.2f}"), ("motion (truth 1)", "motion", "{:.2f}"),
           ("outside identical", "outside_identical", "{}"))


def format_table(results: dict) -> str:
    """A Markdown table: one row per scenario, then one per input left as it is ("do
    nothing": the output is the input)."""
    lines = ["| scenario | " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    rows = [*results["scenarios"].items(),
            *((f"{scenario}: do nothing", s) for scenario, s in results["do_nothing"].items())]
    for name, s in rows:
        cells = []
        for _, key, fmt in COLUMNS:
            value = s[key]
            cells.append("n/a" if isinstance(value, float) and not np.isfinite(value)
                         else fmt.format(value))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(out: Path, results: dict, strips: dict[str, np.ndarray]) -> None:
    """eval.json, report.md and one strip PNG per scenario in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(results, indent=2))
    lines = [f"# Evaluation on split `{results['split']}` ({results['clips']} clips)", "",
             f"LSE-D / LSE-C judged by the {results['judge']}; "
             f"{format_conditions(results)}.", "",
             format_table(results), "", "Targets: " + "; ".join(
                 f"{k} {v}" for k, v in TARGETS.items()), "",
             "## By render engine, frame rate, language, character family and look", "",
             format_breakdown(results), ""]
    for scenario, strip in strips.items():
        cv2.imwrite(str(out / f"{scenario}.png"), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
        lines += [f"## {scenario}", "", "Rows: input, output, ground truth.", "",
                  f"![{scenario}]({scenario}.png)", ""]
    (out / "report.md").write_text("\n".join(lines))
