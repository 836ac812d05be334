"""Learn Character from the panel: the headless `learn` command run in a background process
on a temporary copy of the open file, so the user's scene, keyframes, shape key values and
file are never touched (the learning itself keys the mouth controls and renders).

`BackgroundLearnJob` has the runner's job shape (`runner.py`):
- `prepare()`: the quick checks (`learn_job.check_request`), then a copy of the open file
  in a temporary folder (`wm.save_as_mainfile(copy=True)`: the open file keeps its path
  and its unsaved state; relative paths are remapped to the copy's place);
- `main_thread_steps()`: none;
- `compute()` (no bpy): runs `learn --progress-lines` on the copy (`command`, made in
  `prepare`) and passes its progress on; Esc (`should_cancel`) terminates it;
- `finish()`: its `LearnCharacterResult`; `abort()`: removes the copy and, unless the
  process failed on its own (its finished renders are then kept for a re-run), the work
  folder and whatever the run wrote (the learnt file and card did not exist before).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import bpy

from ...core.errors import Cancelled, InputError, LipSyncError
from ...core.learn.character import learnt_path, work_path
from ...core.progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from ...core.process_lines import follow_lines
from .learn_job import LearnCharacterResult, LearnRequest, check_request
from .preprocess_job import resolve_output_dir

PACKAGE = __package__.rsplit(".addon", 1)[0]     # "lipsync", or the extension's package


def command(blend: str, args: list[str]) -> list[str]:
    """The command that runs `learn args` on `blend`: Blender's own binary with the
    extension's command line, or (the bpy module, which has no binary) this Python."""
    if bpy.app.binary_path:
        return [bpy.app.binary_path, "-b", blend, "-c", "lipsync", "learn", *args]
    return [sys.executable, "-m", PACKAGE, "blend", blend, "learn", *args]


def learn_arguments(request: LearnRequest, out_dir: str) -> list[str]:
    """`learn`'s options for `request`, its learnt folder given as `out_dir` (absolute:
    the copy lies elsewhere)."""
    s = request.settings
    args = ["--scene", request.scene, "--character", request.character,
            "--visemes", request.visemes, "--out", out_dir, "--sentences", str(s.sentences),
            "--language", s.language, "--samples", str(s.samples), "--steps", str(s.steps),
            "--minutes", str(s.minutes), "--device", request.device,
            "--source-file", request.source_file or bpy.data.filepath, "--progress-lines"]
    if request.mouth_group:
        args += ["--mouth-group", request.mouth_group]
    return args


class BackgroundLearnJob:
    """Learn Character in a background process (see the module docstring)."""

    main_share = 0.0                # no main-thread steps

    def __init__(self, request: LearnRequest):
        self.request = request
        self.scene = bpy.data.scenes.get(request.scene)
        if self.scene is None:
            raise InputError(f"No scene named '{request.scene}'.")
        self.folder = resolve_output_dir(request.out_dir)
        self.target = learnt_path(self.folder, request.character)
        self.temp = ""
        self.result: LearnCharacterResult | None = None
        self.log: list[str] = []        # the process's other output, last lines
        self._failed_alone = False      # the process failed by itself (not cancelled)
        self._made_folder = not os.path.isdir(self.folder)

    def prepare(self) -> None:
        check_request(self.request, self.scene)
        self.temp = tempfile.mkdtemp(prefix="lipsync-learn-")
        copy = os.path.join(self.temp, "shot.blend")
        bpy.ops.wm.save_as_mainfile(filepath=copy, copy=True)
        self.command = command(copy, learn_arguments(self.request, self.folder))
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if not bpy.app.binary_path:         # the bpy module: this package on the path
            root = str(Path(os.path.abspath(__file__)).parents[3])
            self.env["PYTHONPATH"] = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])

    def main_thread_steps(self):
        yield from ()

    def compute(self, progress: ProgressFn = no_progress,
                should_cancel: CancelFn = never_cancel) -> None:
        from ..headless import PROGRESS, RESULT

        def on_line(line: str) -> None:
            if line.startswith(PROGRESS):
                done, total, message = json.loads(line[len(PROGRESS):])
                progress(done, total, message)
            elif line.startswith(RESULT):
                self.result = LearnCharacterResult(**json.loads(line[len(RESULT):]))
            else:
                self.log = (self.log + [line.rstrip()])[-40:]

        proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=self.env, cwd=self.temp)
        code = follow_lines(proc, proc.stdout, on_line, grace_s=5.0, join_s=2.0,
                            check=lambda: check_cancel(should_cancel))
        if code == 0 and self.result is not None:
            return
        self._failed_alone = code != 3
        errors = [line[len("error: "):] for line in self.log if line.startswith("error: ")]
        if code == 3:
            raise Cancelled("cancelled")
        if code == 2 and errors:
            raise InputError(errors[-1])
        tail = " | ".join(self.log[-5:])
        raise LipSyncError(f"Learn Character's background process failed (exit code {code}): "
                           f"{tail}")

    def finish(self) -> LearnCharacterResult:
        return self.result

    def abort(self) -> None:
        if self.temp:
            shutil.rmtree(self.temp, ignore_errors=True)
        if self._failed_alone:
            return                      # it cleaned up after itself and kept its renders
        shutil.rmtree(work_path(self.folder, self.request.character), ignore_errors=True)
        for path in (self.target, self.target.with_suffix(".md"),
                     self.target.with_name(self.target.name + ".part")):
            if path.exists():           # free at prepare: this run's
                path.unlink()
        if self._made_folder:
            try:
                os.rmdir(self.folder)
            except OSError:
                pass

    def run(self, progress: ProgressFn = no_progress,
            should_cancel: CancelFn = never_cancel) -> LearnCharacterResult:
        """All phases on the calling thread (the operator's `execute`)."""
        try:
            self.prepare()
            self.compute(progress, should_cancel)
            return self.finish()
        except BaseException:
            self.abort()
            raise
