"""The steps of a batch: per .blend shot one render, per track one lip-sync, each a
subprocess command with its output folder, marker file and log; `--shard` selects shots."""

from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from ..cli.arguments import options_to_argv
from .spec import RENDER, Batch, BatchError

FPS_FROM_RENDER = "<fps from render.json>"  # stands in a command until the render has run


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


def parse_shard(text: str) -> Shard:
    """Parse "I/N" (1 <= I <= N) into a `Shard`; raise `BatchError` otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match:
        index, count = int(match[1]), int(match[2])
        if 1 <= index <= count:
            return Shard(index, count)
    raise BatchError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. --shard 1/4 "
                     "for the first of four machines")


def plan(batch: Batch, shard: Shard | None = None, python: str | None = None,
         device: str | None = None, verbose: bool = False) -> list[Task]:
    """The steps of the shots in `shard` (all shots when None), in file order.

    `python` runs `-m lipsync` (default sys.executable); `device` overrides the file's;
    `verbose` adds --verbose to every command.
    """
    python = python or sys.executable
    tail = ["--verbose"] if verbose else []
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
            tasks.append(Task(shot=shot.name, language="", command=tuple(command + tail),
                              out_dir=render_dir, marker=render_dir / "render.json",
                              log=shot_dir / f"{RENDER}.log"))
            frames, keypoints, fps = render_dir / "frames", render_dir / "keypoints.npz", None
        else:
            frames, keypoints, fps = shot.frames, shot.keypoints, shot.fps
        options = replace(shot.options, device=device) if device else shot.options
        for track in shot.tracks:
            result = shot_dir / track.language
            command = [python, "-m", "lipsync", "sync", "--frames", str(frames),
                       "--audio", str(track.audio),
                       "--fps", FPS_FROM_RENDER if fps is None else format_fps(fps),
                       "--out", str(result), *options_to_argv(options)]
            if keypoints is not None:
                command += ["--keypoints", str(keypoints)]
            tasks.append(Task(shot=shot.name, language=track.language,
                              command=tuple(command + tail),
                              out_dir=result, marker=result / "report.json",
                              log=shot_dir / f"{track.language}.log", render_dir=render_dir))
    return tasks


def format_fps(fps: float) -> str:
    """Shortest text that reads back as the same float: 24 -> "24", 29.97002997... exact."""
    short = f"{fps:g}"
    return short if float(short) == fps else repr(float(fps))


def resolve_command(task: Task) -> tuple[str, ...]:
    """The task's command with the fps of its render filled in and, when the render found
    the character's learnt generator (render.json "learnt") and the shot names no weights
    of its own, ``--weights`` of it; `BatchError` if render.json is unreadable."""
    if FPS_FROM_RENDER not in task.command:
        return task.command
    info_path = task.render_dir / "render.json"
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        fps = float(info["fps"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BatchError(f"cannot read the fps from {info_path}: {exc}") from None
    command = tuple(format_fps(fps) if part == FPS_FROM_RENDER else part
                    for part in task.command)
    learnt = info.get("learnt")
    if learnt and "--weights" not in command:
        command += ("--weights", str(learnt))
    return command


def format_plan(tasks: Sequence[Task]) -> str:
    """The plan as text: per step its state (run / skip) and its command."""
    lines = []
    for n, task in enumerate(tasks, 1):
        done = task.marker.exists() or (task.is_render and tracks_complete(task, tasks))
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


def tracks_complete(render: Task, tasks: Sequence[Task]) -> bool:
    """Whether every track that needs this render already has its result."""
    users = [t for t in tasks if t.render_dir == render.out_dir]
    return bool(users) and all(t.marker.exists() for t in users)
