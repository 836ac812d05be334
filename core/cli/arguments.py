"""Arguments every command line shares: the job's options (`LipSyncOptions`) of both
`sync` commands (`python -m lipsync sync` and the headless Blender `sync`), `--verbose`
on every command, and the logging it sets."""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields
from pathlib import Path

from ..pipeline.options import DEVICES, QUALITIES, REVOICE_MODES, LipSyncOptions

LOGGER = __name__.rsplit(".core.", 1)[0]   # the package's logger ("lipsync", or in Blender
#                                            "bl_ext.<repository>.lipsync")


def add_options_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of `LipSyncOptions` (one per field, its default) and `--verbose`."""
    default = LipSyncOptions()
    parser.add_argument("--quality", choices=QUALITIES, default=default.quality,
                        help="final: mouth mask shaped by the face parser, generated mouth "
                             "sharpened; draft: keypoint mask only")
    parser.add_argument("--revoice", nargs="?", const="on", default=default.revoice,
                        choices=REVOICE_MODES,
                        help="draw the new mouth from the shot's most closed mouth, not each "
                             "frame's, for frames whose mouth already speaks other words "
                             "(re-voicing a lip-synced shot): auto (default) when the lips "
                             "already move, on (--revoice alone) or off")
    parser.add_argument("--device", choices=DEVICES, default=default.device,
                        help="where the networks run (auto: CUDA when there is one)")
    parser.add_argument("--matte", action="store_true",
                        help="also write the mouth matte (in Blender: a muted strip above "
                             "the result)")
    parser.add_argument("--batch", type=int, default=default.batch,
                        help="frames per generator batch")
    parser.add_argument("--models", type=Path, default=default.models,
                        help="folder with sync/generator/parser .safetensors (default: the "
                             "shipped models/)")
    parser.add_argument("--weights", type=Path, default=default.weights,
                        help="a generator learnt for this speaker or character (python -m "
                             "lipsync learn), used in place of the models folder's")
    add_verbose_argument(parser)


def options_from_args(args: argparse.Namespace) -> LipSyncOptions:
    """The `LipSyncOptions` of arguments parsed with `add_options_arguments`."""
    return LipSyncOptions(**{f.name: getattr(args, f.name) for f in fields(LipSyncOptions)})


def options_to_argv(options: LipSyncOptions) -> list[str]:
    """The flags that give `options` back (`--device` always, the others when not the
    default), e.g. for the `sync` commands a batch runs."""
    default = LipSyncOptions()
    argv = ["--device", options.device]
    for name in ("quality", "revoice", "batch", "models", "weights"):
        value = getattr(options, name)
        if value != getattr(default, name):
            argv += [f"--{name}", str(value)]
    return argv + (["--matte"] if options.matte else [])


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--verbose` (see `configure_logging`)."""
    parser.add_argument("--verbose", action="store_true",
                        help="debug messages, and Blender's own log lines on the console")


def configure_logging(verbose: bool) -> None:
    """Log to stderr; the `lipsync` logger at INFO, or DEBUG with `verbose`."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger(LOGGER).setLevel(logging.DEBUG if verbose else logging.INFO)
