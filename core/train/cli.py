"""`python -m lipsync train {sync,generator,parser} --data DIR --out DIR [--steps N] ...`,
`python -m lipsync train visemes --out DIR` (its speech is made by the trainer: no --data),
`python -m lipsync train detail --data DIR --out DIR` (a data set of full frames at 512 px)

Trains one stage with a progress bar, held-out evaluation every --eval-every steps,
checkpoints under OUT/<stage>/ (--resume goes on from the last one) and, at the end,
OUT/<stage>.safetensors with OUT/<stage>.json (config, steps, time, device, metrics).
With --evaluate WEIGHTS it only measures a trained file on --split (the model cards'
numbers: e.g. --evaluate models/sync.safetensors --split test).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli.arguments import add_verbose_argument
from ..cli.exit_codes import exit_code_of
from ..errors import InputError

STAGES = ("sync", "generator", "parser", "visemes", "detail")
DEFAULT_STEPS = {"sync": 10000, "generator": 3000, "parser": 3000,
                 "visemes": 5000, "detail": 12000}       # the recipe (detail: `make detail`)


def make_stage(name: str, args: argparse.Namespace):
    """A factory (run, device) -> stage object, for `run_stage`."""
    if name == "sync":
        from ..models.sync import SyncConfig
        from .sync import SyncStage

        config = SyncConfig(size=args.size)
        return lambda run, device: SyncStage(run, device, config, eval_split=args.split,
                                             augment=args.augment, cosine=args.cosine_lr)
    if name == "generator":
        from ..models.generator import VISEME_COUNT, GeneratorConfig
        from .generator import GeneratorStage

        if args.scale == 2 and args.output != "warp":
            raise InputError("--scale 2 draws a warping head's parts at twice the crop side: "
                             "give --output warp too.")
        config = GeneratorConfig(size=args.size, inputs=args.inputs, output=args.output,
                                 visemes=VISEME_COUNT if args.visemes else 0, scale=args.scale)
        return lambda run, device: GeneratorStage(run, device, config, sync_weights=args.sync,
                                                  eval_split=args.split,
                                                  finetune_steps=args.finetune_steps,
                                                  sync_weight=args.sync_weight,
                                                  adv_weight=args.adv_weight,
                                                  init=args.init, temporal=args.temporal,
                                                  cosine=args.cosine_lr,
                                                  input_mix=args.input_mix,
                                                  ssim_weight=args.ssim_weight,
                                                  flow_weight=args.flow_weight,
                                                  blend_weight=args.blend_weight,
                                                  colour_weight=args.colour_weight,
                                                  bend=args.bend,
                                                  recolour=args.recolour)
    if name == "detail":
        from .detail import DetailStage

        return lambda run, device: DetailStage(run, device)
    if name == "visemes":
        from .visemes import VisemeStage

        return lambda run, device: VisemeStage(run, device)
    from ..models.parser import ParserConfig
    from .parser import ParserStage

    config = ParserConfig(size=args.size)
    return lambda run, device: ParserStage(run, device, config, eval_split=args.split,
                                           finetune_steps=args.finetune_steps)


def add_parser(commands) -> None:
    train = commands.add_parser("train", help="train a network on a factory data set")
    train.add_argument("stage", choices=STAGES)
    train.add_argument("--data", type=Path, default=None,
                       help="data set folder (dataset make); not for visemes")
    train.add_argument("--out", type=Path, default=Path("runs"), help="run folder")
    train.add_argument("--steps", type=int, default=None,
                       help="training steps (default: " +
                            ", ".join(f"{k} {v}" for k, v in DEFAULT_STEPS.items()) + ")")
    train.add_argument("--batch", type=int, default=16)
    train.add_argument("--size", type=int, default=64,
                       help="crop side of the network, px (a multiple of 8; the data set's "
                            "crops must be at least 1.5 x this: dataset make --crop-size)")
    train.add_argument("--lr", type=float, default=None, help="learning rate (stage default)")
    train.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--eval-every", type=int, default=250)
    train.add_argument("--resume", action="store_true", help="go on from OUT/<stage>/checkpoint.pt")
    train.add_argument("--max-clips", type=int, default=None, help="first N clips per split")
    train.add_argument("--split", default="val", help="held-out split to evaluate on")
    train.add_argument("--eval-batches", type=int, default=8,
                       help="held-out batches per evaluation (more: a steadier figure)")
    train.add_argument("--sync", type=Path, default=None,
                       help="generator: the frozen sync expert (default OUT/sync.safetensors, "
                            "then models/sync.safetensors)")
    train.add_argument("--finetune-steps", type=int, default=None,
                       help="generator/parser: adjacent-frame fine-tune steps, the last part of "
                            "--steps (default: generator 20 %%, parser 25 %%)")
    train.add_argument("--inputs", default="blur+gradient+keypoints",
                       choices=("masked", "blur", "blur+gradient", "blur+gradient+keypoints"),
                       help="generator: what it sees of the input frame (the ablation's "
                            "variants; default: blur+gradient+keypoints)")
    train.add_argument("--output", default="rgb", choices=("rgb", "warp"),
                       help="generator: its head draws the crop (rgb) or warps the reference's "
                            "own pixels and draws only what they lack (warp); --init from an rgb "
                            "generator grows its head into a warping one")
    train.add_argument("--visemes", action="store_true",
                       help="generator: it also reads each frame's viseme weights (those the "
                            "talking render was driven by in training, the viseme reader's in "
                            "use); --init from one that does not grows its condition")
    train.add_argument("--scale", type=int, default=1, choices=(1, 2),
                       help="generator (warp): draw the parts at this many times the crop "
                            "side, by an outer level that reads the reference at that side "
                            "(the data set must keep full frames); --init from a generator of "
                            "scale 1 grows the level and trains it alone")
    train.add_argument("--flow-weight", type=float, default=None,
                       help="generator (warp): weight of the flow's roughness (default 0.05)")
    train.add_argument("--blend-weight", type=float, default=None,
                       help="generator (warp): weight of the mouth region's mean drawn share "
                            "(1 - blend; default 0): asks it to move the reference's pixels "
                            "wherever they fit")
    train.add_argument("--colour-weight", type=float, default=None,
                       help="generator (warp): weight of the drawn colour's own error where "
                            "it shows ((1 - blend) |colour - truth|; default 0): keeps a "
                            "faintly shown colour from drifting far off")
    train.add_argument("--bend", type=float, default=0.0, metavar="SHARE",
                       help="generator: the share of samples whose mouths are bent by a random "
                            "smooth curve (core.train.bend), 0 .. 1")
    train.add_argument("--recolour", type=float, default=0.0, metavar="SHARE",
                       help="generator: the share of samples whose colours are turned about "
                            "the grey axis, luma kept (core.train.recolour), 0 .. 1")
    train.add_argument("--sync-weight", type=float, default=None,
                       help="generator: weight of the sync expert's loss (default 0.05)")
    train.add_argument("--augment", action="store_true",
                       help="sync: shift/gain augmentation after the first quarter of the run")
    train.add_argument("--cosine-lr", action="store_true",
                       help="sync, generator: learning rate falling as a cosine to 5 %% of --lr")
    train.add_argument("--temporal", default="steady", choices=("steady", "features"),
                       help="generator: the fine-tune's feature term: only pairs whose truth "
                            "mouth holds still, scale-free (steady, default), or every adjacent "
                            "pair (features, the first generator's)")
    train.add_argument("--init", type=Path, default=None, metavar="WEIGHTS",
                       help="generator: start from these trained weights (e.g. to follow a "
                            "new sync expert)")
    train.add_argument("--adv-weight", type=float, default=None,
                       help="generator: weight of the discriminator's loss (default 0.02)")
    train.add_argument("--ssim-weight", type=float, default=0.0,
                       help="generator: weight of 1 - SSIM in the mouth region (default 0)")
    train.add_argument("--input-mix", type=_input_mix, default=None, metavar="V=SHARE,...",
                       help="generator: share of training samples per input version "
                            "(default neutral=0.5,dub=0.25,talking=0.25, DEFAULT_INPUT_MIX; "
                            "dub falls back to neutral for clips without one)")
    train.add_argument("--evaluate", type=Path, default=None, metavar="WEIGHTS",
                       help="only evaluate these trained weights on --split and print JSON")
    train.add_argument("--update-card", action="store_true",
                       help="with --evaluate: write the numbers into the weights' model card "
                            "(and the card into the weights' metadata)")
    add_verbose_argument(train)
    train.set_defaults(func=run)


def _input_mix(text: str) -> dict[str, float]:
    """'neutral=0.75,dub=0.25' -> {'neutral': 0.75, 'dub': 0.25}."""
    try:
        return {name.strip(): float(share) for name, share in
                (part.split("=") for part in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': write VERSION=SHARE pairs separated by "
                                         "commas, e.g. neutral=0.75,dub=0.25") from None


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit code (`core/cli/exit_codes.py`)."""
    return exit_code_of(lambda: _run(args), cancelled="interrupted: the last checkpoint is "
                                                      "kept; add --resume to go on")


def _run(args: argparse.Namespace) -> int:
    from ..progress import ConsoleProgress
    from .loop import RunConfig, run_stage

    if (args.data is None) != (args.stage == "visemes"):
        raise InputError("--data: give the data set folder (dataset make) for sync, generator "
                         "and parser; the viseme reader makes its own speech (no --data)")
    steps = args.steps if args.steps is not None else DEFAULT_STEPS[args.stage]
    lr = args.lr if args.lr is not None else (2e-4 if args.stage == "generator" else 1e-3)
    if args.stage == "generator" and args.sync is None:
        args.sync = _default_sync(args.out)
    run = RunConfig(data=str(args.data or ""), out=str(args.out), steps=steps, batch=args.batch,
                    lr=lr, device=args.device, seed=args.seed, eval_every=args.eval_every,
                    eval_batches=args.eval_batches,
                    resume=args.resume, max_clips=args.max_clips, eval_split=args.split,
                    command="python -m lipsync " + " ".join(sys.argv[1:]))
    if args.evaluate is not None:
        from .loop import evaluate_weights

        result = evaluate_weights(make_stage(args.stage, args), run, args.evaluate)
        print(json.dumps(result, indent=1))
        if args.update_card:
            from .card import add_evaluation, stamp_card

            add_evaluation(Path(args.evaluate).with_suffix(".md"), result, run.command)
            stamp_card(args.evaluate)
        return 0
    bar = ConsoleProgress(f"train {args.stage}")
    try:
        record = run_stage(make_stage(args.stage, args), run, progress=bar,
                           log=lambda line: print(line, file=sys.stderr))
    finally:
        bar.close()
    print(json.dumps({k: record[k] for k in ("stage", "steps", "seconds", "device", "heldout")},
                     indent=1))
    print(f"weights: {Path(args.out) / (args.stage + '.safetensors')}")
    return 0


def _default_sync(out: Path) -> Path:
    from ..models import shipped

    candidate = Path(out) / "sync.safetensors"
    return candidate if candidate.exists() else shipped("sync")
