"""Frames of a movie file as PNG images (OpenCV's bundled FFmpeg decoder)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import FrameError
from ..progress import CancelFn, ProgressFn, check_cancel, never_cancel, no_progress


def extract_movie_frames(movie: str | Path, first_index: int, count: int, out_dir: str | Path,
                         names: list[str], progress: ProgressFn = no_progress,
                         should_cancel: CancelFn = never_cancel) -> list[Path]:
    """Decode `count` frames from 0-based frame `first_index` of `movie` into `out_dir/names[i]`.

    Returns the written paths (PNG, RGB as stored by the movie). Raises FrameError when the
    movie cannot be opened or ends before the last frame asked for.
    """
    import cv2

    if len(names) != count:
        raise ValueError(f"need {count} names, got {len(names)}")
    capture = cv2.VideoCapture(str(movie))
    if not capture.isOpened():
        raise FrameError(f"Cannot open the movie '{movie}': check the file exists and is a "
                         "video OpenCV's FFmpeg can decode (mp4, mov, mkv, avi).")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        if first_index > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, first_index)
        for i in range(count):
            check_cancel(should_cancel)
            ok, bgr = capture.read()
            if not ok:
                raise FrameError(f"The movie '{movie}' ended at frame {first_index + i}, before "
                                 f"frame {first_index + count - 1}: shorten the frame range.")
            path = out_dir / names[i]
            partial = path.with_name(path.stem + ".part.png")
            if not cv2.imwrite(str(partial), bgr):
                raise FrameError(f"Cannot write '{partial}': check the folder is writable.")
            os.replace(partial, path)
            written.append(path)
            progress(i + 1, count, "decoding movie")
    finally:
        capture.release()
    return written
