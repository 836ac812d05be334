"""Tests of core/cli/arguments.py: the job's options on both `sync` command lines (plain
Python and headless Blender), their way back into flags for batch, and --verbose."""

import argparse
import logging
from pathlib import Path

import pytest

from lipsync.addon.headless import build_parser
from lipsync.core.cli import sync as cli_sync
from lipsync.core.cli.arguments import (LOGGER, configure_logging, options_from_args,
                                        options_to_argv)
from lipsync.core.errors import InputError
from lipsync.core.pipeline.options import LipSyncOptions

SHARED = ("--quality", "--revoice", "--device", "--matte", "--batch", "--models", "--verbose")


def _python_sync() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser().add_subparsers()
    return cli_sync.add_parser(commands)


def _blender_sync() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction))
    return commands.choices["sync"]


PARSERS = {  # name -> (parser, the arguments it requires besides the shared ones)
    "python -m lipsync sync": (_python_sync, ["--frames", "f", "--audio", "a.wav", "--fps", "24",
                                              "--out", "o"]),
    "blender -c lipsync sync": (_blender_sync, []),
}


def _flags(parser: argparse.ArgumentParser) -> dict[str, tuple]:
    """Each shared flag's default, choices, nargs, const and help."""
    return {flag: (a.default, a.choices, a.nargs, a.const, a.help)
            for a in parser._actions for flag in a.option_strings if flag in SHARED}


def test_both_sync_parsers_have_the_same_shared_flags_defaults_and_help():
    python, blender = (_flags(make()) for make, _ in PARSERS.values())
    assert set(python) == set(blender) == set(SHARED)
    assert python == blender


@pytest.mark.parametrize("name", PARSERS)
def test_shared_flags_build_the_options(name):
    make, required = PARSERS[name]
    parser = make()
    assert options_from_args(parser.parse_args(required)) == LipSyncOptions(), "the defaults"
    args = parser.parse_args(required + ["--quality", "draft", "--revoice", "--device", "cpu",
                                         "--matte", "--batch", "4", "--models", "w",
                                         "--verbose"])
    assert options_from_args(args) == LipSyncOptions(quality="draft", revoice="on",
                                                     device="cpu", matte=True, batch=4,
                                                     models=Path("w"))
    assert args.verbose
    with pytest.raises(InputError, match="batch = 0"):
        options_from_args(parser.parse_args(required + ["--batch", "0"]))


@pytest.mark.parametrize("options", [
    LipSyncOptions(),
    LipSyncOptions(quality="draft", revoice="off", device="cuda", matte=True, batch=3,
                   models=Path("weights")),
])
def test_options_to_argv_gives_the_options_back(options):
    make, required = PARSERS["python -m lipsync sync"]
    argv = options_to_argv(options)
    assert argv[:2] == ["--device", options.device], "batch pins the device"
    assert options_from_args(make().parse_args(required + argv)) == options


def test_verbose_sets_the_package_logger_to_debug():
    logger = logging.getLogger(LOGGER)
    level = logger.level
    try:
        assert LOGGER == "lipsync"
        configure_logging(True)
        assert logger.isEnabledFor(logging.DEBUG)
        configure_logging(False)
        assert logger.isEnabledFor(logging.INFO) and not logger.isEnabledFor(logging.DEBUG)
    finally:
        logger.setLevel(level)
