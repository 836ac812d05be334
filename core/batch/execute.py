"""Running the steps of a batch: each in a subprocess with its output in its log, complete
ones skipped, failures recorded and gone past, Ctrl+C ending the run with what is done;
then the table of outcomes and the process exit code."""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, TextIO

from ..cli.exit_codes import CANCELLED, DONE, FAILED
from ..process_lines import follow_lines
from .spec import BatchError
from .steps import Task, resolve_command, tracks_complete

log = logging.getLogger(__name__)


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

        def take(line: bytes) -> None:
            sink.write(line)
            text = line.decode("utf-8", errors="replace").strip()
            if text:
                last[0] = text

        code = follow_lines(proc, proc.stderr, take, grace_s=5.0, join_s=1.0)
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
    if task.is_render and tracks_complete(task, tasks):
        return Outcome(task, "skipped", 0.0, "not needed: all its tracks are complete")
    if task.render_dir is not None and task.render_dir in failed_renders:
        return Outcome(task, "failed", 0.0, f"render failed: {failed_renders[task.render_dir]}")
    try:
        return resolve_command(task)
    except BatchError as exc:
        return Outcome(task, "failed", 0.0, str(exc))


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
    """CANCELLED (3) when interrupted, FAILED (1) when a step failed, else DONE (0)."""
    statuses = {o.status for o in outcomes}
    return CANCELLED if "interrupted" in statuses else FAILED if "failed" in statuses else DONE
