"""What a lip-sync run is asked for and what it gives back (the panel and the command lines
build the same `LipSyncRequest`; `LipSyncJob` turns it into a `LipSyncResult`).

`RESULT`, `FRAMES` and `MATTE` name both the passes (keys of `LipSyncResult.strips`) and
their folders in the run folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ...core.learn.character import DEFAULT_FOLDER
from ...core.pipeline.options import LipSyncOptions
from .preprocess_job import _ranges

RESULT, FRAMES, MATTE = "lipsync", "frames", "matte"


@dataclass(frozen=True)
class CharacterRequest:
    """One character: its mesh, lips and the audio it speaks. "" means "not set"."""

    character: str                 # mesh object
    mouth_group: str = ""          # vertex group of the lips; "" = automatic
    sound_strip: str = ""          # sound strip; "" = the scene's only one
    mix_sounds: bool = False       # all unmuted sound strips mixed instead
    audio_file: str = ""           # an audio file instead of a strip (its t=0 = first frame)


@dataclass(frozen=True)
class LipSyncRequest:
    """What the panel or a command line asks for (the same dataclass for both)."""

    scene: str
    characters: tuple[CharacterRequest, ...]
    frames_strip: str = ""         # image/movie strip with the frames; "" = render the camera
    frame_start: int | None = None  # None = the scene's range
    frame_end: int | None = None
    output_dir: str = "//lipsync_cache"   # "//" = next to the .blend
    options: LipSyncOptions = LipSyncOptions()   # matte: also a muted strip of the matte
    preview: bool = False          # also write preview.mp4 (result + sound) in the run folder
    learnt_dir: str = DEFAULT_FOLDER   # where characters' learnt generators are looked for
                                       # ("" = never; options.weights, when set, wins)


@dataclass
class LipSyncResult:
    """A finished run: its folder, strip names per pass, the report and the preview."""

    run_dir: str
    strips: dict[str, str]
    report: dict
    preview: str = ""

    def summary_lines(self) -> list[str]:
        r = self.report
        chars = ", ".join(f"{name} ({n} frames)" for name, n in r["characters"].items())
        lines = [f"Lip Sync: {r['frames']} frames ({r['frame_start']}-{r['frame_end']}) "
                 f"at {r['fps']:.3f} fps, characters: {chars}"]
        passed = r["passed_through_frames"]
        lines.append("passed through unchanged (mouth not visible): "
                     + (_ranges(passed) if passed else "none"))
        lines += [f"note: {note}" for note in r["notes"]]
        lines.append(f"{r['seconds']:.1f} s on {r['device']}; output: "
                     f"{os.path.join(self.run_dir, RESULT)}")
        if self.preview:
            lines.append(f"preview: {self.preview}")
        return lines

    def summary(self) -> str:
        return "; ".join(self.summary_lines())
