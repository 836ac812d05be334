"""The batch file (TOML): its shots and tracks as frozen dataclasses, and `load_batch`,
which checks the whole file at once and names every problem."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import InputError
from ..pipeline.options import LipSyncOptions

NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
RENDER = "render"  # the render step's folder and log name, so no language may be called so
TOP_KEYS = {"out", "device", "shot"}
SHOT_KEYS = {"name", "blend", "frames", "fps", "keypoints", "scene", "character", "tracks",
             "revoice"}
TRACK_KEYS = {"language", "audio"}


class BatchError(InputError):
    """The batch file or a batch option is wrong; the message lists every problem."""


@dataclass(frozen=True)
class Track:
    language: str  # [A-Za-z0-9._-], unique within its shot
    audio: Path    # existing audio file


@dataclass(frozen=True)
class Shot:
    name: str                 # [A-Za-z0-9._-], unique within the batch
    tracks: tuple[Track, ...]  # at least one
    blend: Path | None = None  # exactly one of blend and frames
    frames: Path | None = None
    fps: float | None = None  # frames per second (> 0), given with frames
    keypoints: Path | None = None  # .npz, only with frames
    scene: str = ""           # "" = the file's active scene
    character: str = ""       # "" = every character
    options: LipSyncOptions = LipSyncOptions()  # the file's device, the shot's revoice


@dataclass(frozen=True)
class Batch:
    path: Path            # the batch file
    out: Path             # results folder
    shots: tuple[Shot, ...]


def load_batch(path: str | os.PathLike) -> Batch:
    """Read and check a batch file; raise one `BatchError` listing every problem."""
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BatchError(f"cannot read the batch file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BatchError(f"{path} is not valid TOML: {exc}") from None
    base = path.parent.absolute()
    problems: list[str] = []
    for key in sorted(set(data) - TOP_KEYS):
        problems.append(f"top level: unknown key {key!r}; allowed: {', '.join(sorted(TOP_KEYS))}")
    out = _relative(base, data.get("out", "results"), "top level", "out", problems)
    options = _options(LipSyncOptions(), {"device": data.get("device", "auto")}, "top level",
                       problems)
    raw_shots = data.get("shot", [])
    if not isinstance(raw_shots, list) or not raw_shots:
        problems.append("top level: no shots; add at least one [[shot]] table")
        raw_shots = []
    shots, seen = [], {}
    for number, raw in enumerate(raw_shots, 1):
        name = raw.get("name") if isinstance(raw, dict) else None
        if _good_name(name) and seen.setdefault(name.lower(), number) != number:
            problems.append(f"shot {name!r} (shot #{number}): name: also used by shot "
                            f"#{seen[name.lower()]} (compared ignoring case); rename one")
        shots.append(_shot(base, raw, number, options, problems))
    if problems:
        raise BatchError(f"{path}: {len(problems)} problem(s), nothing was run:\n"
                         + "\n".join(f"  - {p}" for p in problems))
    return Batch(path=path, out=out, shots=tuple(shots))


def _options(options: LipSyncOptions, changes: dict, where: str,
             problems: list[str]) -> LipSyncOptions:
    """`options` with `changes`, or (a problem recorded) `options` as they were."""
    try:
        return replace(options, **changes)
    except InputError as exc:
        problems.append(f"{where}: {exc}")
        return options


def _shot(base: Path, raw: object, number: int, options: LipSyncOptions,
          problems: list[str]) -> Shot | None:
    if not isinstance(raw, dict):
        problems.append(f"shot #{number}: must be a [[shot]] table")
        return None
    name = raw.get("name")
    where = f"shot {name!r}" if isinstance(name, str) and name else f"shot #{number}"
    before = len(problems)
    for key in sorted(set(raw) - SHOT_KEYS):
        problems.append(f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(SHOT_KEYS))}")
    if not _good_name(name):
        problems.append(f"{where}: name = {name!r}; give a unique name made of letters, digits, "
                        "'.', '_' and '-' (it becomes a folder name)")
    blend = frames = keypoints = fps = None
    if ("blend" in raw) == ("frames" in raw):
        problems.append(f"{where}: give exactly one of blend (a .blend file to render) and "
                        "frames (a folder of rendered frames)")
    if "blend" in raw:
        blend = _relative(base, raw["blend"], where, "blend", problems)
        if blend is not None and (blend.suffix.lower() != ".blend" or not blend.is_file()):
            problems.append(f"{where}: blend = {raw['blend']!r}: no .blend file at {blend}; "
                            "fix the path (relative to the batch file's folder)")
        if "frames" not in raw:
            problems.extend(f"{where}: {key} is only for frames shots; a .blend shot takes "
                            "it from its render; remove it"
                            for key in ("fps", "keypoints") if key in raw)
    if "frames" in raw:
        frames = _relative(base, raw["frames"], where, "frames", problems)
        if frames is not None and not frames.is_dir():
            problems.append(f"{where}: frames = {raw['frames']!r}: no folder at {frames}; "
                            "fix the path (relative to the batch file's folder)")
        fps = raw.get("fps")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 1000:
            problems.append(f"{where}: fps = {fps!r}; a frames shot needs its frame rate, "
                            "a number such as 24 or 29.97")
        if "keypoints" in raw:
            keypoints = _relative(base, raw["keypoints"], where, "keypoints", problems)
            if keypoints is not None and not keypoints.is_file():
                problems.append(f"{where}: keypoints = {raw['keypoints']!r}: no file at "
                                f"{keypoints}; fix the path or remove the key")
        if "blend" not in raw:
            problems.extend(f"{where}: {key} is only for .blend shots; remove it"
                            for key in ("scene", "character") if key in raw)
    for key in ("scene", "character"):
        if not isinstance(raw.get(key, ""), str):
            problems.append(f"{where}: {key} = {raw[key]!r}; give a name in quotes")
    options = _options(options, {"revoice": raw.get("revoice", options.revoice)}, where,
                       problems)
    tracks = _tracks(base, raw.get("tracks"), where, problems)
    if len(problems) > before:
        return None
    return Shot(name=name, tracks=tracks, blend=blend, frames=frames,
                fps=None if fps is None else float(fps), keypoints=keypoints,
                scene=raw.get("scene", ""), character=raw.get("character", ""),
                options=options)


def _tracks(base: Path, raw: object, where: str, problems: list[str]) -> tuple[Track, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: tracks: give a list of {{ language = \"en\", audio = "
                        "\"audio/x.wav\" }, one per language")
        return ()
    tracks, seen = [], set()
    for number, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(f"{where}: tracks[{number}]: must be {{ language = ..., audio = ... }}")
            continue
        for key in sorted(set(item) - TRACK_KEYS):
            problems.append(f"{where}: tracks[{number}]: unknown key {key!r}; allowed: "
                            "audio, language")
        language = item.get("language")
        if not _good_name(language) or language.lower() == RENDER:
            problems.append(f"{where}: tracks[{number}]: language = {language!r}; give a code "
                            "such as \"en\" (letters, digits, '.', '_', '-'; not \"render\")")
        elif language.lower() in seen:
            problems.append(f"{where}: tracks[{number}]: language {language!r} appears twice "
                            "(compared ignoring case); one track per language")
        else:
            seen.add(language.lower())
        audio = _relative(base, item.get("audio"), f"{where}: tracks[{number}]", "audio", problems)
        if audio is not None and not audio.is_file():
            problems.append(f"{where}: tracks[{number}]: audio = {item['audio']!r}: no file at "
                            f"{audio}; fix the path (relative to the batch file's folder)")
        tracks.append(Track(language=language, audio=audio))
    return tuple(tracks)


def _good_name(name: object) -> bool:
    return isinstance(name, str) and bool(NAME_RE.fullmatch(name)) and name.strip(".") != ""


def _relative(base: Path, value: object, where: str, key: str, problems: list[str]) -> Path | None:
    """`base / value` when `value` is a path inside `base`; else record a problem."""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {key} = {value!r}; give a path relative to the batch "
                        f"file's folder {base}")
        return None
    windows = PureWindowsPath(value)
    if PurePosixPath(value).is_absolute() or windows.drive or windows.root:
        problems.append(f"{where}: {key} = {value!r} is an absolute path; give it relative to "
                        f"the batch file's folder {base} so the batch moves as one folder")
        return None
    depth = 0
    for part in PurePosixPath(value.replace("\\", "/")).parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            problems.append(f"{where}: {key} = {value!r} leaves the batch file's folder {base} "
                            "with '..'; move it under that folder")
            return None
    return base / os.path.normpath(value)
