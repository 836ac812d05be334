"""What the networks' configs share (no torch): the crop geometry, the audio front end
stored in a config, and rebuilding a config from a weights file's metadata.

Geometry: a network's crop side `size` (px) is its one pixel quantity; everything else in
pixels is a fraction of it. The S20 passes are made at `PASS_SCALE` times the side and
then shrunk to it (the factory's default crops are 96 px for 64 px networks), in training
and in the pipeline alike.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from ..audio.frontend import FRONT_END, AudioFrontEnd
from ..errors import InputError

PASS_SCALE = 1.5   # S20 passes are made at this many crop sides, then shrunk to the crop
SIDE_STEP = 8      # crop sides are multiples of this (the U-Nets halve them three times)

C = TypeVar("C")


def check_size(size: object, what: str) -> None:
    """InputError unless `size` is a crop side the networks take (a multiple of 8, >= 16)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 2 * SIDE_STEP \
            or size % SIDE_STEP:
        raise InputError(f"{what}: crop side size={size!r} px must be a multiple of "
                         f"{SIDE_STEP} and at least {2 * SIDE_STEP} (e.g. 64, 96, 128).")


def pass_side(size: int) -> int:
    """Side (px) at which the S20 passes of a `size` px network are made: 96 for 64."""
    return int(round(PASS_SCALE * size))


def front_end_field(value: object) -> AudioFrontEnd:
    """A config's `audio` field as an AudioFrontEnd (a dict when read from JSON)."""
    if isinstance(value, AudioFrontEnd):
        return value
    if not isinstance(value, dict):
        raise InputError(f"audio={value!r} must be an audio front end (AudioFrontEnd or dict).")
    try:
        return AudioFrontEnd(**value)
    except TypeError as exc:
        raise InputError(f"audio front end {value}: {exc}") from exc


def config_from_dict(cls: type[C], data: dict, path: object) -> C:
    """`cls` (a config dataclass) from the config stored in weights file `path`;
    InputError when fields are missing or unknown (weights written by another version).
    Fields `cls.LATER_FIELDS` names (added later, their default the earlier behaviour) may
    be missing."""
    names = {f.name for f in dataclasses.fields(cls)}
    later = set(getattr(cls, "LATER_FIELDS", ()))
    unknown, missing = sorted(set(data) - names), sorted(names - set(data) - later)
    if unknown or missing:
        raise InputError(
            f"weights file '{path}' has a {cls.__name__} this version cannot read ("
            + "; ".join(part for part in (f"unknown: {', '.join(unknown)}" if unknown else "",
                                           f"missing: {', '.join(missing)}" if missing else "")
                        if part)
            + "): train it again with this version or restore the shipped models/.")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise InputError(f"weights file '{path}': bad config ({exc}).") from exc


def check_front_end(front_end: AudioFrontEnd, path: object) -> None:
    """InputError unless weights `path` read the audio the product computes (`FRONT_END`)."""
    if front_end != FRONT_END:
        theirs, ours = front_end.to_dict(), FRONT_END.to_dict()
        differ = ", ".join(f"{k} {theirs[k]} (here {ours[k]})" for k in ours
                           if theirs[k] != ours[k])
        raise InputError(f"weights file '{path}' reads other audio than this version computes "
                         f"({differ}): train it again with this version's audio front end.")


__all__ = ["PASS_SCALE", "check_front_end", "check_size", "config_from_dict",
           "front_end_field", "pass_side"]
