"""Benchmark of Learn Character on a 1080p shot: its minutes, and its held-out gain.

    python benchmarks/bench_learn.py [--out build/bench/learn] [--seed 3] [--family cartoon]
        [--sentences 10] [--steps 300] [--minutes 10] [--samples 8]

Builds a factory character of `family` (viseme shape keys, the factory's names) in its
seeded shot, seen from the front at 1920x1080 (Workbench, the head filling the frame's
height), saves it as a user's .blend, then runs Learn Character headless in a subprocess
(`python -m lipsync blend shot.blend learn`, the command a pipeline runs). Prints the
machine, the wall minutes of the whole command (speech, renders of the mouth's border,
learning, writing), the learning minutes and steps, and the learnt card's held-out mouth
SSIM, L1 (0-1 units) and motion (1 = as much as the target): the input as it is (doing nothing), the general model, the learnt one.
A learnt file already in `out` is never overwritten: the benchmark refuses to start.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

WIDTH, HEIGHT = 1920, 1080
NAME = "Hero"


def build_shot(folder: Path, seed: int, family: str) -> Path:
    """Save the factory character `seed` of `family` in its shot at 1080p; the .blend."""
    import bpy

    from lipsync.addon.factory.character import build_character, face_anchor
    from lipsync.addon.factory.character_spec import CharacterSpec
    from lipsync.addon.factory.shot import ShotSpec, setup_shot
    from lipsync.addon.factory.toon import style_scene

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    scene.frame_start, scene.frame_end = 1, 50
    character = build_character(scene, CharacterSpec.random(seed, family))
    shot = dataclasses.replace(ShotSpec.random(seed, engine="BLENDER_WORKBENCH",
                                               resolution=HEIGHT),
                               yaw_deg=0.0, pitch_deg=0.0, head_sway_deg=0.0)
    setup_shot(scene, character.object, face_anchor(character), shot)
    style_scene(scene, character)
    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    scene.camera.data.sensor_fit = "VERTICAL"        # the square shot's framing, in height
    character.object.name = NAME
    folder.mkdir(parents=True, exist_ok=True)
    blend = folder / "shot_1080p.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    return blend


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/bench/learn"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--family", default="cartoon")
    parser.add_argument("--sentences", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args(argv)
    learnt = args.out / "learnt"
    if (learnt / f"{NAME}.lipsync.safetensors").exists():
        print(f"{learnt} already holds a learnt file: remove the folder to measure again",
              file=sys.stderr)
        return 2
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python "
          f"{sys.version.split()[0]}")
    blend = build_shot(args.out, args.seed, args.family)
    print(f"shot: {args.family} character seed {args.seed}, {WIDTH}x{HEIGHT} Workbench, "
          f"{args.sentences} sentences, at most {args.steps} steps / {args.minutes:g} min")
    command = [sys.executable, "-m", "lipsync", "blend", str(blend), "learn",
               "--character", NAME, "--out", str(learnt.resolve()),
               "--sentences", str(args.sentences), "--steps", str(args.steps),
               "--minutes", str(args.minutes), "--samples", str(args.samples),
               "--device", "cpu"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
        print(f"learn failed (exit {done.returncode})", file=sys.stderr)
        return 1
    from lipsync.core.learn.weights import read_learnt

    result = read_learnt(learnt / f"{NAME}.lipsync.safetensors")
    print(f"whole command {wall / 60:.1f} min; learning {result['seconds'] / 60:.1f} min, "
          f"{result['steps']} steps; {result['train_frames']} frames to learn from, "
          f"{result['heldout_frames']} held out")
    rows = [("input as it is", result.get("heldout_input")),
            ("general model", result["heldout_before"]), ("learnt", result["heldout_after"])]
    for label, figures in rows:
        if figures:
            print(f"  {label:15s} held-out mouth SSIM {figures['ssim']:.3f}  "
                  f"L1 {figures['l1']:.4f}  motion {figures.get('motion', float('nan')):.2f}")
    gain = result["heldout_after"]["ssim"] - result["heldout_before"]["ssim"]
    print(f"gain over the general model: SSIM {gain:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
