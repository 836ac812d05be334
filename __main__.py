"""`python -m lipsync COMMAND ...`: the plain-Python command line.

    python -m lipsync preprocess --frames DIR --out DIR [--keypoints FILE.npz]
    python -m lipsync sync --frames DIR --audio FILE --fps F --out DIR [--keypoints FILE.npz]
    python -m lipsync blend shot.blend preprocess [options]   (same as blender -c lipsync)
    python -m lipsync demo --out demo/out
    python -m lipsync dataset make --out DIR --clips N --seed S [--workers K] [--engine ...]
    python -m lipsync dataset show DIR
    python -m lipsync train {sync,generator,parser} --data DIR --out DIR [--steps N] [--resume]
    python -m lipsync eval --data DIR [--split test] [--out DIR]
    python -m lipsync batch shots.toml [--shard I/N] [--dry-run] [--device D] [--python PYTHON]
"""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if argv[:1] == ["blend"]:
        if len(argv) < 3:
            print("usage: python -m lipsync blend FILE.blend COMMAND [options] "
                  "(COMMAND: preprocess, sync or render; add -h for its options)", file=sys.stderr)
            return 2
        from .addon.headless import run_blend

        return run_blend(argv[1], argv[2:])

    from .core.cli import preprocess as cli_preprocess, sync as cli_sync

    parser = argparse.ArgumentParser(prog="python -m lipsync",
                                     description="Image-space lip-sync for rendered characters.")
    commands = parser.add_subparsers(dest="command", required=True)
    cli_preprocess.add_parser(commands)
    cli_sync.add_parser(commands)
    commands.add_parser("blend", help="run a command on a .blend file: "
                                      "blend FILE.blend {preprocess,sync,render} [options]")
    if argv[:1] == ["dataset"]:
        from .addon.factory import dataset

        dataset.add_parser(commands)
    else:
        commands.add_parser("dataset", help="render or inspect the synthetic data set: "
                                            "dataset make|show ... (needs bpy)")
    from .core.train import cli as train_cli

    train_cli.add_parser(commands)
    from .core import batch
    from .core.evaluate import cli as eval_cli

    batch.add_parser(commands)
    eval_cli.add_parser(commands)
    demo = commands.add_parser("demo", help="build the demo scene, run it, save .blend and mp4")
    demo.add_argument("--out", default="demo/out", help="output folder")
    args = parser.parse_args(argv)
    if args.command == "dataset":
        from .addon.factory import dataset

        return dataset.run(args)
    if args.command == "train":
        return train_cli.run(args)
    if args.command == "sync":
        return cli_sync.run(args)
    if args.command == "eval":
        return eval_cli.run(args)
    if args.command == "batch":
        return batch.run(args)
    if args.command == "demo":
        from .addon.demo import run_demo

        return run_demo(args.out)
    return cli_preprocess.run(args)


if __name__ == "__main__":
    sys.exit(main())
