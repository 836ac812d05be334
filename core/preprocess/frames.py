"""Frame arrays and frame files of plain folders.

Array conventions for all of `core.preprocess`: images are numpy arrays in HWC
layout, RGB channel order (never BGR inside `core`), either uint8 in [0, 255] or
float32/float64 in [0, 1]. OpenCV's BGR order stays inside this module's file
readers and writers.

Files are read and written through bytes (`np.fromfile` + `cv2.imdecode`,
`cv2.imencode` + `Path.write_bytes`) so that paths with non-ASCII characters
work on every platform. Writes are atomic: the picture goes to
``<stem>.tmp<suffix>`` first and is renamed over the target with `os.replace`.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import cv2
import numpy as np

from ..errors import FrameError, InputError

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".bmp")
"""File name endings (lower case) that `list_frames` takes as frames."""

_FLOAT_TOLERANCE = 1e-4


def check_rgb_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check that `image` is an RGB picture of this package's conventions.

    Args:
        image: (H, W, 3) uint8 in [0, 255], or float32/float64 in [0, 1].
        name: what to call the array in the error message.

    Returns:
        The same array (not a copy).

    Raises:
        InputError: not an ndarray, wrong ndim or channel count, empty,
            unsupported dtype, or float values outside [0, 1] (or not finite).
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name} must be a numpy array (H, W, 3), got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"{name} must have shape (H, W, 3) in RGB order, got shape {image.shape}; "
                         "drop the alpha channel or stack a grey image three times")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{name} is empty: shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    if image.dtype not in (np.float32, np.float64):
        raise InputError(f"{name} must be uint8 in [0, 255] or float32 in [0, 1], got dtype {image.dtype}; "
                         "convert 16-bit pictures with `read_frame`")
    lo, hi = float(image.min()), float(image.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -_FLOAT_TOLERANCE or hi > 1.0 + _FLOAT_TOLERANCE:
        raise InputError(f"{name} is float, so its values must lie in [0, 1], got min {lo:g} max {hi:g}; "
                         "divide 8-bit values by 255")
    return image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float in [0, 1] -> uint8 [0, 255], rounded; uint8 comes back as is."""
    if image.dtype == np.uint8:
        return image
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def list_frames(folder: str | os.PathLike) -> list[Path]:
    """Frame files of `folder`, in natural order (``f2.png`` before ``f10.png``).

    Args:
        folder: a folder holding png/jpg/jpeg/exr/tif/tiff/bmp files.

    Returns:
        The paths, sorted by their names with digit runs compared as numbers
        (so by the trailing frame number for ``name_0001.png`` style names).

    Raises:
        FrameError: the folder is missing, is not a folder, or holds no frame files.
    """
    path = Path(folder)
    if not path.exists():
        raise FrameError(f"frame folder {str(path)!r} does not exist; check the path")
    if not path.is_dir():
        raise FrameError(f"{str(path)!r} is a file, not a folder of frames; pass the folder that holds them")
    frames = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES
              and not p.name.startswith(".")]
    if not frames:
        raise FrameError(f"frame folder {str(path)!r} holds no frames ({', '.join(FRAME_SUFFIXES)}); "
                         "render the frames first or pick the folder that holds them")
    return sorted(frames, key=_natural_key)


def frame_number(path: str | os.PathLike) -> int | None:
    """The trailing number of a file stem (``shot_0042.png`` -> 42), or None."""
    match = re.search(r"(\d+)$", Path(path).stem)
    return int(match.group(1)) if match else None


def enable_exr() -> None:
    """Let OpenCV read and write EXR (it checks OPENCV_IO_ENABLE_OPENEXR at first use)."""
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")


def read_frame_raw(path: str | os.PathLike) -> np.ndarray:
    """Read a picture as stored: dtype and channel count kept, RGB(A) order.

    Returns:
        (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA; uint8, uint16 or float32
        as in the file.

    Raises:
        FrameError: missing or unreadable file.
    """
    path = Path(path)
    if path.suffix.lower() == ".exr":
        enable_exr()
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise FrameError(f"cannot read frame {str(path)!r}: {exc.strerror or exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        hint = ("OpenCV reads EXR only with OPENCV_IO_ENABLE_OPENEXR=1 set; save the frames as PNG"
                if path.suffix.lower() == ".exr" else "the file is empty, truncated or not a picture")
        raise FrameError(f"cannot decode frame {str(path)!r}: {hint}")
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def read_frame(path: str | os.PathLike) -> np.ndarray:
    """Read a picture for processing: (H, W, 3) uint8 RGB.

    Grey is repeated to three channels, alpha is dropped, 16-bit is rounded to
    8-bit, float (EXR) values are clipped to [0, 1] and scaled (no tone mapping).

    Raises:
        FrameError: missing, unreadable or unsupported file.
    """
    image = read_frame_raw(path)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3]
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif image.dtype.kind == "f":
        image = to_uint8(np.nan_to_num(image.astype(np.float32)))
    elif image.dtype != np.uint8:
        raise FrameError(f"frame {str(path)!r} has unsupported dtype {image.dtype}; save it as 8-bit PNG")
    return np.ascontiguousarray(image)


def write_frame(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write (H, W, 3) RGB or (H, W) grey uint8 atomically; format from the suffix.

    Raises:
        InputError: `image` is not uint8 (H, W) or (H, W, 3).
        FrameError: the file cannot be encoded or written.
    """
    path = Path(path)
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or not (
            image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise InputError(f"write_frame needs uint8 (H, W) or (H, W, 3), got shape {shape} dtype {dtype}")
    suffix = path.suffix.lower() or ".png"
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    try:
        ok, encoded = cv2.imencode(suffix, bgr)
    except cv2.error as exc:
        raise FrameError(f"cannot encode {str(path)!r} as {suffix}: {exc}") from exc
    if not ok:
        raise FrameError(f"cannot encode {str(path)!r} as {suffix}; use .png")
    tmp = path.with_name(f"{path.stem}.tmp{suffix}")
    try:
        tmp.write_bytes(encoded.tobytes())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise FrameError(f"cannot write frame {str(path)!r}: {exc.strerror or exc}; "
                         "check the folder exists and is writable") from exc


def _natural_key(path: Path) -> tuple:
    parts = re.split(r"(\d+)", path.name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)
