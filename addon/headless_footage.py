"""The `footage` command of `headless.py`: a movie or image strip's footage, no character.

    blender -b shot.blend -c lipsync footage --strip NAME [--sound-strip S | --audio FILE]
        [--learn [--steps N] [--minutes M]] [--start F] [--end F] [--out DIR]
        [--learnt DIR] [--locator auto|faces|parser] [options]

Without --learn: the strip's frames lip-synced to the speech, the result above the strip
(`jobs.footage_job.FootageJob`; a speaker learnt for the strip is used). With --learn: the
strip's speaker learnt from the strip's own speech (`--sound-strip`: the footage's sound)
into ``--learnt`` as ``NAME.lipsync.safetensors`` (`LearnFootageJob`).
"""

from __future__ import annotations

import argparse
import os

from ..core.cli.arguments import add_options_arguments, options_from_args
from ..core.learn.character import DEFAULT_FOLDER, LearnSettings
from ..core.locator import LOCATORS


def add_footage_parser(commands) -> None:
    d = LearnSettings()
    footage = commands.add_parser("footage", help="lip-sync a movie/image strip's footage to "
                                                  "speech, or --learn its speaker")
    footage.add_argument("--strip", required=True, help="the movie or image strip")
    footage.add_argument("--scene", default="", help="scene name (default: the active scene)")
    audio = footage.add_mutually_exclusive_group()
    audio.add_argument("--sound-strip", default="",
                       help="the speech (with --learn: the footage's own); default: the "
                            "scene's only sound strip")
    audio.add_argument("--audio", default="", help="an audio file instead of a strip")
    footage.add_argument("--learn", action="store_true",
                         help="learn the strip's speaker from its own speech instead")
    footage.add_argument("--steps", type=int, default=d.steps, help="learning steps")
    footage.add_argument("--minutes", type=float, default=d.minutes,
                         help="stop learning after this many minutes")
    footage.add_argument("--start", type=int, default=None,
                         help="first frame (default: the strip's first in the scene's range)")
    footage.add_argument("--end", type=int, default=None, help="last frame (default: as --start)")
    footage.add_argument("--out", default="//lipsync_cache",
                         help="output folder ('//' = next to the .blend)")
    footage.add_argument("--learnt", default=DEFAULT_FOLDER,
                         help="folder of learnt speakers ('//' = next to the .blend)")
    footage.add_argument("--locator", choices=LOCATORS, default="auto",
                         help="how the mouth is found: auto (a real face by the landmark "
                              "model, else the face parser), faces or parser")
    footage.add_argument("--save-as", default="",
                         help="save the .blend with the new strip to this new file")
    add_options_arguments(footage)


def footage_job_from_args(args: argparse.Namespace, scene):
    """The `FootageJob` or (--learn) `LearnFootageJob` the arguments ask for."""
    from .jobs.footage_job import FootageJob, FootageRequest, LearnFootageJob

    request = FootageRequest(
        scene=scene.name, strip=args.strip, sound_strip=args.sound_strip,
        audio_file=os.path.abspath(args.audio) if args.audio else "",
        frame_start=args.start, frame_end=args.end, output_dir=args.out,
        options=options_from_args(args), locator=args.locator, learnt_dir=args.learnt,
        settings=LearnSettings(steps=args.steps, minutes=args.minutes))
    return (LearnFootageJob if args.learn else FootageJob)(request)
