"""Preprocess one frame, or a whole shot streamed from disk to disk.

Conventions: frames are (H, W, 3) RGB uint8 (float32 [0, 1] is accepted and
converted); the gradient pass is (H, W) float32 [0, 1], written as 8-bit grey.

`preprocess_sequence` reads one frame, writes its three passes and drops it, so
memory does not grow with the shot. Output files keep the input file stems
(``0042.exr`` -> ``blur/0042.png``), so frame numbers survive. Everything is
written into a temporary sibling of `out_dir` and renamed into place at the end:
a cancelled or failed run removes the temporary folder and leaves `out_dir`
exactly as it was.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .config import PreprocessConfig
from .frames import check_rgb_image, frame_number, read_frame, to_uint8, write_frame
from .gradient import gradient_map
from .keypoints import Face, KeypointTrack, draw_keypoints
from .mouth_blur import mouth_blur_picture
from ..errors import InputError
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress

PASSES = ("blur", "gradient", "keypoints")
"""Sub-folder names of the three passes under the output folder."""


@dataclass(frozen=True, eq=False)
class FramePasses:
    """The preprocessing passes of one frame.

    Attributes:
        blur: (H, W, 3) uint8 RGB mouth blur picture.
        gradient: (H, W) float32 [0, 1] gradient map of the blur picture.
        overlay: (H, W, 3) uint8 RGB frame with the mouth keypoints drawn.
    """

    blur: np.ndarray
    gradient: np.ndarray
    overlay: np.ndarray


@dataclass(frozen=True)
class PreprocessReport:
    """What `preprocess_sequence` did.

    Attributes:
        frame_count: frames processed.
        blur_dir, gradient_dir, keypoints_dir: the pass folders (inside out_dir).
        passed_through: character index -> scene frame numbers where its mouth
            was not visible, so the frame passed through unchanged for it
            (empty without a track).
        seconds: wall-clock time of the run.
        frames_per_second: frame_count / seconds.
    """

    frame_count: int
    blur_dir: Path
    gradient_dir: Path
    keypoints_dir: Path
    passed_through: dict[int, tuple[int, ...]]
    seconds: float
    frames_per_second: float


def preprocess_frame(frame: np.ndarray, faces: list[Face] | None,
                     config: PreprocessConfig) -> FramePasses:
    """Mouth blur picture, its gradient map and the keypoint overlay of one frame.

    Args:
        frame: (H, W, 3) RGB uint8 [0, 255] or float32 [0, 1].
        faces: faces to process; [] passes the frame through; None means no
            keypoints are known (the whole frame is one face, see `mouth_blur`).
        config: preprocessing configuration.

    Returns:
        `FramePasses` (blur uint8, gradient float32, overlay uint8).
    """
    frame = to_uint8(check_rgb_image(frame, "frame"))
    blur = mouth_blur_picture(frame, faces, config)
    return FramePasses(blur=blur, gradient=gradient_map(blur, config), overlay=draw_keypoints(frame, faces))


def preprocess_sequence(frame_paths: Sequence[Path], out_dir: Path, config: PreprocessConfig,
                        track: KeypointTrack | None = None, progress: ProgressFn = no_progress,
                        should_cancel: CancelFn = never_cancel, overwrite: bool = False,
                        frame_numbers: Sequence[int] | None = None) -> PreprocessReport:
    """Preprocess a shot frame by frame into ``out_dir/{blur,gradient,keypoints}/<stem>.png``.

    Args:
        frame_paths: frame files in display order (see `frames.list_frames`).
        out_dir: output folder; created, or replaced when `overwrite` is set.
        config: preprocessing configuration.
        track: mouth keypoints of the shot, matched to the files by the
            trailing number of their names (``shot_0042.png`` -> scene frame 42);
            None processes each frame as one face without keypoints.
        progress: called as progress(done, total, stem) after each frame.
        should_cancel: polled before each frame; True raises `Cancelled`.
        overwrite: replace a non-empty `out_dir` (only once the run succeeded).
        frame_numbers: the scene frame number of each path, when the file names do
            not carry it (frames of an image strip, a still held for many frames);
            outputs are then named ``<number:04d>.png``.

    Returns:
        `PreprocessReport`.

    Raises:
        InputError: no frames, duplicate stems, frames missing from the track,
            or a non-empty `out_dir` without `overwrite`.
        FrameError: a frame cannot be read or written.
        Cancelled: `should_cancel` returned True; nothing was left behind.
    """
    paths = [Path(p) for p in frame_paths]
    out_dir = Path(out_dir)
    if not paths:
        raise InputError("no frames to preprocess; check the frame folder")
    if frame_numbers is not None and len(frame_numbers) != len(paths):
        raise InputError(f"{len(frame_numbers)} frame numbers given for {len(paths)} frames")
    stems = ([p.stem for p in paths] if frame_numbers is None
             else [f"{int(n):04d}" for n in frame_numbers])
    if len(set(stems)) != len(stems):
        duplicates = sorted({s for s in stems if stems.count(s) > 1})
        raise InputError(f"frames share the name stems {duplicates[:5]}; outputs would overwrite "
                         "each other, keep one file per frame")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not overwrite:
        raise InputError(f"output folder {str(out_dir)!r} exists and is not empty; "
                         "choose another folder or allow overwriting")
    indices = _track_indices(paths, track, frame_numbers)

    start = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    passed: dict[int, list[int]] = {}
    try:
        for name in PASSES:
            (tmp / name).mkdir()
        for done, (path, stem, index) in enumerate(zip(paths, stems, indices)):
            check_cancel(should_cancel)
            frame = read_frame(path)
            faces = None
            if track is not None:
                faces = track.faces(index)
                hidden = np.flatnonzero(~track.mouth_visible(index))
                for c in hidden:
                    passed.setdefault(int(c), []).append(int(track.frames[index]))
            passes = preprocess_frame(frame, faces, config)
            name = f"{stem}.png"
            write_frame(tmp / "blur" / name, passes.blur)
            write_frame(tmp / "gradient" / name, np.round(passes.gradient * 255.0).astype(np.uint8))
            write_frame(tmp / "keypoints" / name, passes.overlay)
            progress(done + 1, len(paths), stem)
        check_cancel(should_cancel)
        _move_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    return PreprocessReport(
        frame_count=len(paths), blur_dir=out_dir / "blur", gradient_dir=out_dir / "gradient",
        keypoints_dir=out_dir / "keypoints",
        passed_through={c: tuple(frames) for c, frames in sorted(passed.items())},
        seconds=seconds, frames_per_second=len(paths) / seconds if seconds > 0 else float("inf"))


def _track_indices(paths: list[Path], track: KeypointTrack | None,
                   frame_numbers: Sequence[int] | None) -> list[int | None]:
    """Track index of each frame file, matched by `frame_numbers` or the file's trailing number."""
    if track is None:
        return [None] * len(paths)
    numbers = ([frame_number(p) for p in paths] if frame_numbers is None
               else [int(n) for n in frame_numbers])
    unnumbered = [p.name for p, n in zip(paths, numbers) if n is None]
    if unnumbered:
        raise InputError(f"frame files {unnumbered[:3]} have no trailing frame number to match "
                         "the keypoint track; name them like shot_0001.png")
    indices = [track.index_of(n) for n in numbers]
    missing = [n for n, i in zip(numbers, indices) if i is None]
    if missing:
        raise InputError(f"the keypoint track has no keypoints for frames {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''} (track covers "
                         f"{int(track.frames[0])}-{int(track.frames[-1])}); "
                         "export the track for the same frames")
    return indices


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename `tmp` to `out_dir`; an existing `out_dir` is removed only after the rename."""
    if not out_dir.exists():
        tmp.rename(out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    old.rmdir()
    out_dir.rename(old)
    try:
        tmp.rename(out_dir)
    except BaseException:
        old.rename(out_dir)
        raise
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)
