"""`python -m lipsync dataset import CHARACTER --out DIR --clips N --seed S`: a data set of
one character made elsewhere (.blend object, .glb/.gltf, .vrm) talking through its own
mouth controls (`import_character`, `import_clip`).

The plan is `dataset make`'s (`core.dataset.plan`: sentences, voices, rates, shots and
splits by seed; the splits hold voices apart, the character is the same everywhere), every
clip of family "imported". The character is loaded once here first, so a file without
mouth controls stops the command with its reason before any worker starts. Resumable as
`dataset make`: the recipe (with the character file's SHA-256 and the viseme choice) must
match; a folder that holds other files and no recipe is refused, and the character's
file is only read.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from dataclasses import asdict
from pathlib import Path

from ...core.cli.exit_codes import DONE, FAILED
from ...core.dataset.plan import ClipPlan, plan_clips
from ...core.dataset.reader import RECIPE
from ...core.errors import InputError
from ...core.mesh.viseme_map import CHOICES
from ...core.progress import ConsoleProgress
from .clip import ClipOptions
from .import_character import CHARACTER_SUFFIXES, CharacterSource

FAMILY = "imported"


def _render_imported(plan: dict, out_dir: str, options: dict, source: dict) -> str:
    """Worker-process entry: render one clip of the imported character."""
    from .import_clip import make_imported_clip

    return str(make_imported_clip(ClipPlan(**plan), CharacterSource(**source), out_dir,
                                  ClipOptions(**options)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_character(source: CharacterSource) -> dict:
    """Load the character in this process (a fresh bpy file) and return its description
    (clip.json's "character"); InputError with the reason when it cannot talk."""
    import bpy

    from .import_character import load_character

    bpy.ops.wm.read_factory_settings(use_empty=True)
    return load_character(bpy.context.scene, source).to_dict()


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out '{out}' is a file: give a folder for the data set.")
    if out.is_dir() and any(out.iterdir()) and not (out / RECIPE).exists():
        raise InputError(f"--out '{out}' holds other files and no data set ({RECIPE}): "
                         "nothing there is overwritten; give a new or empty folder.")


def import_dataset(out: Path, source: CharacterSource, n_clips: int, seed: int, workers: int,
                   options: ClipOptions, progress=None) -> dict:
    """Render the clips of plan (n_clips, seed) of character `source` that `out` lacks;
    returns {"clips", "rendered", "failed": {clip id: reason}, "character": description}."""
    from .dataset import check_run, render_plans

    check_run(workers, options)
    path = Path(source.path).resolve()
    if path.suffix.lower() not in CHARACTER_SUFFIXES or not path.is_file():
        raise InputError(f"'{source.path}' is not a character file: give an existing "
                         f"{', '.join(CHARACTER_SUFFIXES)} file.")
    _check_out(Path(out))
    visemes = source.visemes
    if visemes not in CHOICES:
        visemes = str(Path(visemes).resolve())
    source = dataclasses.replace(source, path=str(path), visemes=visemes)
    described = check_character(source)
    plans = [dataclasses.replace(p, family=FAMILY) for p in plan_clips(n_clips, seed)]
    character = {**asdict(source), "sha256": _sha256(path)}
    if visemes not in CHOICES:
        character["visemes_sha256"] = _sha256(Path(visemes))
    recipe = {"seed": seed, "clips": n_clips, "options": asdict(options),
              "character": character}
    result = render_plans(Path(out), plans, recipe, workers, progress, _render_imported,
                          (asdict(options), asdict(source)))
    return {**result, "character": described}


def add_import_parser(sub) -> argparse.ArgumentParser:
    """The `dataset import` sub-command (its --verbose and func are set by the caller)."""
    from .dataset import add_clip_arguments

    command = sub.add_parser("import", help="render clips of a character made elsewhere "
                                            "(.blend object, .glb/.gltf, .vrm); resumable")
    command.add_argument("character", type=Path, help="the character's .blend, .glb, .gltf "
                                                      "or .vrm file (only read)")
    command.add_argument("--object", default="", help="the talking mesh object (default: the "
                                                      "one whose mouth controls map best)")
    command.add_argument("--visemes", default="auto",
                         help="how the character's controls make the 7 visemes: auto, "
                              f"{', '.join(CHOICES[1:])}, or a JSON table file "
                              '{"open": {"jawOpen": 0.7}, "round": {...}} (docs/characters.md)')
    command.add_argument("--mouth-group", default="", help="the lips' vertex group "
                                                           "(default: found)")
    command.add_argument("--out", required=True, type=Path)
    command.add_argument("--clips", required=True, type=int)
    command.add_argument("--seed", type=int, default=0)
    add_clip_arguments(command)
    return command


def run_import(args: argparse.Namespace, options: ClipOptions) -> int:
    """Run `dataset import`; returns the exit code."""
    source = CharacterSource(str(args.character), args.object, args.visemes, args.mouth_group)
    bar = ConsoleProgress("dataset import", unit="clips")
    try:
        result = import_dataset(args.out, source, args.clips, args.seed, args.workers,
                                options, bar)
    finally:
        bar.close()
    described = result["character"]
    print(f"character '{described['object']}': visemes by {described['visemes']['scheme']}, "
          f"lips from the {described['mouth']}")
    print(f"{result['clips']} clips planned, {result['rendered']} rendered now, "
          f"{len(result['failed'])} failed")
    for clip_id, reason in result["failed"].items():
        print(f"  {clip_id}: {reason}", file=sys.stderr)
    return FAILED if result["failed"] else DONE
