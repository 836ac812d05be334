"""`python -m lipsync batch shots.toml`: many shots, one result per shot and language.

    python -m lipsync batch shots.toml [--shard I/N] [--dry-run] [--device auto|cpu|cuda]
                                       [--python PYTHON] [--verbose]

The batch file lists shots (a .blend or a folder of frames) and per shot its audio
tracks, one per language; paths are relative to the batch file's folder. A .blend
shot is rendered once into OUT/<shot>/render and lip-synced per track into
OUT/<shot>/<language>; each step runs as a subprocess whose output goes to
OUT/<shot>/render.log or OUT/<shot>/<language>.log. A step whose marker file
(render.json, report.json) exists is skipped, so a re-run only does what is missing.
`--shard I/N` runs the whole shots with index k % N == I - 1 (k from 0, file order).

Exit codes: 0 all ok or skipped, 1 a step failed, 2 bad batch file or options,
3 interrupted with Ctrl+C (the summary so far is printed).

- :mod:`.spec`: the batch file's dataclasses and :func:`load_batch`, which checks it;
- :mod:`.steps`: :func:`parse_shard`, :func:`plan` (the subprocess commands) and
  :func:`format_plan` (``--dry-run``);
- :mod:`.execute`: :func:`run_batch`, :func:`run_subprocess`, :func:`format_summary`
  and :func:`exit_code`;
- :mod:`.cli`: the sub-command's options (:func:`add_parser`) and :func:`run`.
"""

from .cli import add_parser, run
from .execute import (Outcome, Runner, RunResult, exit_code, format_summary, run_batch,
                      run_subprocess)
from .spec import Batch, BatchError, Shot, Track, load_batch
from .steps import (FPS_FROM_RENDER, Shard, Task, format_fps, format_plan, parse_shard, plan,
                    resolve_command)

__all__ = [
    "Batch",
    "BatchError",
    "FPS_FROM_RENDER",
    "Outcome",
    "RunResult",
    "Runner",
    "Shard",
    "Shot",
    "Task",
    "Track",
    "add_parser",
    "exit_code",
    "format_fps",
    "format_plan",
    "format_summary",
    "load_batch",
    "parse_shard",
    "plan",
    "resolve_command",
    "run",
    "run_batch",
    "run_subprocess",
]
