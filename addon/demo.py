"""`make demo`: a talking head built from code speaks the bundled clip; the preprocessing
passes land on the sequencer; the .blend and an mp4 of the sequencer (with sound) are saved.

Output (in `out`): demo.blend, demo.mp4, lipsync_cache/ (renders and passes).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SPEECH = Path(__file__).resolve().parent.parent / "demo" / "speech.wav"
MARKER = ".lipsync-demo"
FPS = 25
RESOLUTION = (320, 320)


def _fresh_output(out: Path) -> None:
    """Empty `out` if the demo made it; refuse to touch any other non-empty folder."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise SystemExit(f"'{out}' is not empty and was not made by the demo: "
                             "choose another --out folder.")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by python -m lipsync demo\n")


def _mosaic(scene, strip_names: dict[str, str]) -> None:
    """Show frames, blur, gradient and keypoints as a 2x2 mosaic in the sequencer output."""
    width, height = scene.render.resolution_x, scene.render.resolution_y
    scale = 0.5 * width / RESOLUTION[0]  # the strips were fitted at RESOLUTION
    quarters = {"frames": (-1, 1), "blur": (1, 1), "gradient": (-1, -1), "keypoints": (1, -1)}
    for pass_name, (sx, sy) in quarters.items():
        strip = scene.sequence_editor.strips[strip_names[pass_name]]
        strip.transform.scale_x = strip.transform.scale_y = scale
        strip.transform.offset_x = sx * width / 4
        strip.transform.offset_y = sy * height / 4
        strip.blend_type = "ALPHA_OVER"


def _render_mp4(scene, path: Path) -> Path:
    render = scene.render
    render.use_sequencer = True
    render.image_settings.media_type = "VIDEO"
    render.image_settings.file_format = "FFMPEG"
    render.ffmpeg.format = "MPEG4"
    render.ffmpeg.codec = "H264"
    render.ffmpeg.audio_codec = "AAC"
    render.ffmpeg.audio_mixrate = 48000
    render.use_file_extension = False
    render.filepath = str(path)
    import bpy

    bpy.ops.render.render(animation=True, scene=scene.name)
    if not path.is_file():
        raise RuntimeError(f"the sequencer render wrote no '{path}'")
    return path


def run_demo(out: str) -> int:
    """Build, run and save the demo; returns 0."""
    import bpy

    from .. import register
    from ..core.audio import AudioTiming, load_audio
    from ..core.audio.envelope import mouth_open_from_audio
    from ..core.progress import ConsoleProgress
    from .job import PreprocessJob
    from .operators import request_from_settings
    from .talking_head import build_talking_head

    out_dir = Path(out).resolve()
    _fresh_output(out_dir)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0  # no demo.blend1 backups
    register()
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    samples = load_audio(SPEECH, sample_rate=16000)
    n_frames = AudioTiming(fps=FPS).n_video_frames_for(len(samples))
    scene.frame_start, scene.frame_end = 1, n_frames
    head = build_talking_head(scene, resolution=RESOLUTION, engine="CYCLES", samples=16,
                              mouth_open=mouth_open_from_audio(samples, 16000, FPS, n_frames))
    editor = scene.sequence_editor_create()
    editor.strips.new_sound("speech", str(SPEECH), 1, 1)
    bpy.ops.wm.save_as_mainfile(filepath=str(out_dir / "demo.blend"))

    settings = scene.lipsync
    settings.character = head.head
    settings.mouth_group = head.mouth_group
    bar = ConsoleProgress("demo: render + preprocess")
    try:
        result = PreprocessJob(request_from_settings(scene)).run(progress=bar)
    finally:
        bar.close()
    print(result.summary())

    scene.render.resolution_x, scene.render.resolution_y = (2 * RESOLUTION[0], 2 * RESOLUTION[1])
    _mosaic(scene, result.strips)
    mp4 = _render_mp4(scene, out_dir / "demo.mp4")
    bpy.ops.wm.save_mainfile()
    print(f"saved {out_dir / 'demo.blend'} and {mp4}")
    return 0
