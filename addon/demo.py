"""`make demo`: a talking head built from code, rendered with its mouth closed, is lip-synced
to the bundled speech by the panel's "Render and Lip-Sync" job; the result strip lands on
the sequencer, the .blend is saved, and demo.mp4 shows the rendered input (left) next to the
lip-synced result (right), with the speech.

Output (in `out`): demo.blend, demo.mp4, lipsync_cache/<scene>/Head_001/ (the run folder:
rendered frames, keypoints, lip-synced frames and their report).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SPEECH = Path(__file__).resolve().parent.parent / "demo" / "speech.wav"
MARKER = ".lipsync-demo"
FPS = 25
RESOLUTION = (256, 256)
SAMPLES = 12


def _fresh_output(out: Path) -> None:
    """Empty `out` if the demo made it; refuse to touch any other non-empty folder."""
    from ..core.errors import InputError

    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise InputError(f"'{out}' is not empty and was not made by the demo: "
                             "choose another --out folder.")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by python -m lipsync demo\n")


def run_demo(out: str) -> int:
    """Build, run and save the demo; returns 0."""
    import time

    import bpy
    import numpy as np

    from .. import register
    from ..core.audio import AudioTiming, load_audio
    from ..core.progress import ConsoleProgress
    from .blender import preview
    from .jobs.lipsync_job import LipSyncJob, RESULT
    from .ui.operators import lipsync_request_from_settings
    from .factory.talking_head import build_talking_head

    started = time.perf_counter()
    out_dir = Path(out).resolve()
    _fresh_output(out_dir)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0  # no demo.blend1 backups
    register()
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    samples = load_audio(SPEECH)
    n_frames = AudioTiming(fps=FPS).n_video_frames_for(len(samples))
    scene.frame_start, scene.frame_end = 1, n_frames
    # Mouth closed on every frame: whatever moves in the result is the lip-sync's work.
    head = build_talking_head(scene, resolution=RESOLUTION, engine="CYCLES", samples=SAMPLES,
                              mouth_open=np.zeros(n_frames))
    editor = scene.sequence_editor_create()
    editor.strips.new_sound("speech", str(SPEECH), 1, 1)
    settings = scene.lipsync
    settings.character = head.head
    settings.mouth_group = head.mouth_group
    bpy.ops.wm.save_as_mainfile(filepath=str(out_dir / "demo.blend"))

    bar = ConsoleProgress("demo: render + lip-sync")
    try:
        result = LipSyncJob(lipsync_request_from_settings(scene)).run(progress=bar)
    finally:
        bar.close()
    print("\n".join(result.summary_lines()))
    bpy.ops.wm.save_mainfile()

    frames = editor.strips[result.strips["frames"]]
    synced = editor.strips[result.strips[RESULT]]
    panels = [preview.Sequence(bpy.path.abspath(s.directory), [e.filename for e in s.elements])
              for s in (frames, synced)]
    mp4 = preview.render_preview(scene, panels, os.path.join(result.run_dir, "audio.wav"),
                                 str(out_dir / "demo.mp4"), RESOLUTION)
    print(f"saved {out_dir / 'demo.blend'} and {mp4} in {time.perf_counter() - started:.0f} s")
    return 0
