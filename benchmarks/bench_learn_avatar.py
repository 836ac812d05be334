"""Learn Character on an avatar made elsewhere, measured on sentences it never learnt.

    python benchmarks/bench_learn_avatar.py AVATAR.blend|.glb|.vrm --out build/bench/NAME
        [--object NAME] [--shot-seed 7] [--resolution 512] [--clips 3]
        [--sentences 10] [--steps 300] [--minutes 10] [--samples 8]

1. renders `--clips` held-out clips of the avatar in the factory's clip format (split
   "test", `import_clip.make_imported_clip`), every one in the same shot (the factory's
   seeded front shot of `--shot-seed`, Workbench): English sentences the learning script
   does not hold, spoken by held-out voices, the mouth at rest (the input) and speaking
   (the truth), full frames kept;
2. saves that shot as a user's .blend and runs Learn Character on it headless
   (`python -m lipsync blend shot.blend learn`, the command a pipeline runs);
3. runs `python -m lipsync eval` on the held-out clips with the general generator and with
   the learnt one (`--weights`).
Prints the minutes of each part and, for the neutral scenario (the input at rest): mouth
SSIM at the frames' resolution, motion (1 = moves as much as the truth), opening
correlation, sharpness (1 = as sharp as the truth) and the judge's LSE-C, with the
do-nothing row (the input as the output). Nothing in `--out` is overwritten: the
benchmark refuses a folder that holds a learnt file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

LANGUAGE = "en"
MEASURES = ("ssim", "motion", "opening_corr", "sharpness", "lse_c")


def held_out_plans(clips: int, shot_seed: int, learnt_seed: int, sentences: int) -> list:
    """`clips` ClipPlans in one shot: English sentences outside the learning script
    (`script_for(LANGUAGE, sentences, learnt_seed)`), held-out voices."""
    import numpy as np

    from lipsync.core.dataset.plan import ClipPlan
    from lipsync.core.speech.script import script_for
    from lipsync.core.speech.sentences import HELD_OUT_VOICES, SENTENCES

    learnt = {line.text for line in script_for(LANGUAGE, sentences, learnt_seed)}
    unused = [s for s in SENTENCES[LANGUAGE] if s not in learnt]
    if len(unused) < clips:
        raise SystemExit(f"only {len(unused)} English sentences are outside a {sentences}-line "
                         f"learning script: ask for fewer --clips or --sentences")
    rng = np.random.default_rng(shot_seed)
    voices = HELD_OUT_VOICES[LANGUAGE]
    return [ClipPlan(clip_id=f"clip_{i:05d}", split="test", character_seed=0,
                     shot_seed=shot_seed, language=LANGUAGE, voice=voices[i % len(voices)],
                     rate_wpm=int(rng.integers(140, 210)), pitch=int(rng.integers(30, 70)),
                     sentence=text, dub_sentence=None, family="imported")
            for i, text in enumerate(unused[:clips])]


def render_held_out(data: Path, plans: list, source, options) -> None:
    """The clips of `plans` into `data`, with its manifest and recipe."""
    from lipsync.addon.factory.dataset import write_manifest
    from lipsync.addon.factory.import_clip import make_imported_clip
    from lipsync.core.dataset.reader import RECIPE

    for plan in plans:
        if not (data / plan.clip_id / "clip.json").exists():
            make_imported_clip(plan, source, data, options)
    write_manifest(data, plans)
    (data / RECIPE).write_text(json.dumps({
        "clips": len(plans), "splits": ["test"], "options": asdict(options),
        "character": asdict(source), "benchmark": "bench_learn_avatar"}, indent=1))


def save_shot(blend: Path, source, options, shot_seed: int) -> str:
    """The held-out clips' shot with the avatar at rest, saved as a user's file; the
    talking mesh's name."""
    import bpy

    from lipsync.addon.factory.import_clip import build_shot, front_shot

    shot = front_shot(shot_seed, options)
    scene, character = build_shot(source, shot, 250)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    return character.object.name


def run(command: list[str], what: str) -> float:
    """Run `command`; its wall minutes. Stops the benchmark with its output if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{what} failed (exit {done.returncode})")
    return (time.perf_counter() - start) / 60


def neutral_rows(eval_json: Path) -> tuple[dict, dict]:
    """(method, do nothing) figures of the neutral scenario."""
    results = json.loads(eval_json.read_text())
    return results["scenarios"]["neutral"], results["do_nothing"]["neutral"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("character", type=Path, help=".blend, .glb/.gltf or .vrm")
    parser.add_argument("--object", default="", help="the talking mesh ('' = found)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shot-seed", type=int, default=7)
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--clips", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args(argv)
    from lipsync.addon.factory.clip import ClipOptions
    from lipsync.addon.factory.import_character import CharacterSource
    from lipsync.core.learn.character import LearnSettings

    out, learnt = args.out.resolve(), args.out.resolve() / "learnt"
    if learnt.exists() and any(learnt.glob("*.lipsync.safetensors")):
        print(f"{learnt} already holds a learnt file: remove the folder to measure again",
              file=sys.stderr)
        return 2
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python "
          f"{sys.version.split()[0]}")
    source = CharacterSource(str(args.character.resolve()), args.object)
    options = ClipOptions(resolution=args.resolution, engine="BLENDER_WORKBENCH")
    plans = held_out_plans(args.clips, args.shot_seed, LearnSettings().seed, args.sentences)
    start = time.perf_counter()
    render_held_out(out / "data", plans, source, options)
    rendered = (time.perf_counter() - start) / 60
    name = save_shot(out / "shot.blend", source, options, args.shot_seed)
    print(f"avatar '{name}' of {args.character.name}; {len(plans)} held-out clips at "
          f"{args.resolution} px rendered in {rendered:.1f} min")
    learn_min = run([sys.executable, "-m", "lipsync", "blend", str(out / "shot.blend"), "learn",
                     "--character", name, "--out", str(learnt), "--sentences",
                     str(args.sentences), "--steps", str(args.steps), "--minutes",
                     str(args.minutes), "--samples", str(args.samples), "--device", "cpu"],
                    "learn")
    weights = learnt / f"{name}.lipsync.safetensors"
    print(f"Learn Character: {learn_min:.1f} min ({args.sentences} sentences, at most "
          f"{args.steps} steps / {args.minutes:g} min)")
    rows = {}
    for label, extra in (("general", []), ("learnt", ["--weights", str(weights)])):
        folder = out / f"eval_{label}"
        minutes = run([sys.executable, "-m", "lipsync", "eval", "--data", str(out / "data"),
                       "--split", "test", "--out", str(folder), "--device", "cpu", *extra],
                      f"eval ({label})")
        rows[label], rows["do nothing"] = neutral_rows(folder / "eval.json")
        print(f"eval with the {label} generator: {minutes:.1f} min")
    print(f"held-out sentences, input at rest, {args.resolution} px frames:")
    print(f"  {'':12s}" + "".join(f"{m:>14s}" for m in MEASURES))
    for label in ("do nothing", "general", "learnt"):
        print(f"  {label:12s}" + "".join(f"{rows[label].get(m, float('nan')):14.3f}"
                                          for m in MEASURES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
