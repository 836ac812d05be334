"""The lip-sync pipeline: frames + audio + fps (+ keypoints per character) -> frames.

One entry point, `lipsync_frames`, used by the panel, the headless command and the
command line. It streams: frames are read ahead on worker threads, processed in chunks of
`PipelineOptions.chunk` and written as they finish, so memory stays flat however long the
shot. Per character it crops the face around the mouth keypoints (crop boxes smoothed
over time), runs the sync expert's embeddings and the generator in batches (CUDA when
there is one), refines the feathered mouth-region mask with the face parser, and blends
the generated mouth into the stored frame (`composite`), never outside the character's
face box (a check after compositing stops the run with `DamageError` if anything outside
changed: `damage`). Pixels outside the mouth region, alpha, bit depth and float range are
the input's own; frames where no mouth is visible are copied byte for byte. Output files keep the input's names and format (JPEG frames are written
as PNG, so pixels outside the mouth stay exact).

Everything goes to ``<out>.partial-<pid>`` first and is renamed to `out` at the end:
a failed or cancelled run leaves nothing half-written.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..audio import AudioTiming
from ..errors import FrameError, InputError
from ..preprocess.frames import enable_exr, read_frame_raw
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress
from .composite import composite_mouth
from .character import NO_MOUTH, CharacterState, CharacterTrack
from .networks import HALF_GROUP
from .damage import check_inside_faces
from .models import LipSyncModels
from .options import LipSyncOptions
from .pixels import to_display

REPORT = "report.json"
LOSSY_SUFFIXES = (".jpg", ".jpeg")
EMPTY_REGION = "mouth region empty inside the face box"


@dataclass(frozen=True)
class PipelineOptions:
    """How a shot is processed: the job's options and how the work is streamed."""

    job: LipSyncOptions = LipSyncOptions()
    chunk: int = 16             # frames processed together (memory grows with it), >= 1
    io_threads: int = 2         # reader and writer threads, >= 1

    def __post_init__(self) -> None:
        for name in ("chunk", "io_threads"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} = {getattr(self, name)!r}: use a whole number >= 1.")


@dataclass
class PipelineReport:
    """What a run did: counts per character, frames passed through, speed, notes."""

    frames: int
    fps: float
    device: str
    out_dir: str
    characters: dict[str, int] = field(default_factory=dict)   # name -> frames generated
    passed_through: list[int] = field(default_factory=list)   # frame indices copied as-is
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    revoiced: list[str] = field(default_factory=list)         # characters re-voiced
    never_visible: list[str] = field(default_factory=list)    # mouth hidden on every frame
    learnt: dict[str, str] = field(default_factory=dict)      # name -> its learnt generator
    by_character: dict[str, dict] = field(default_factory=dict)
    # name -> {"changed": frames generated, "passed_through": {reason: [frame indices]}}

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "frames_per_second": self.frames_per_second}


def output_name(path: Path) -> str:
    """The output file name of input frame `path` (JPEG becomes PNG)."""
    return path.stem + ".png" if path.suffix.lower() in LOSSY_SUFFIXES else path.name


def lipsync_frames(frame_paths: Sequence[str | os.PathLike], characters: Sequence[CharacterTrack],
                   fps: float | AudioTiming, out_dir: str | os.PathLike,
                   options: PipelineOptions = PipelineOptions(),
                   models: LipSyncModels | None = None, progress: ProgressFn = no_progress,
                   should_cancel: CancelFn = never_cancel,
                   notes: Sequence[str] = ()) -> PipelineReport:
    """Lip-sync F frames to each character's audio and write them to `out_dir`.

    frame_paths: the shot's F frame files in order (PNG, JPEG, TIFF, EXR; grey, RGB or
    RGBA; 8/16-bit or float). characters: each with F frames of keypoints and its audio.
    fps: frames per second (any, e.g. 29.97), or the shot's AudioTiming when the caller has
    built it (one per shot). out_dir: must not exist yet (or be empty). notes: the caller's
    notes for the report (e.g. how the keypoints were found), put first.
    Returns the report, also saved as ``out_dir/report.json`` (written last).
    """
    started = time.perf_counter()
    paths = [Path(p) for p in frame_paths]
    if not paths:
        raise InputError("no frames to lip-sync: the frame list is empty.")
    if not isinstance(fps, AudioTiming) and (not fps or fps <= 0):
        raise InputError(f"fps must be > 0, got {fps}.")
    timing = fps if isinstance(fps, AudioTiming) else AudioTiming(fps=fps)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"output folder '{out}' exists and is not empty: choose a new folder "
                         "(results are never overwritten).")
    names = [output_name(p) for p in paths]
    if len(set(names)) != len(names):
        raise InputError("two input frames would get the same output name: give the frames "
                         "distinct names (e.g. 0001.png, 0002.png ...).")
    job = options.job
    models = models or LipSyncModels.for_options(job)
    learnt = {c.name: str(c.weights) for c in characters if c.weights is not None}
    generators = {path: models.with_generator(path) for path in dict.fromkeys(learnt.values())}
    states = [CharacterState(c, len(paths), timing,
                             generators[learnt[c.name]] if c.name in learnt else models,
                             job.refine, job.revoice, job.sharpen) for c in characters]
    if states and not any(s.active for s in states):
        raise InputError(f"The mouth of {_listed([s.track.name for s in states])} is not "
                         "visible on any frame: hidden or facing away from the camera on every "
                         "frame, so there is nothing to lip-sync. Check the camera, the frame "
                         "range, and the mouth (the Mouth group: the vertex group of the lips).")
    report = PipelineReport(frames=len(paths), fps=float(timing.fps), device=str(models.device),
                            out_dir=str(out),
                            revoiced=[s.track.name for s in states if s.revoice],
                            learnt=learnt)
    report.notes.extend(notes)
    report.notes.extend(f"character '{name}': its learnt generator {Path(path).name} was "
                        f"used ({path}){_bank_note(generators[path])}"
                        for name, path in learnt.items())
    report.characters = {c.name: 0 for c in characters}
    report.by_character = {c.name: {"changed": 0, "passed_through": {}} for c in characters}
    for state in states:
        report.notes.extend(state.notes)
        if not state.active:
            report.never_visible.append(state.track.name)
            report.notes.append(f"character '{state.track.name}': mouth not visible on any "
                                "frame, left unchanged")
    if any(p.suffix.lower() in LOSSY_SUFFIXES for p in paths):
        report.notes.append("JPEG frames are written as PNG so pixels outside the mouth stay "
                            "exact")

    partial = _partial_dir(out)
    try:
        _Streamer(paths, names, states, partial, options, report, progress,
                  should_cancel).run()
        report.seconds = time.perf_counter() - started
        for name, count in report.characters.items():
            report.by_character[name]["changed"] = count
        (partial / REPORT).write_text(json.dumps(report.to_dict(), indent=2))
        _move_into_place(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return report


def _bank_note(models: LipSyncModels) -> str:
    """How a learnt file's mouth bank picks its mouths, for the report ('' without one)."""
    if models.bank is None:
        return ""
    if models.hears:
        return "; its own mouths chosen by the sound"
    return ("; its own mouths chosen by the generated mouth (a file learnt before 2026-12-05: "
            "learn the character again to choose them by the sound)")


def _listed(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _partial_dir(out: Path) -> Path:
    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir()
    except OSError as exc:
        raise InputError(f"cannot write to output folder '{out.parent}' ({exc.strerror}): "
                         "choose a writable folder.") from exc
    return partial


def _move_into_place(partial: Path, out: Path) -> None:
    if out.exists():
        out.rmdir()          # empty (checked at the start); never a user's file
    os.replace(partial, out)


class _Streamer:
    """Reads, processes and writes the frames of one run (see the module docstring)."""

    def __init__(self, paths: list[Path], names: list[str], states: list[CharacterState],
                 partial: Path, options: PipelineOptions, report: PipelineReport,
                 progress: ProgressFn, should_cancel: CancelFn):
        self.paths, self.names, self.states = paths, names, states
        self.partial, self.options, self.report = partial, options, report
        self.progress, self.should_cancel = progress, should_cancel
        self.pool = ThreadPoolExecutor(options.io_threads, thread_name_prefix="lipsync-io")
        self.writes: deque[Future] = deque()
        self.done = 0
        if options.job.matte:
            (partial / "matte").mkdir()

    def run(self) -> None:
        n = len(self.paths)
        try:
            self._set_references()
            reads: deque[Future] = deque()
            ahead = self.options.chunk + HALF_GROUP + self.options.io_threads
            pending: dict[int, np.ndarray] = {}            # read, not yet written
            next_read, next_out = 0, 0
            while next_out < n:
                while next_read < n and len(reads) < ahead:
                    reads.append(self.pool.submit(read_frame_raw, self.paths[next_read]))
                    next_read += 1
                check_cancel(self.should_cancel)
                index = next_out + len(pending)
                raw = reads.popleft().result()
                self._check_shape(raw, index)
                display = to_display(raw)
                for state in self.states:
                    state.add(index, display)
                pending[index] = raw
                ready = [i for i in pending if i + HALF_GROUP <= index or index == n - 1]
                if len(ready) >= self.options.chunk or index == n - 1:
                    self._process(ready, pending)
                    next_out = ready[-1] + 1
            self._drain(0)
        finally:
            for future in self.writes:
                future.cancel()
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _set_references(self) -> None:
        for state in self.states:
            if state.active:
                if not state.own_reference:           # else each frame is its own
                    index = state.reference_frame()
                    state.set_reference(to_display(read_frame_raw(self.paths[index])), index)
                state.whole.read_from(lambda i: to_display(read_frame_raw(self.paths[i])))

    def _check_shape(self, raw: np.ndarray, index: int) -> None:
        if index == 0:
            self.shape = raw.shape[:2]
        elif raw.shape[:2] != self.shape:
            raise FrameError(f"frame '{self.paths[index]}' is {raw.shape[1]}x{raw.shape[0]}, "
                             f"the first frame {self.shape[1]}x{self.shape[0]}: all frames of "
                             "a shot must have one size.")

    def _process(self, indices: list[int], pending: dict[int, np.ndarray]) -> None:
        made = [state.generate(indices, self.options.job.batch) for state in self.states]
        for i in indices:
            raw = pending.pop(i)
            outputs = [m[i] for m in made if i in m]
            matte, changed = None, False
            if outputs:
                before, raw = raw, raw.copy()
                matte = np.zeros(raw.shape[:2], np.float32) if self.options.job.matte else None
                for state, m in zip(self.states, made):
                    if i in m and composite_mouth(raw, m[i], matte):
                        self.report.characters[state.track.name] += 1
                        changed = True
                    else:
                        self._pass(state, i, EMPTY_REGION if i in m else None)
                check_inside_faces(before, raw, [out.face for out in outputs], self.names[i])
            else:
                for state in self.states:
                    self._pass(state, i)
            if not changed:
                self.report.passed_through.append(i)
            self._drain(2 * self.options.chunk)
            self.writes.append(self.pool.submit(self._write, i, raw if changed else None,
                                                matte))
        for state in self.states:
            state.forget_before(indices[-1] + 1 - HALF_GROUP)

    def _pass(self, state: CharacterState, index: int, reason: str | None = None) -> None:
        """List frame `index` as passed through for `state`'s character, with why."""
        reason = reason or state.track.reasons.get(index, NO_MOUTH)
        passed = self.report.by_character[state.track.name]["passed_through"]
        passed.setdefault(reason, []).append(index)

    def _write(self, index: int, frame: np.ndarray | None, matte: np.ndarray | None) -> None:
        target = self.partial / self.names[index]
        try:
            if frame is None and self.paths[index].suffix.lower() not in LOSSY_SUFFIXES:
                shutil.copyfile(self.paths[index], target)
            else:
                if frame is None:
                    frame = read_frame_raw(self.paths[index])
                target.write_bytes(_encode(frame, target.suffix))
            if self.options.job.matte:
                mask = (np.zeros(self.shape, np.uint8) if matte is None
                        else np.ceil(matte * 255).astype(np.uint8))   # > 0 wherever changed
                (self.partial / "matte" / (Path(self.names[index]).stem + ".png")).write_bytes(
                    _encode(mask, ".png"))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise FrameError(f"the disk is full while writing '{target}': free some space "
                                 "and run again (nothing was kept from this run).") from exc
            raise FrameError(f"cannot write '{target}' ({exc.strerror}): check the output "
                             "folder is writable.") from exc

    def _drain(self, keep: int) -> None:
        """Wait for writes until at most `keep` are in flight; report progress."""
        while len(self.writes) > keep or (self.writes and self.writes[0].done()):
            self.writes.popleft().result()
            self.done += 1
            self.progress(self.done, len(self.paths), f"frame {self.done}/{len(self.paths)}")


def _encode(image: np.ndarray, suffix: str) -> bytes:
    """Encode a stored-format frame (RGB(A) order) as `suffix`."""
    if suffix.lower() == ".exr":
        enable_exr()
    if image.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
        image = cv2.cvtColor(image, code)
    ok, data = cv2.imencode(suffix, image)
    if not ok:
        raise FrameError(f"cannot encode a {image.dtype} frame as {suffix}")
    return data.tobytes()
