"""`python -m lipsync sync`: lip-sync a folder of frames to audio files (no Blender needed).

    python -m lipsync sync --frames DIR --audio FILE [--audio FILE ...] --fps F --out DIR
                           [--keypoints FILE.npz] [--device auto|cpu|cuda]
                           [--quality draft|final] [--matte] [--revoice [auto|on|off]]
                           [--batch N] [--models DIR] [--verbose]

One --audio per character of the keypoints file, in its order. Without --keypoints one
character is found: a real face by the face landmark model when it is installed (the
largest face), else, or when no real face is on any frame, the face parser's mouth
(`locator.faces.locate_footage`). The report lists per character the frames changed and
those passed through, with why. The result appears in --out
only when complete (with report.json); a failed or cancelled run leaves nothing.
Exit codes: 0 done, 2 bad input (message on stderr), 3 cancelled (Ctrl+C).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .arguments import add_options_arguments, options_from_args
from .exit_codes import run_command
from ..locator import LOCATORS


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `sync` sub-command; its handler is stored as ``func=run``."""
    parser = subparsers.add_parser(
        "sync", help="lip-sync a frame folder to audio: --frames DIR --audio FILE --fps F --out DIR",
        description="Generate the mouth of every frame of --frames from --audio and write the "
                    "frames (same names and format) to --out.")
    add_footage_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="output folder (new or empty)")
    add_options_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_footage_arguments(parser: argparse.ArgumentParser) -> None:
    """--frames, --audio, --fps, --keypoints and --locator (`load_characters` reads them)."""
    parser.add_argument("--frames", type=Path, required=True, help="folder of frame images")
    parser.add_argument("--audio", type=Path, action="append", required=True,
                        help="audio file (wav, flac, ogg...) whose time 0 is the first frame; "
                             "once per character of --keypoints")
    parser.add_argument("--fps", type=float, required=True,
                        help="frames per second of the frames (e.g. 24, 25, 29.97)")
    parser.add_argument("--keypoints", type=Path, default=None,
                        help="mouth keypoint track (.npz, KeypointTrack.save; Blender's "
                             "`render` command writes one); default: found by the face parser")
    parser.add_argument("--locator", choices=LOCATORS, default="auto",
                        help="without --keypoints: auto (a real face by the landmark model "
                             "when one is found, else the face parser), faces, or parser "
                             "(rendered or drawn characters, which the landmark model may "
                             "take for real faces)")


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the process exit code (see `exit_codes`)."""
    return run_command("sync", lambda progress: _sync(args, progress),
                       lambda report: _print_report(report, args.out))


def _print_report(report, out: Path) -> None:
    print(f"lip-synced {report.frames} frames in {report.seconds:.1f} s "
          f"({report.frames_per_second:.1f} frames/s, {report.device}) into {out}")
    for name, count in report.characters.items():
        print(f"  {name}: {count} frames generated")
        passed = report.by_character.get(name, {}).get("passed_through", {})
        for reason, frames in passed.items():
            print(f"    passed through unchanged ({reason}): {len(frames)} frames "
                  f"(indices from 0: {_ranges(frames)})")
    if report.passed_through:
        print(f"  {len(report.passed_through)} frames copied unchanged")
    for note in report.notes:
        print(f"  note: {note}")


def _sync(args: argparse.Namespace, progress):
    from ..pipeline.models import LipSyncModels
    from ..pipeline.run import PipelineOptions, lipsync_frames
    from ..preprocess.frames import list_frames

    options = options_from_args(args)
    frames = list_frames(args.frames)
    models = LipSyncModels.for_options(options)
    characters, notes = load_characters(args, frames, models, progress)
    return lipsync_frames(frames, characters, args.fps, args.out, PipelineOptions(options),
                          models=models, progress=progress, notes=notes)


def load_characters(args: argparse.Namespace, frames: list[Path], models, progress):
    """([CharacterTrack] one per --audio, notes) of `frames`: keypoints from --keypoints,
    else found by --locator. InputError when frames, keypoints and audio do not match."""
    from ..audio import FRONT_END, load_audio
    from ..errors import InputError
    from ..pipeline.character import CharacterTrack
    from ..preprocess.keypoints import KeypointTrack

    reasons, notes, real = {}, [], False
    if args.keypoints is not None:
        track = KeypointTrack.load(args.keypoints)
    else:
        from ..locator.faces import locate_footage

        located = locate_footage(frames, models.parser, progress, locator=args.locator)
        track, reasons, notes = located.track, located.reasons, located.notes
        real = located.source == "landmarks"
    if track.n_frames != len(frames):
        raise InputError(f"the keypoints cover {track.n_frames} frames but '{args.frames}' "
                         f"holds {len(frames)}: use the keypoints made with these frames.")
    if len(args.audio) != track.n_characters:
        raise InputError(f"the keypoints hold {track.n_characters} character(s) but "
                         f"{len(args.audio)} --audio file(s) were given: give one per character.")
    characters = [CharacterTrack(f"character {c + 1}" if len(args.audio) > 1 else path.stem,
                                 _one_character(track, c), load_audio(path, FRONT_END.sample_rate),
                                 reasons, own_mouths=real)
                  for c, path in enumerate(args.audio)]
    return characters, notes


def _one_character(track, index: int):
    """The track of character `index` alone (C = 1)."""
    from ..preprocess.keypoints import KeypointTrack

    pick = slice(index, index + 1)
    return KeypointTrack(points=track.points[:, pick], visible=track.visible[:, pick],
                         boxes=track.boxes[:, pick], frames=track.frames)


def _ranges(frames: list[int]) -> str:
    """Frame indices as ranges: [0, 1, 2, 5] -> "0-2, 5" (at most 8 ranges, then "...")."""
    runs: list[list[int]] = []
    for f in frames:
        if runs and f == runs[-1][1] + 1:
            runs[-1][1] = f
        else:
            runs.append([f, f])
    text = [f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:8]]
    return ", ".join(text) + (", ..." if len(runs) > 8 else "")
