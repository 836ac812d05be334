"""`python -m lipsync dataset make|import|show`: render a data set of clips in worker processes.

make: plans the clips (`core.dataset.plan`), renders the missing ones in K spawned worker
processes (each its own bpy), keeps finished clips and redoes half-written ones after an
interruption, and writes `manifest.jsonl` (one line per complete clip, with its split) and
`recipe.json` (the command's arguments: the data set can be rebuilt from it; `--families`
only when it is not the default "cartoon").
import: the same for one character made elsewhere (`import_dataset.py`).
show: prints counts per split, engine, language, voice and character family (and family by
split), and writes a contact sheet PNG of random frames with their labels and keypoints
overlaid, plus one per family when the set holds several.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import shutil
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ...core.dataset.plan import DEFAULT_FAMILIES, ClipPlan, check_families, plan_clips
from ...core.dataset.reader import MANIFEST, RECIPE, UNLABELLED, read_manifest
from ...core.cli.arguments import LOGGER, add_verbose_argument
from ...core.cli.exit_codes import DONE, FAILED, exit_code_of
from ...core.errors import InputError
from ...core.progress import ConsoleProgress
from .clip import CLIP_MARKER, ClipOptions
from .family_specs import TRAINING_MOUTH_STYLES, check_mouth_styles
from .shot import ENGINES

SPLITS = ("train", "val", "test")
MAX_FPS = 120


def _worker_init(log_level: int) -> None:
    """Drop the script folders a parent's `import bpy` put on sys.path (spawned workers
    inherit it), so the worker's own `import bpy` finds the bpy module, not its scripts;
    take the parent's ``lipsync`` log level (at DEBUG Blender's render lines show)."""
    logging.getLogger(LOGGER).setLevel(log_level)
    marker = os.sep + "bpy" + os.sep
    sys.path[:] = [p for p in sys.path if not (marker in p and os.sep + "scripts" in p)]


def _render_one(plan: dict, out_dir: str, options: dict) -> str:
    """Worker-process entry: render one clip (imports bpy in the worker only)."""
    from .clip import make_clip

    return str(make_clip(ClipPlan(**plan), out_dir, ClipOptions(**options)))


def _check_recipe(out: Path, recipe: dict) -> None:
    recipe = json.loads(json.dumps(recipe))   # as read back: tuples become lists
    path = out / RECIPE
    if path.exists():
        old = json.loads(path.read_text())
        # options added since a data set was made had their defaults then
        old["options"] = {**asdict(ClipOptions()), **old.get("options", {})}
        same = ({k: v for k, v in old.items() if k != "clips"}
                == {k: v for k, v in recipe.items() if k != "clips"})
        if not same:
            raise InputError(f"'{out}' holds a data set made with other settings ({old}); "
                             "resume with the same --seed and options, or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recipe, indent=1))


def make_dataset(out: Path, n_clips: int, seed: int, workers: int, options: ClipOptions,
                 progress=None, splits: tuple[str, ...] = SPLITS,
                 families: tuple[str, ...] = DEFAULT_FAMILIES) -> dict:
    """Render the clips of plan (n_clips, seed, families) that `out` lacks; returns counts.

    splits: render only the plan's clips in these splits (e.g. ("test",) for an evaluation
    set under other conditions: `options.fps`, `options.resolution`); families: the
    character families the plan draws from (`core.dataset.plan.FAMILIES`)."""
    check_run(workers, options)
    if not splits or set(splits) - set(SPLITS):
        raise InputError(f"--splits must name some of {', '.join(SPLITS)}, got "
                         f"{', '.join(splits) or 'none'}")
    families = check_families(families)
    plans = [p for p in plan_clips(n_clips, seed, families=families) if p.split in splits]
    recipe = {"seed": seed, "clips": n_clips, "options": asdict(options)}
    if tuple(splits) != SPLITS:
        recipe["splits"] = list(splits)
    if families != DEFAULT_FAMILIES:
        recipe["families"] = list(families)
    return render_plans(out, plans, recipe, workers, progress, _render_one, (asdict(options),))


def render_plans(out: Path, plans: list[ClipPlan], recipe: dict, workers: int, progress,
                 job, job_args: tuple = ()) -> dict:
    """Render the clips of `plans` that `out` lacks with `job(plan dict, out, *job_args)`
    (a module-level function: it runs in K = `workers` spawned processes), after checking
    `recipe` against the one `out` was made with; writes the manifest; returns counts."""
    _check_recipe(out, recipe)
    for leftover in out.glob("*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)  # half-written clips of an interrupted run
    todo = [p for p in plans if not (out / p.clip_id / CLIP_MARKER).exists()]
    failed: dict[str, str] = {}
    done = len(plans) - len(todo)
    if progress:
        progress(done, len(plans), "resuming" if done else "starting")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_worker_init,
                             initargs=(logging.getLogger(LOGGER).getEffectiveLevel(),)) as pool:
        futures = {pool.submit(job, p.to_dict(), str(out), *job_args): p for p in todo}
        try:
            for future in as_completed(futures):
                plan = futures[future]
                try:
                    future.result()
                except Exception as exc:  # one bad clip does not stop the data set
                    failed[plan.clip_id] = f"{type(exc).__name__}: {exc}"
                done += 1
                if progress:
                    progress(done, len(plans), plan.clip_id)
        except KeyboardInterrupt:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    write_manifest(out, plans)
    return {"clips": len(plans), "rendered": len(todo) - len(failed), "failed": failed}


def write_manifest(out: Path, plans: list[ClipPlan]) -> None:
    """manifest.jsonl: one line per complete clip (plan, family, frames, fps, engine,
    versions)."""
    lines = []
    for plan in plans:
        marker = out / plan.clip_id / CLIP_MARKER
        if marker.exists():
            meta = json.loads(marker.read_text())
            lines.append(json.dumps({**plan.to_dict(), "family": plan.family,
                                     "frames": meta["frames"], "fps": meta["fps"],
                                     "engine": meta["shot"]["engine"],
                                     "versions": meta["versions"]}))
    partial = out / (MANIFEST + ".part")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(out / MANIFEST)


def family_of(record: dict) -> str:
    """A manifest record's character family; records made before families are "cartoon"."""
    return str(record.get("family", "cartoon"))


def show_dataset(out: Path, sheet: Path, n_tiles: int = 16, seed: int = 0) -> str:
    """Counts as text, and contact sheets (crops: talking frame | labels | keypoints): `sheet`
    of every clip and, when the set holds several families, `sheet`'s name + "_" + family
    for each family."""
    clips = read_manifest(out)
    for clip in clips:
        clip.setdefault("family", "cartoon")
    lines = [f"{len(clips)} clips, {sum(c['frames'] for c in clips)} frames in '{out}'"]
    for key in ("split", "engine", "language", "voice", "fps", "family"):
        counts = Counter(str(c[key]) for c in clips)
        lines.append(f"  {key:9s} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    dubbed = sum("dub" in c["versions"] for c in clips)
    lines.append(f"  dubbed    {dubbed} clips")
    families = sorted({family_of(c) for c in clips})
    for family in families:
        counts = Counter(c["split"] for c in clips if family_of(c) == family)
        lines.append(f"  {family:9s} " + ", ".join(f"{k}: {counts.get(k, 0)}" for k in SPLITS))
    _contact_sheet(out, clips, sheet, n_tiles, seed)
    lines.append(f"contact sheet: {sheet}")
    if len(families) > 1:
        for family in families:
            path = sheet.with_name(f"{sheet.stem}_{family}{sheet.suffix}")
            _contact_sheet(out, [c for c in clips if family_of(c) == family], path, n_tiles,
                           seed)
            lines.append(f"contact sheet of {family}: {path}")
    return "\n".join(lines)


def _contact_sheet(out: Path, clips: list[dict], sheet: Path, n_tiles: int, seed: int) -> None:
    """Write `n_tiles` random frames of `clips` (talking | labels | keypoints) to `sheet`."""
    import cv2

    from ...core.preprocess.keypoints import KeypointTrack, draw_keypoints, Face
    from .labels import label_colours

    rng = np.random.default_rng(seed)
    colours = label_colours()
    lut = np.zeros((256, 3), np.uint8)
    for cls, rgb in colours.items():
        lut[cls] = rgb
    lut[UNLABELLED] = (128, 128, 128)           # imported characters' matte
    tiles = []
    for _ in range(n_tiles):
        clip = clips[int(rng.integers(len(clips)))]
        folder = out / clip["clip_id"]
        crops = np.load(folder / "crops.npz")
        i = int(rng.integers(clip["frames"]))
        box = crops["boxes"][i]
        size = crops["talking"].shape[1]
        track = KeypointTrack.load(folder / "keypoints_talking.npz")
        scale = size / (box[2] - box[0])
        points = (track.points[i, 0] - box[:2]) * scale
        face = Face(points.astype(np.float32), track.visible[i, 0], (0.0, 0.0, size, size))
        overlay = draw_keypoints(crops["talking"][i], [face])
        blend = (0.5 * crops["talking"][i] + 0.5 * lut[crops["labels"][i]]).astype(np.uint8)
        tiles.append(np.hstack([crops["talking"][i], blend, overlay]))
    columns = 2
    rows = [np.hstack(tiles[r:r + columns]) for r in range(0, len(tiles) - columns + 1, columns)]
    sheet.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(sheet), np.vstack(rows)[:, :, ::-1])


def add_clip_arguments(parser) -> None:
    """The options of how clips are rendered (`ClipOptions`), and --workers."""
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", choices=list(ENGINES), default=None,
                        help="one engine for every clip (default: a seeded mix of Workbench "
                             "and Cycles; BLENDER_EEVEE makes a held-out-engine set)")
    parser.add_argument("--cycles-share", type=float, default=0.3)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--crop-size", type=int, default=96)
    parser.add_argument("--full-frame-share", type=float, default=0.1,
                        help="share of training clips that also keep full frames "
                             "(held-out clips always do)")
    parser.add_argument("--max-frames", type=int, default=None, help="cut clips (for tests)")
    parser.add_argument("--fps", type=int, default=None,
                        help="one frame rate for every clip (default: a seeded 24, 25 or 30)")


def clip_options(args: argparse.Namespace) -> ClipOptions:
    return ClipOptions(resolution=args.resolution, crop_size=args.crop_size,
                       engine=args.engine, cycles_share=args.cycles_share,
                       full_frame_share=args.full_frame_share, max_frames=args.max_frames,
                       fps=args.fps)


def check_run(workers: int, options: ClipOptions) -> None:
    """InputError for a bad --workers or --fps."""
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    if options.fps is not None and not 1 <= options.fps <= MAX_FPS:
        raise InputError(f"--fps must be a whole number of frames per second from 1 to "
                         f"{MAX_FPS}, got {options.fps}")


def add_parser(commands) -> None:
    data = commands.add_parser("dataset", help="render or inspect the synthetic data set")
    sub = data.add_subparsers(dest="dataset_command", required=True)
    make = sub.add_parser("make", help="render clips (resumes an interrupted run)")
    make.add_argument("--out", required=True, type=Path)
    make.add_argument("--clips", required=True, type=int)
    make.add_argument("--seed", type=int, default=0)
    add_clip_arguments(make)
    make.add_argument("--splits", default=",".join(SPLITS),
                      help="render only the plan's clips in these splits, comma-separated "
                           "(e.g. test: an evaluation set at another --fps or --resolution)")
    make.add_argument("--families", default=",".join(DEFAULT_FAMILIES),
                      help="character families the clips are drawn from, comma-separated "
                           "(cartoon, anime, creature, realistic; default cartoon)")
    make.add_argument("--mouth-styles", default="",
                      help="anime training characters draw their mouth from these styles, "
                           f"comma-separated ({', '.join(TRAINING_MOUTH_STYLES)}; default: "
                           "the plan's own, as before this option)")
    from .import_dataset import add_import_parser

    imported = add_import_parser(sub)
    show = sub.add_parser("show", help="counts and a contact sheet")
    show.add_argument("dir", type=Path)
    show.add_argument("--sheet", type=Path, default=None, help="PNG (default DIR/contact_sheet.png)")
    for command in (make, imported, show):
        add_verbose_argument(command)
        command.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit code (`core/cli/exit_codes.py`)."""
    return exit_code_of(lambda: _run(args), cancelled="interrupted: finished clips are kept; "
                                                      "run the same command to resume")


def _names(text: str) -> tuple[str, ...]:
    """The names of a comma-separated option, blanks dropped."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _run(args: argparse.Namespace) -> int:
    if args.dataset_command == "show":
        print(show_dataset(args.dir, args.sheet or args.dir / "contact_sheet.png"))
        return DONE
    if args.dataset_command == "import":
        from .import_dataset import run_import

        return run_import(args, clip_options(args))
    options = replace(clip_options(args),
                      mouth_styles=check_mouth_styles(_names(args.mouth_styles)))
    splits, families = _names(args.splits), _names(args.families)
    bar = ConsoleProgress("dataset", unit="clips")
    try:
        result = make_dataset(args.out, args.clips, args.seed, args.workers, options, bar,
                              splits, families)
    finally:
        bar.close()
    print(f"{result['clips']} clips planned, {result['rendered']} rendered now, "
          f"{len(result['failed'])} failed")
    for clip_id, reason in result["failed"].items():
        print(f"  {clip_id}: {reason}", file=sys.stderr)
    return FAILED if result["failed"] else DONE
