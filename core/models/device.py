"""Which torch device the networks run on."""

from __future__ import annotations

import torch

from ..errors import InputError


def pick_device(name: str) -> torch.device:
    """'auto' (CUDA when there is one), 'cpu' or 'cuda'; InputError for CUDA without one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda': this machine has no CUDA GPU (or torch is the CPU "
                         "build); use device cpu or auto.")
    if name not in ("cpu", "cuda"):
        raise InputError(f"the device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)
