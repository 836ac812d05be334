"""`python -m lipsync COMMAND ...`: the plain-Python command line.

    python -m lipsync preprocess --frames DIR --out DIR [--keypoints FILE.npz]
    python -m lipsync sync --frames DIR --audio FILE --fps F --out DIR [--keypoints FILE.npz]
                           [--weights LEARNT.safetensors]
    python -m lipsync learn --frames DIR --audio FILE --fps F --out LEARNT.safetensors
    python -m lipsync blend shot.blend preprocess [options]   (same as blender -c lipsync)
    python -m lipsync batch shots.toml [--shard I/N] [--dry-run] [--device D] [--python PYTHON]
    python -m lipsync demo --out demo/out
    python -m lipsync dataset make --out DIR --clips N --seed S [--workers K] [--engine ...]
    python -m lipsync dataset import CHARACTER_FILE --out DIR --clips N --seed S [--visemes ...]
    python -m lipsync dataset show DIR
    python -m lipsync train {sync,generator,parser} --data DIR --out DIR [--steps N] [--resume]
    python -m lipsync eval --data DIR [--split test] [--out DIR]

Every command takes --verbose and exits 0 done, 2 bad input, 3 cancelled
(`core/cli/exit_codes.py`). The lab's commands (dataset, train, eval, demo) are imported
only when run: the extension zip leaves their code out, and the others work without it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# The lab's commands: name -> (module whose add_parser sets func, help while not loaded).
LAB = {
    "dataset": (".addon.factory.dataset", "render or inspect the synthetic data set: "
                                          "dataset make|import|show ... (needs bpy)"),
    "train": (".core.train.cli", "train a network on a factory data set"),
    "eval": (".core.evaluate.cli", "measure lip-sync quality on a held-out split"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .core.cli.arguments import add_verbose_argument, configure_logging
    from .core.cli.exit_codes import BAD_INPUT

    if argv[:1] == ["blend"]:
        if len(argv) < 3:
            print("usage: python -m lipsync blend FILE.blend COMMAND [options] "
                  "(COMMAND: preprocess, sync or render; add -h for its options)", file=sys.stderr)
            return BAD_INPUT
        from .addon.headless import run_blend

        return run_blend(argv[1], argv[2:])

    from .core import batch
    from .core.cli import learn as cli_learn, preprocess as cli_preprocess, sync as cli_sync

    parser = argparse.ArgumentParser(prog="python -m lipsync",
                                     description="Image-space lip-sync for rendered characters.")
    commands = parser.add_subparsers(dest="command", required=True)
    cli_preprocess.add_parser(commands)
    cli_sync.add_parser(commands)
    cli_learn.add_parser(commands)
    commands.add_parser("blend", help="run a command on a .blend file: "
                                      "blend FILE.blend {preprocess,sync,render} [options]")
    batch.add_parser(commands)
    for name, (module, summary) in LAB.items():
        if argv[:1] == [name]:
            importlib.import_module(module, __package__).add_parser(commands)
        else:
            commands.add_parser(name, help=summary)
    demo = commands.add_parser("demo", help="build the demo scene, run it, save .blend and mp4")
    demo.add_argument("--out", default="demo/out", help="output folder")
    add_verbose_argument(demo)
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    return args.func(args)


def _demo(args: argparse.Namespace) -> int:
    from .addon.demo import run_demo
    from .core.cli.exit_codes import exit_code_of

    return exit_code_of(lambda: run_demo(args.out))


if __name__ == "__main__":
    sys.exit(main())
