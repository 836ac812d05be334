"""The networks (torch, no bpy) and their weights files.

- :mod:`.sync`: the sync expert (feature extraction subnetwork);
- :mod:`.generator`: the generator (decoder subnetwork) and the discriminator;
- :mod:`.parser`: the face parser;
- :mod:`.config`: what their configs share: the crop geometry (every pixel quantity a
  fraction of the crop side), the audio front end they read, rebuilding a config from a
  weights file;
- :mod:`.weights`: safetensors read/write without pickle. Each network's module loads its
  own weights (`load_sync_expert`, `load_generator`, `load_parser`).

Shipped weights live in the repository's ``models/`` folder (:func:`shipped`).
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def shipped(name: str) -> Path:
    """Path of the shipped weights file of network `name` ('sync', 'generator', 'parser',
    'judge', 'visemes')."""
    return MODELS_DIR / f"{name}.safetensors"
