"""Operators: thin drivers that build a `JobRequest`, run the job and report."""

from __future__ import annotations

import bpy

from ..core.errors import Cancelled, LipSyncError
from .job import JobRequest, PreprocessJob
from .runner import JobRunner


def request_from_settings(scene) -> JobRequest:
    """The job the panel's settings describe (the command line builds the same dataclass)."""
    from ..core.preprocess.config import PreprocessConfig

    s = scene.lipsync
    return JobRequest(
        scene=scene.name,
        character=s.character.name if s.character else "",
        mouth_group=s.mouth_group,
        sound_strip=s.sound_strip if s.audio_source == "STRIP" else "",
        mix_sounds=s.audio_source == "MIX",
        frames_strip=s.frames_strip if s.frames_source == "STRIP" else "",
        frame_start=None if s.use_scene_range else s.frame_start,
        frame_end=None if s.use_scene_range else s.frame_end,
        output_dir=s.output_dir,
        config=PreprocessConfig(fusion_weight=s.fusion_weight),
    )


class LIPSYNC_OT_preprocess(bpy.types.Operator):
    """Render (or take) the frames, project the mouth keypoints, read the audio and put the
    mouth blur, gradient and keypoint passes on the sequencer above the frames"""

    bl_idname = "lipsync.preprocess"
    bl_label = "Preprocess Mouth"
    bl_options = {"REGISTER", "UNDO"}

    _runner: JobRunner | None = None
    _timer = None

    @classmethod
    def poll(cls, context):
        return context.scene is not None and not context.window_manager.lipsync.running

    def execute(self, context):
        """Synchronous run (scripts, headless, background mode)."""
        try:
            result = PreprocessJob(request_from_settings(context.scene)).run()
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, result.summary())
        return {"FINISHED"}

    def invoke(self, context, event):
        try:
            self._runner = JobRunner(PreprocessJob(request_from_settings(context.scene)))
            self._runner.start()
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        wm = context.window_manager
        wm.lipsync.running, wm.lipsync.progress, wm.lipsync.message = True, 0.0, "starting"
        wm.progress_begin(0.0, 1.0)
        self._timer = wm.event_timer_add(0.05, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._runner.cancel()
        elif event.type != "TIMER":
            return {"PASS_THROUGH"}
        state = self._runner.tick()
        wm = context.window_manager
        wm.lipsync.progress, wm.lipsync.message = self._runner.progress, self._runner.message
        wm.progress_update(self._runner.progress)
        _redraw(context)
        if state == "RUNNING":
            return {"RUNNING_MODAL"}
        self._stop(context)
        if state == "DONE":
            self.report({"INFO"}, self._runner.result.summary())
            return {"FINISHED"}
        error = self._runner.error
        if isinstance(error, Cancelled):
            self.report({"WARNING"}, "Lip Sync cancelled: nothing was added, temporary files removed")
        elif isinstance(error, LipSyncError):
            self.report({"ERROR"}, str(error))
        else:
            self.report({"ERROR"}, f"Lip Sync failed unexpectedly: {error!r} (see the console)")
            raise error
        return {"CANCELLED"}

    def _stop(self, context) -> None:
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        wm.lipsync.running = False
        wm.lipsync.message = ""
        _redraw(context)

    def cancel(self, context):
        """Blender is closing the operator (e.g. the file is closed): stop cleanly."""
        if self._runner is not None:
            self._runner.stop()
        self._stop(context)


def _redraw(context) -> None:
    screen = context.screen
    for area in screen.areas if screen else ():
        if area.type in {"VIEW_3D", "SEQUENCE_EDITOR"}:
            area.tag_redraw()


CLASSES = (LIPSYNC_OT_preprocess,)
