"""Headless entry points, one job for both:

    blender -b shot.blend -c lipsync preprocess [options]
    python -m lipsync blend shot.blend preprocess [options]

Exit codes: 0 done, 2 bad input (the message says what to fix), 3 cancelled.
"""

from __future__ import annotations

import argparse
import os
import sys


def build_parser(prog: str = "lipsync") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Lip Sync on the open .blend file.")
    commands = parser.add_subparsers(dest="command", required=True)
    pre = commands.add_parser("preprocess", help="frames + keypoints + audio -> mouth passes "
                                                 "as sequencer strips")
    pre.add_argument("--scene", default="", help="scene name (default: the active scene)")
    pre.add_argument("--character", default="", help="mesh object of the character")
    pre.add_argument("--mouth-group", default="", help="vertex group of the lips")
    audio = pre.add_mutually_exclusive_group()
    audio.add_argument("--sound-strip", default="", help="sound strip (default: the only one)")
    audio.add_argument("--mix-sounds", action="store_true", help="mix all sound strips")
    pre.add_argument("--frames-strip", default="",
                     help="image/movie strip to take frames from (default: render the camera)")
    pre.add_argument("--start", type=int, default=None, help="first frame (default: scene's)")
    pre.add_argument("--end", type=int, default=None, help="last frame (default: scene's)")
    pre.add_argument("--out", default="//lipsync_cache",
                     help="output folder ('//' = next to the .blend)")
    pre.add_argument("--fusion-weight", type=float, default=0.5,
                     help="weight w of the HSI blur against the YCbCr blur, in (0, 1)")
    pre.add_argument("--save-as", default="",
                     help="save the .blend with the new strips to this new file")
    return parser


def request_from_args(args: argparse.Namespace, scene_name: str):
    """The same `JobRequest` the panel builds, from parsed arguments."""
    from ..core.preprocess.config import PreprocessConfig
    from .job import JobRequest

    return JobRequest(scene=args.scene or scene_name, character=args.character,
                      mouth_group=args.mouth_group, sound_strip=args.sound_strip,
                      mix_sounds=args.mix_sounds, frames_strip=args.frames_strip,
                      frame_start=args.start, frame_end=args.end, output_dir=args.out,
                      config=PreprocessConfig(fusion_weight=args.fusion_weight))


def run_command(argv: list[str], prog: str = "lipsync") -> int:
    """Run one command on the currently open .blend file; returns the exit code."""
    import bpy

    from ..core.errors import Cancelled, LipSyncError
    from ..core.progress import ConsoleProgress
    from .job import PreprocessJob

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.save_as and os.path.exists(args.save_as):
        print(f"error: --save-as '{args.save_as}' exists; choose a new file name "
              "(the add-on never overwrites files).", file=sys.stderr)
        return 2
    bar = ConsoleProgress("lipsync " + args.command)
    try:
        request = request_from_args(args, bpy.context.scene.name)
        result = PreprocessJob(request).run(progress=bar)
    except Cancelled:
        print("cancelled: nothing was written", file=sys.stderr)
        return 3
    except LipSyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    print(result.summary())
    if args.save_as:
        bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(args.save_as), copy=True)
        print(f"saved {args.save_as}")
    return 0


def blender_command(argv: list[str]) -> int:
    """`blender -b shot.blend -c lipsync ...` (registered with register_cli_command)."""
    return run_command(list(argv), prog="blender -b FILE.blend -c lipsync")


def run_blend(blend: str, argv: list[str]) -> int:
    """`python -m lipsync blend shot.blend ...`: open the file with the bpy module, enable
    the extension, run the same command."""
    if not os.path.isfile(blend):
        print(f"error: no .blend file at '{blend}'", file=sys.stderr)
        return 2
    import bpy

    from .. import register, unregister

    bpy.ops.wm.open_mainfile(filepath=os.path.abspath(blend), load_ui=False)
    register()
    try:
        return run_command(argv, prog=f"python -m lipsync blend {blend}")
    finally:
        unregister()
