"""Headless entry points, the panel's jobs for both:

    blender -b shot.blend -c lipsync {sync,render,check,preprocess,learn,footage} [options]
    python -m lipsync blend shot.blend {sync,render,check,preprocess,learn,footage} [options]

- ``sync``: the panel's "Render and Lip-Sync" (render or take the frames, lip-sync each
  character to its sound strip or to an audio file, put the result on the sequencer);
- ``render --out DIR``: the camera frames and one character's mouth keypoints only:
  ``DIR/frames/NNNN.png``, ``DIR/keypoints.npz`` and, last, ``DIR/render.json`` (for the
  plain-Python ``python -m lipsync sync --frames DIR/frames --keypoints ...``);
- ``check --out FILE.png``: one rendered frame with the mouth keypoints drawn over it, and
  where the lips came from (`jobs.mouth_check`);
- ``preprocess``: the mouth passes as strips;
- ``learn --character NAME``: Learn Character (`jobs.learn_job`): the generator fine-tuned
  on renders of the character's own mouth, written to ``--out`` (``//lipsync_learnt``) as
  ``NAME.lipsync.safetensors``, which later ``sync`` runs of it use. The file is opened,
  never saved;
- ``footage --strip NAME``: a movie or image strip's footage (no character: the mouth is
  found in the frames) lip-synced to speech, or with ``--learn`` its speaker learnt
  (`headless_footage.py`).

Every command takes --verbose. Exit codes (`core/cli/exit_codes.py`): 0 done, 2 bad
input (the message says what to fix), 3 cancelled.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from ..core.cli.arguments import (add_options_arguments, add_verbose_argument, configure_logging,
                                  options_from_args)
from ..core.learn.character import DEFAULT_FOLDER
from .headless_footage import add_footage_parser, footage_job_from_args

PROGRESS = "lipsync-progress "      # a progress line of `learn --progress-lines`
RESULT = "lipsync-result "          # its last line: the result as JSON


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
    add_verbose_argument(pre)
    _add_sync_parser(commands)
    _add_render_parser(commands)
    _add_check_parser(commands)
    _add_learn_parser(commands)
    add_footage_parser(commands)
    return parser


def _add_learn_parser(commands) -> None:
    from ..core.learn.character import LearnSettings
    from ..core.mesh.viseme_map import CHOICES
    from ..core.pipeline.options import DEVICES

    d = LearnSettings()
    learn = commands.add_parser("learn", help="learn the character's own mouth (renders of it "
                                              "speaking) for its later lip-sync runs")
    learn.add_argument("--character", default="", help="mesh object (default: as for render)")
    learn.add_argument("--scene", default="", help="scene name (default: the active scene)")
    learn.add_argument("--mouth-group", default="", help="vertex group of the lips")
    learn.add_argument("--visemes", default="auto",
                       help=f"its mouth controls: {', '.join(CHOICES)} or a JSON table "
                            "{viseme: {shape key: weight}} (docs/characters.md)")
    learn.add_argument("--out", default=DEFAULT_FOLDER,
                       help="the learnt folder ('//' = next to the .blend)")
    learn.add_argument("--sentences", type=int, default=d.sentences,
                       help=f"sentences spoken to it (default {d.sentences})")
    learn.add_argument("--language", default=d.language, help="their language (default en)")
    learn.add_argument("--samples", type=int, default=d.samples,
                       help=f"render samples at most (default {d.samples}; Cycles, EEVEE)")
    learn.add_argument("--steps", type=int, default=d.steps,
                       help=f"learning steps at most (default {d.steps})")
    learn.add_argument("--minutes", type=float, default=d.minutes,
                       help=f"learning minutes at most (default {d.minutes:g})")
    learn.add_argument("--device", choices=DEVICES, default="auto")
    learn.add_argument("--source-file", default="", help=argparse.SUPPRESS)
    learn.add_argument("--progress-lines", action="store_true", help=argparse.SUPPRESS)
    add_verbose_argument(learn)


def learn_request_from_args(args: argparse.Namespace, scene):
    """The `LearnRequest` of `learn`."""
    from ..core.learn.character import LearnSettings
    from .jobs.learn_job import LearnRequest

    settings = LearnSettings(sentences=args.sentences, language=args.language,
                             samples=args.samples, steps=args.steps, minutes=args.minutes)
    return LearnRequest(scene=scene.name, character=args.character or default_character(scene),
                        mouth_group=args.mouth_group, visemes=args.visemes, out_dir=args.out,
                        settings=settings, device=args.device, source_file=args.source_file)


def progress_lines(bar):
    """`bar`, also printing each call as a PROGRESS line on stdout (for the panel, which
    runs `learn` in a background process and reads them)."""
    def progress(done: int, total: int, message: str = "") -> None:
        bar(done, total, message)
        print(PROGRESS + json.dumps([done, total, message]), flush=True)

    return progress


def _add_sync_parser(commands) -> None:
    sync = commands.add_parser("sync", help="render (or take) the frames, lip-sync them to the "
                                            "audio and put the result on the sequencer")
    sync.add_argument("--scene", default="", help="scene name (default: the active scene)")
    sync.add_argument("--character", default="",
                      help="mesh object of the character (default: the panel's characters)")
    sync.add_argument("--mouth-group", default="", help="vertex group of the lips")
    audio = sync.add_mutually_exclusive_group()
    audio.add_argument("--sound-strip", default="", help="sound strip (default: the only one)")
    audio.add_argument("--audio", default="",
                       help="an audio file instead of a strip (e.g. another language); its "
                            "start plays on the first frame")
    sync.add_argument("--frames-strip", default="",
                      help="image/movie strip to take frames from (default: render the camera)")
    sync.add_argument("--start", type=int, default=None, help="first frame (default: scene's)")
    sync.add_argument("--end", type=int, default=None, help="last frame (default: scene's)")
    sync.add_argument("--out", default="//lipsync_cache",
                      help="output folder ('//' = next to the .blend); each run adds a new "
                           "sub-folder")
    sync.add_argument("--preview", action="store_true",
                      help="write preview.mp4 (result with sound) into the run folder")
    sync.add_argument("--save-as", default="",
                      help="save the .blend with the new strips to this new file")
    sync.add_argument("--learnt", default=DEFAULT_FOLDER,
                      help="folder of the characters' learnt generators (Learn Character; "
                           "'//' = next to the .blend); a character with one there is "
                           "lip-synced with it")
    add_options_arguments(sync)


def _add_render_parser(commands) -> None:
    ren = commands.add_parser("render", help="render the camera frames and project one "
                                             "character's mouth keypoints into a folder")
    ren.add_argument("--out", required=True,
                     help="new or empty folder: frames/NNNN.png, keypoints.npz, render.json")
    ren.add_argument("--scene", default="", help="scene name (default: the active scene)")
    ren.add_argument("--character", default="",
                     help="mesh object (default: the panel's character, else the only mesh "
                          "with a lip/mouth vertex group)")
    ren.add_argument("--mouth-group", default="", help="vertex group of the lips")
    ren.add_argument("--start", type=int, default=None, help="first frame (default: scene's)")
    ren.add_argument("--end", type=int, default=None, help="last frame (default: scene's)")
    add_verbose_argument(ren)


def _add_check_parser(commands) -> None:
    check = commands.add_parser("check", help="render one frame and draw the character's "
                                              "mouth keypoints over it, to check the mouth")
    check.add_argument("--out", required=True, help="new PNG file for the drawn frame")
    check.add_argument("--scene", default="", help="scene name (default: the active scene)")
    check.add_argument("--character", default="",
                       help="mesh object (default: as for render)")
    check.add_argument("--mouth-group", default="", help="vertex group of the lips")
    check.add_argument("--frame", type=int, default=None,
                       help="scene frame (default: the scene's current frame)")
    add_verbose_argument(check)


def request_from_args(args: argparse.Namespace, scene_name: str):
    """The same `JobRequest` the panel builds, from parsed arguments."""
    from ..core.preprocess.config import PreprocessConfig
    from .jobs.preprocess_job import JobRequest

    return JobRequest(scene=args.scene or scene_name, character=args.character,
                      mouth_group=args.mouth_group, sound_strip=args.sound_strip,
                      mix_sounds=args.mix_sounds, frames_strip=args.frames_strip,
                      frame_start=args.start, frame_end=args.end, output_dir=args.out,
                      config=PreprocessConfig(fusion_weight=args.fusion_weight))


def _scene(args, bpy):
    from ..core.errors import InputError

    name = args.scene or bpy.context.scene.name
    scene = bpy.data.scenes.get(name)
    if scene is None:
        names = ", ".join(s.name for s in bpy.data.scenes)
        raise InputError(f"No scene named '{name}' (scenes: {names}).")
    return scene


def default_character(scene) -> str:
    """The panel's character, else the scene's only mesh with a lip/mouth vertex group, else
    its only mesh with a shape key that opens the mouth (an imported avatar's face)."""
    from ..core.errors import InputError
    from ..core.mesh.viseme_names import mouth_shape_keys
    from .blender.projection import MOUTH_NAME

    settings = getattr(scene, "lipsync", None)
    if settings is not None and settings.character is not None:
        return settings.character.name
    meshes = [o for o in scene.objects if o.type == "MESH"]
    found = [o.name for o in meshes if any(MOUTH_NAME.search(g.name) for g in o.vertex_groups)]
    if not found:
        found = [o.name for o in meshes if o.data.shape_keys is not None
                 and mouth_shape_keys([k.name for k in o.data.shape_keys.key_blocks])[0]]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(found) if found else "none"
    raise InputError(f"Which character? Scene '{scene.name}' has {len(found)} meshes with a "
                     f"lip/mouth vertex group or mouth shape keys ({listed}): pass "
                     "--character NAME.")


def sync_request_from_args(args: argparse.Namespace, scene):
    """The `LipSyncRequest` of `sync`: one character from the options, or the panel's."""
    from .jobs.lipsync_request import CharacterRequest, LipSyncRequest
    from .ui.operators import lipsync_request_from_settings

    if args.character or args.audio or args.sound_strip or args.mouth_group:
        characters = (CharacterRequest(character=args.character or default_character(scene),
                                       mouth_group=args.mouth_group,
                                       sound_strip=args.sound_strip,
                                       audio_file=os.path.abspath(args.audio) if args.audio
                                       else ""),)
    else:
        characters = lipsync_request_from_settings(scene).characters or (
            CharacterRequest(character=default_character(scene)),)
    return LipSyncRequest(scene=scene.name, characters=characters,
                          frames_strip=args.frames_strip, frame_start=args.start,
                          frame_end=args.end, output_dir=args.out,
                          options=options_from_args(args), preview=args.preview,
                          learnt_dir=args.learnt)


def _run_job(args, bpy, bar):
    if args.command == "preprocess":
        from .jobs.preprocess_job import PreprocessJob

        return PreprocessJob(request_from_args(args, bpy.context.scene.name)).run(progress=bar)
    scene = _scene(args, bpy)
    # The keypoints come from the context's evaluated depsgraph: make `scene` the context's.
    with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0]):
        if args.command == "sync":
            from .jobs.lipsync_job import LipSyncJob

            return LipSyncJob(sync_request_from_args(args, scene)).run(progress=bar)
        if args.command == "check":
            return _check(args, scene)
        if args.command == "footage":
            return footage_job_from_args(args, scene).run(progress=bar)
        if args.command == "learn":
            from .jobs.learn_job import LearnCharacterJob

            progress = progress_lines(bar) if args.progress_lines else bar
            return LearnCharacterJob(learn_request_from_args(args, scene)).run(progress)
        from .jobs.shot_frames import render_shot

        first = args.start if args.start is not None else scene.frame_start
        last = args.end if args.end is not None else scene.frame_end
        return render_shot(scene, args.character or default_character(scene), args.mouth_group,
                           first, last, args.out, progress=bar)


def _check(args, scene):
    """`check`: the drawn frame written to a new PNG (never over a file)."""
    from ..core.errors import InputError
    from ..core.preprocess.frames import write_frame
    from .jobs.mouth_check import check_mouth

    if os.path.exists(args.out) or not args.out.lower().endswith(".png"):
        raise InputError(f"--out '{args.out}' must be a new .png file (nothing is "
                         "overwritten).")
    frame = args.frame if args.frame is not None else scene.frame_current
    result = check_mouth(scene, args.character or default_character(scene),
                         args.mouth_group, frame)
    write_frame(args.out, result.image)
    return result


def run_command(argv: list[str], prog: str = "lipsync") -> int:
    """Run one command on the currently open .blend file; returns the exit code."""
    import bpy

    from ..core.cli.exit_codes import BAD_INPUT, run_command as run_with_exit_code

    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:              # argparse: -h (0) or bad options (2)
        return int(exc.code or 0)
    configure_logging(args.verbose)
    save_as = getattr(args, "save_as", "")
    if save_as and os.path.exists(save_as):
        print(f"error: --save-as '{save_as}' exists; choose a new file name "
              "(the add-on never overwrites files).", file=sys.stderr)
        return BAD_INPUT

    def report(result) -> None:
        if args.command == "check":
            print(f"{result.summary()}; drawn over the render in {args.out}")
            return
        if args.command == "render":
            print(f"rendered frames {result['frame_start']}-{result['frame_end']} of "
                  f"'{result['character']}' at {result['fps']:.3f} fps into {args.out}")
            return
        print("\n".join(result.summary_lines()) if args.command in ("sync", "learn", "footage")
              else result.summary())
        if getattr(args, "progress_lines", False):
            print(RESULT + json.dumps(dataclasses.asdict(result)), flush=True)
        if save_as:
            bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(save_as), copy=True)
            print(f"saved {save_as}")

    return run_with_exit_code("lipsync " + args.command,
                              lambda bar: _run_job(args, bpy, bar), report)


def blender_command(argv: list[str]) -> int:
    """`blender -b shot.blend -c lipsync ...` (registered with register_cli_command)."""
    return run_command(list(argv), prog="blender -b FILE.blend -c lipsync")


def run_blend(blend: str, argv: list[str]) -> int:
    """`python -m lipsync blend shot.blend ...`: open the file with the bpy module, enable
    the extension, run the same command."""
    from ..core.cli.exit_codes import BAD_INPUT

    if not os.path.isfile(blend):
        print(f"error: no .blend file at '{blend}'", file=sys.stderr)
        return BAD_INPUT
    import bpy

    from .. import register, unregister

    bpy.ops.wm.open_mainfile(filepath=os.path.abspath(blend), load_ui=False)
    register()
    try:
        return run_command(argv, prog=f"python -m lipsync blend {blend}")
    finally:
        unregister()
