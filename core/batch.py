"""`python -m lipsync batch shots.toml`: many shots, one result per shot and language.

    python -m lipsync batch shots.toml [--shard I/N] [--dry-run] [--device auto|cpu|cuda]
                                       [--python PYTHON]

The batch file lists shots (a .blend or a folder of frames) and per shot its audio
tracks, one per language; paths are relative to the batch file's folder. A .blend
shot is rendered once into OUT/<shot>/render and lip-synced per track into
OUT/<shot>/<language>; each step runs as a subprocess whose output goes to
OUT/<shot>/render.log or OUT/<shot>/<language>.log. A step whose marker file
(render.json, report.json) exists is skipped, so a re-run only does what is missing.
`--shard I/N` runs the whole shots with index k % N == I - 1 (k from 0, file order).

Exit codes: 0 all ok or skipped, 1 a step failed, 2 bad batch file or options,
3 interrupted with Ctrl+C (the summary so far is printed).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Callable, Sequence, TextIO

from .errors import InputError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
RENDER = "render"  # the render step's folder and log name, so no language may be called so
FPS_FROM_RENDER = "<fps from render.json>"  # stands in a command until the render has run
TOP_KEYS = {"out", "device", "shot"}
SHOT_KEYS = {"name", "blend", "frames", "fps", "keypoints", "scene", "character", "tracks"}
TRACK_KEYS = {"language", "audio"}


class BatchError(InputError):
    """The batch file or a batch option is wrong; the message lists every problem."""


@dataclass(frozen=True)
class Track:
    language: str  # [A-Za-z0-9._-], unique within its shot
    audio: Path    # existing audio file


@dataclass(frozen=True)
class Shot:
    name: str                 # [A-Za-z0-9._-], unique within the batch
    tracks: tuple[Track, ...]  # at least one
    blend: Path | None = None  # exactly one of blend and frames
    frames: Path | None = None
    fps: float | None = None  # frames per second (> 0), given with frames
    keypoints: Path | None = None  # .npz, only with frames
    scene: str = ""           # "" = the file's active scene
    character: str = ""       # "" = every character


@dataclass(frozen=True)
class Batch:
    path: Path            # the batch file
    out: Path             # results folder
    device: str           # one of DEVICES
    shots: tuple[Shot, ...]


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, 1 <= index <= count
    count: int

    def takes(self, k: int) -> bool:
        """Whether the shot with 0-based index `k` belongs to this shard."""
        return k % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class Task:
    """One subprocess: the render of a .blend shot, or the lip-sync of one track."""
    shot: str
    language: str              # "" for a render
    command: tuple[str, ...]   # may hold FPS_FROM_RENDER, filled in by `resolve_command`
    out_dir: Path              # folder the step writes
    marker: Path               # exists once the step is complete
    log: Path                  # stdout and stderr of the subprocess
    render_dir: Path | None = None  # a track of a rendered shot: the render it needs

    @property
    def is_render(self) -> bool:
        return self.language == ""

    @property
    def label(self) -> str:
        return f"{self.shot} {self.language or '(render)'}"


@dataclass(frozen=True)
class RunResult:
    returncode: int
    last_error: str  # last non-empty line of the subprocess's stderr, "" if none


@dataclass(frozen=True)
class Outcome:
    task: Task
    status: str     # "ok", "skipped", "failed" or "interrupted"
    seconds: float  # wall time of the subprocess, 0 when it did not run
    detail: str     # result path, or what went wrong


Runner = Callable[[Sequence[str], Path], RunResult]


# ---------------------------------------------------------------- the batch file

def parse_shard(text: str) -> Shard:
    """Parse "I/N" (1 <= I <= N) into a `Shard`; raise `BatchError` otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match:
        index, count = int(match[1]), int(match[2])
        if 1 <= index <= count:
            return Shard(index, count)
    raise BatchError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. --shard 1/4 "
                     "for the first of four machines")


def load_batch(path: str | os.PathLike) -> Batch:
    """Read and check a batch file; raise one `BatchError` listing every problem."""
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BatchError(f"cannot read the batch file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BatchError(f"{path} is not valid TOML: {exc}") from None
    base = path.parent.absolute()
    problems: list[str] = []
    for key in sorted(set(data) - TOP_KEYS):
        problems.append(f"top level: unknown key {key!r}; allowed: {', '.join(sorted(TOP_KEYS))}")
    out = _relative(base, data.get("out", "results"), "top level", "out", problems)
    device = data.get("device", "auto")
    if device not in DEVICES:
        problems.append(f"top level: device = {device!r}; use one of {', '.join(DEVICES)}")
    raw_shots = data.get("shot", [])
    if not isinstance(raw_shots, list) or not raw_shots:
        problems.append("top level: no shots; add at least one [[shot]] table")
        raw_shots = []
    shots, seen = [], {}
    for number, raw in enumerate(raw_shots, 1):
        name = raw.get("name") if isinstance(raw, dict) else None
        if _good_name(name) and seen.setdefault(name.lower(), number) != number:
            problems.append(f"shot {name!r} (shot #{number}): name: also used by shot "
                            f"#{seen[name.lower()]} (compared ignoring case); rename one")
        shots.append(_shot(base, raw, number, problems))
    if problems:
        raise BatchError(f"{path}: {len(problems)} problem(s), nothing was run:\n"
                         + "\n".join(f"  - {p}" for p in problems))
    return Batch(path=path, out=out, device=device, shots=tuple(shots))


def _shot(base: Path, raw: object, number: int, problems: list[str]) -> Shot | None:
    if not isinstance(raw, dict):
        problems.append(f"shot #{number}: must be a [[shot]] table")
        return None
    name = raw.get("name")
    where = f"shot {name!r}" if isinstance(name, str) and name else f"shot #{number}"
    before = len(problems)
    for key in sorted(set(raw) - SHOT_KEYS):
        problems.append(f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(SHOT_KEYS))}")
    if not _good_name(name):
        problems.append(f"{where}: name = {name!r}; give a unique name made of letters, digits, "
                        "'.', '_' and '-' (it becomes a folder name)")
    blend = frames = keypoints = fps = None
    if ("blend" in raw) == ("frames" in raw):
        problems.append(f"{where}: give exactly one of blend (a .blend file to render) and "
                        "frames (a folder of rendered frames)")
    if "blend" in raw:
        blend = _relative(base, raw["blend"], where, "blend", problems)
        if blend is not None and (blend.suffix.lower() != ".blend" or not blend.is_file()):
            problems.append(f"{where}: blend = {raw['blend']!r}: no .blend file at {blend}; "
                            "fix the path (relative to the batch file's folder)")
        if "frames" not in raw:
            problems.extend(f"{where}: {key} is only for frames shots; a .blend shot takes "
                            "it from its render; remove it"
                            for key in ("fps", "keypoints") if key in raw)
    if "frames" in raw:
        frames = _relative(base, raw["frames"], where, "frames", problems)
        if frames is not None and not frames.is_dir():
            problems.append(f"{where}: frames = {raw['frames']!r}: no folder at {frames}; "
                            "fix the path (relative to the batch file's folder)")
        fps = raw.get("fps")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 1000:
            problems.append(f"{where}: fps = {fps!r}; a frames shot needs its frame rate, "
                            "a number such as 24 or 29.97")
        if "keypoints" in raw:
            keypoints = _relative(base, raw["keypoints"], where, "keypoints", problems)
            if keypoints is not None and not keypoints.is_file():
                problems.append(f"{where}: keypoints = {raw['keypoints']!r}: no file at "
                                f"{keypoints}; fix the path or remove the key")
        if "blend" not in raw:
            problems.extend(f"{where}: {key} is only for .blend shots; remove it"
                            for key in ("scene", "character") if key in raw)
    for key in ("scene", "character"):
        if not isinstance(raw.get(key, ""), str):
            problems.append(f"{where}: {key} = {raw[key]!r}; give a name in quotes")
    tracks = _tracks(base, raw.get("tracks"), where, problems)
    if len(problems) > before:
        return None
    return Shot(name=name, tracks=tracks, blend=blend, frames=frames,
                fps=None if fps is None else float(fps), keypoints=keypoints,
                scene=raw.get("scene", ""), character=raw.get("character", ""))


def _tracks(base: Path, raw: object, where: str, problems: list[str]) -> tuple[Track, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: tracks: give a list of {{ language = \"en\", audio = "
                        "\"audio/x.wav\" }, one per language")
        return ()
    tracks, seen = [], set()
    for number, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(f"{where}: tracks[{number}]: must be {{ language = ..., audio = ... }}")
            continue
        for key in sorted(set(item) - TRACK_KEYS):
            problems.append(f"{where}: tracks[{number}]: unknown key {key!r}; allowed: "
                            "audio, language")
        language = item.get("language")
        if not _good_name(language) or language.lower() == RENDER:
            problems.append(f"{where}: tracks[{number}]: language = {language!r}; give a code "
                            "such as \"en\" (letters, digits, '.', '_', '-'; not \"render\")")
        elif language.lower() in seen:
            problems.append(f"{where}: tracks[{number}]: language {language!r} appears twice "
                            "(compared ignoring case); one track per language")
        else:
            seen.add(language.lower())
        audio = _relative(base, item.get("audio"), f"{where}: tracks[{number}]", "audio", problems)
        if audio is not None and not audio.is_file():
            problems.append(f"{where}: tracks[{number}]: audio = {item['audio']!r}: no file at "
                            f"{audio}; fix the path (relative to the batch file's folder)")
        tracks.append(Track(language=language, audio=audio))
    return tuple(tracks)


def _good_name(name: object) -> bool:
    return isinstance(name, str) and bool(NAME_RE.fullmatch(name)) and name.strip(".") != ""


def _relative(base: Path, value: object, where: str, key: str, problems: list[str]) -> Path | None:
    """`base / value` when `value` is a path inside `base`; else record a problem."""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {key} = {value!r}; give a path relative to the batch "
                        f"file's folder {base}")
        return None
    windows = PureWindowsPath(value)
    if PurePosixPath(value).is_absolute() or windows.drive or windows.root:
        problems.append(f"{where}: {key} = {value!r} is an absolute path; give it relative to "
                        f"the batch file's folder {base} so the batch moves as one folder")
        return None
    depth = 0
    for part in PurePosixPath(value.replace("\\", "/")).parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            problems.append(f"{where}: {key} = {value!r} leaves the batch file's folder {base} "
                            "with '..'; move it under that folder")
            return None
    return base / os.path.normpath(value)


# ---------------------------------------------------------------- the plan

def plan(batch: Batch, shard: Shard | None = None, python: str | None = None,
         device: str | None = None) -> list[Task]:
    """The steps of the shots in `shard` (all shots when None), in file order.

    `python` runs `-m lipsync` (default sys.executable); `device` overrides the file's.
    """
    python = python or sys.executable
    device = device or batch.device
    tasks: list[Task] = []
    for k, shot in enumerate(batch.shots):
        if shard is not None and not shard.takes(k):
            continue
        shot_dir = batch.out / shot.name
        render_dir = None
        if shot.blend is not None:
            render_dir = shot_dir / RENDER
            command = [python, "-m", "lipsync", "blend", str(shot.blend), "render",
                       "--out", str(render_dir)]
            if shot.scene:
                command += ["--scene", shot.scene]
            if shot.character:
                command += ["--character", shot.character]
            tasks.append(Task(shot=shot.name, language="", command=tuple(command),
                              out_dir=render_dir, marker=render_dir / "render.json",
                              log=shot_dir / f"{RENDER}.log"))
            frames, keypoints, fps = render_dir / "frames", render_dir / "keypoints.npz", None
        else:
            frames, keypoints, fps = shot.frames, shot.keypoints, shot.fps
        for track in shot.tracks:
            result = shot_dir / track.language
            command = [python, "-m", "lipsync", "sync", "--frames", str(frames),
                       "--audio", str(track.audio),
                       "--fps", FPS_FROM_RENDER if fps is None else format_fps(fps),
                       "--out", str(result), "--device", device]
            if keypoints is not None:
                command += ["--keypoints", str(keypoints)]
            tasks.append(Task(shot=shot.name, language=track.language, command=tuple(command),
                              out_dir=result, marker=result / "report.json",
                              log=shot_dir / f"{track.language}.log", render_dir=render_dir))
    return tasks


def format_fps(fps: float) -> str:
    """Shortest text that reads back as the same float: 24 -> "24", 29.97002997... exact."""
    short = f"{fps:g}"
    return short if float(short) == fps else repr(float(fps))


def resolve_command(task: Task) -> tuple[str, ...]:
    """The task's command with the fps of its render filled in; `BatchError` if unreadable."""
    if FPS_FROM_RENDER not in task.command:
        return task.command
    info = task.render_dir / "render.json"
    try:
        fps = float(json.loads(info.read_text(encoding="utf-8"))["fps"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BatchError(f"cannot read the fps from {info}: {exc}") from None
    return tuple(format_fps(fps) if part == FPS_FROM_RENDER else part for part in task.command)


def format_plan(tasks: Sequence[Task]) -> str:
    """The plan as text: per step its state (run / skip) and its command."""
    lines = []
    for n, task in enumerate(tasks, 1):
        done = task.marker.exists() or (task.is_render and _tracks_complete(task, tasks))
        state = "skip (complete)" if done else "run"
        command = task.command
        if FPS_FROM_RENDER in command and (task.render_dir / "render.json").exists():
            try:
                command = resolve_command(task)
            except BatchError:
                pass
        lines.append(f"[{n}/{len(tasks)}] {task.label}: {state}")
        lines.append(f"    {shlex.join(command)}")
    return "\n".join(lines)


# ---------------------------------------------------------------- running

def run_subprocess(command: Sequence[str], log_path: Path) -> RunResult:
    """Run `command`, stdout and stderr into `log_path` (replaced); keep stderr's last line.

    On KeyboardInterrupt the subprocess is terminated (killed after 5 s), then it re-raises.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(f"$ {shlex.join(command)}\n", encoding="utf-8")
    with open(log_path, "ab", buffering=0) as sink:  # append mode: we and the child share it
        try:
            proc = subprocess.Popen(list(command), stdout=sink, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL)
        except OSError as exc:
            sink.write(f"cannot start: {exc}\n".encode())
            return RunResult(127, f"cannot start {command[0]}: {exc.strerror or exc}")
        last = [""]

        def pump() -> None:
            for line in proc.stderr:
                sink.write(line)
                text = line.decode("utf-8", errors="replace").strip()
                if text:
                    last[0] = text

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            reader.join(timeout=1)
            raise
        reader.join()
        proc.stderr.close()
    return RunResult(code, last[0])


def run_batch(tasks: Sequence[Task], runner: Runner = run_subprocess,
              progress_stream: TextIO | None = None) -> list[Outcome]:
    """Run the steps in order, skipping complete ones and going on past failures.

    A failed render fails the tracks that need it. On KeyboardInterrupt the running step
    is marked "interrupted" and the outcomes so far are returned.
    """
    stream = progress_stream if progress_stream is not None else sys.stderr
    outcomes: list[Outcome] = []
    failed_renders: dict[Path, str] = {}
    total = len(tasks)

    def say(text: str, end: str = "\n") -> None:
        stream.write(text + end)
        stream.flush()

    running: tuple[Task, float] | None = None  # the step in its subprocess, its start time
    try:
        for n, task in enumerate(tasks, 1):
            head = f"[{n}/{total}] {task.label}:"
            ready = _prepare(task, tasks, failed_renders)
            if isinstance(ready, Outcome):
                say(f"{head} skipped (complete)" if ready.status == "skipped"
                    else f"{head} FAILED ({ready.detail.partition(' (log ')[0]})")
                outcomes.append(ready)
                continue
            say(f"{head} running...", end=" ")
            log.debug("%s $ %s", task.label, shlex.join(ready))
            running = (task, time.perf_counter())
            result = runner(ready, task.log)
            seconds, running = time.perf_counter() - running[1], None
            if result.returncode == 0 and task.marker.exists():
                say(f"ok {seconds:.1f} s")
                outcomes.append(Outcome(task, "ok", seconds, str(task.out_dir)))
                continue
            if result.returncode == 0:
                error = f"exit 0 but {task.marker.name} was not written"
            else:
                error = f"exit {result.returncode}: {result.last_error or '(no error output)'}"
            say(f"FAILED ({error})")
            if task.is_render:
                failed_renders[task.out_dir] = f"{error} (log {task.log})"
            outcomes.append(Outcome(task, "failed", seconds, f"{error} (log {task.log})"))
    except KeyboardInterrupt:
        if running is not None:
            seconds = time.perf_counter() - running[1]
            say(f"interrupted after {seconds:.1f} s")
            outcomes.append(Outcome(running[0], "interrupted", seconds,
                                    f"interrupted (log {running[0].log})"))
        elif len(outcomes) < total:  # between two steps
            say("interrupted")
            outcomes.append(Outcome(tasks[len(outcomes)], "interrupted", 0.0, "interrupted"))
    return outcomes


def _prepare(task: Task, tasks: Sequence[Task],
             failed_renders: dict[Path, str]) -> Outcome | tuple[str, ...]:
    """The command to run, or the outcome of a step that need not or cannot run."""
    if task.marker.exists():
        return Outcome(task, "skipped", 0.0, str(task.out_dir))
    if task.is_render and _tracks_complete(task, tasks):
        return Outcome(task, "skipped", 0.0, "not needed: all its tracks are complete")
    if task.render_dir is not None and task.render_dir in failed_renders:
        return Outcome(task, "failed", 0.0, f"render failed: {failed_renders[task.render_dir]}")
    try:
        return resolve_command(task)
    except BatchError as exc:
        return Outcome(task, "failed", 0.0, str(exc))


def _tracks_complete(render: Task, tasks: Sequence[Task]) -> bool:
    """Whether every track that needs this render already has its result."""
    users = [t for t in tasks if t.render_dir == render.out_dir]
    return bool(users) and all(t.marker.exists() for t in users)


def format_summary(outcomes: Sequence[Outcome]) -> str:
    """A table: shot, language, status, seconds, result path or error; then the counts."""
    rows = [("shot", "language", "status", "seconds", "result / error")]
    for o in outcomes:
        rows.append((o.task.shot, o.task.language or "(render)", o.status,
                     f"{o.seconds:.1f}", o.detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row[:4], widths)), row[4]]).rstrip()
             for row in rows]
    counts = {s: sum(o.status == s for o in outcomes)
              for s in ("ok", "skipped", "failed", "interrupted")}
    lines.append(", ".join(f"{v} {k}" for k, v in counts.items() if v or k != "interrupted"))
    return "\n".join(lines)


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """3 when interrupted, 1 when a step failed, else 0."""
    statuses = {o.status for o in outcomes}
    return 3 if "interrupted" in statuses else 1 if "failed" in statuses else 0


# ---------------------------------------------------------------- command line

def add_parser(commands) -> None:
    parser = commands.add_parser(
        "batch", help="lip-sync a list of shots, one result per shot and language",
        description="Run the shots of a batch file (TOML); results go to OUT/<shot>/<language>. "
                    "A re-run skips complete results.")
    parser.add_argument("file", type=Path, help="batch file (.toml)")
    parser.add_argument("--shard", default=None, metavar="I/N",
                        help="run only shots k (from 0) with k %% N == I-1, for N machines")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--device", default=None, choices=DEVICES,
                        help="device for sync (default: the file's device, else auto)")
    parser.add_argument("--python", default=None,
                        help="Python that runs `-m lipsync` (default: this one)")


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the process exit code."""
    try:
        shard = parse_shard(args.shard) if args.shard is not None else None
        batch = load_batch(args.file)
        python = args.python or sys.executable
        if args.python is not None and not (Path(python).is_file() or _which(python)):
            raise BatchError(f"--python {python!r}: no such program")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tasks = plan(batch, shard, python=python, device=args.device)
    where = f" (shard {shard})" if shard else ""
    if args.dry_run:
        print(f"plan{where}: {len(tasks)} step(s) into {batch.out}")
        print(format_plan(tasks))
        return 0
    if not tasks:
        print(f"nothing to do{where}: this shard has no shots")
        return 0
    outcomes = run_batch(tasks)
    print(format_summary(outcomes))
    code = exit_code(outcomes)
    if code == 3:
        print("interrupted: a re-run skips the complete results", file=sys.stderr)
    return code


def _which(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None
