"""Weights on disk in the safetensors format, read and written without pickle.

The file is the standard layout (8-byte little-endian header length, JSON header with
dtype/shape/data_offsets per tensor and a string-valued ``__metadata__``, raw
little-endian data), so other safetensors readers open it too. The metadata carries the
model's name and config as JSON, so a file describes itself.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import InputError

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "U8": np.uint8, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}
FETCH_HINT = ("the shipped weights are in the repository's models/ folder (restore it from a "
              "fresh clone or the extension zip), or train them again with `make train`")


BESIDE = "bank."   # tensors stored beside a network's weights (a learnt mouth bank)


def save_weights(path: str | os.PathLike, tensors: dict[str, torch.Tensor],
                 metadata: dict[str, str]) -> None:
    """Write `tensors` (CPU copies) and string `metadata` atomically to `path`."""
    arrays = {k: t.detach().cpu().contiguous().numpy() for k, t in tensors.items()}
    header: dict = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    offset = 0
    for name in sorted(arrays):
        a = arrays[name]
        header[name] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with open(partial, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name in sorted(arrays):
            f.write(arrays[name].astype(arrays[name].dtype.newbyteorder("<")).tobytes())
    os.replace(partial, path)


def load_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file: (tensors, metadata). InputError says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"weights file '{path}' is missing: {FETCH_HINT}")
    data = path.read_bytes()
    try:
        (length,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + length])
        base = 8 + length
        tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            if base + end > len(data):
                raise ValueError(f"tensor {name} runs past the end of the file")
            array = np.frombuffer(data, dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"),
                                  count=int(np.prod(info["shape"], dtype=np.int64)),
                                  offset=base + start)
            tensors[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    except (struct.error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InputError(f"weights file '{path}' is corrupt ({exc}): {FETCH_HINT}") from exc
    return tensors, header.get("__metadata__", {})


def load_model_weights(path: str | os.PathLike, model: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and config dict of a weights file written for `model` (e.g. 'sync')."""
    tensors, metadata = load_weights(path)
    if metadata.get("model") != model:
        raise InputError(f"weights file '{path}' holds a '{metadata.get('model')}' model, not "
                         f"'{model}': {FETCH_HINT}")
    try:
        config = json.loads(metadata["config"])
    except (KeyError, ValueError) as exc:
        raise InputError(f"weights file '{path}' has no readable config: {FETCH_HINT}") from exc
    return tensors, config


def load_network(path: str | os.PathLike, model: str, build: Callable[[dict], torch.nn.Module],
                 device: torch.device | str = "cpu") -> torch.nn.Module:
    """Network `model` from its weights file: ``build(config)`` holding the stored weights
    (not the tensors named `BESIDE`...), on `device`, in eval mode."""
    tensors, config = load_model_weights(path, model)
    network = build(config)
    network.load_state_dict({k: v for k, v in tensors.items() if not k.startswith(BESIDE)})
    return network.to(device).eval()
