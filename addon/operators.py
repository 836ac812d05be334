"""Operators: thin drivers that build a request, run the job and report.

`lipsync.render_and_sync` (the panel's main button) and `lipsync.preprocess` share one
driver: `execute` runs the job synchronously (scripts, headless, background mode);
`invoke` runs it modally through `JobRunner` (progress bar, Esc cancels). Both have the
UNDO option: Blender pushes one undo step when the operator returns FINISHED, from
`execute` or, when modal, from `modal` right after the strips changed (a modal operator's
FINISHED pushes it too), so one Ctrl+Z takes the new strips away.
"""

from __future__ import annotations

import bpy

from ..core.errors import Cancelled, LipSyncError
from . import dependencies
from .job import JobRequest, PreprocessJob
from .lipsync_job import CharacterRequest, LipSyncJob, LipSyncRequest
from .runner import JobRunner


def request_from_settings(scene) -> JobRequest:
    """The preprocessing job the panel's settings describe (the command line builds the
    same dataclass)."""
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


def lipsync_request_from_settings(scene) -> LipSyncRequest:
    """The lip-sync job the panel's settings describe: the first character, then each
    further character with its own sound strip."""
    s = scene.lipsync
    characters = []
    if s.character is not None:
        characters.append(CharacterRequest(
            character=s.character.name, mouth_group=s.mouth_group,
            sound_strip=s.sound_strip if s.audio_source == "STRIP" else "",
            mix_sounds=s.audio_source == "MIX"))
    for item in s.extra_characters:
        if item.character is not None:
            characters.append(CharacterRequest(character=item.character.name,
                                               mouth_group=item.mouth_group,
                                               sound_strip=item.sound_strip))
    return LipSyncRequest(
        scene=scene.name,
        characters=tuple(characters),
        frames_strip=s.frames_strip if s.frames_source == "STRIP" else "",
        frame_start=None if s.use_scene_range else s.frame_start,
        frame_end=None if s.use_scene_range else s.frame_end,
        output_dir=s.output_dir,
        quality=s.quality.lower(),
        device=s.device.lower(),
        matte_strip=s.use_matte_strip,
        preview=s.use_preview,
    )


class _JobOperator:
    """execute / invoke / modal around a job made by `make_job(context)`."""

    _runner: JobRunner | None = None
    _timer = None

    def make_job(self, context):
        raise NotImplementedError

    @classmethod
    def poll(cls, context):
        if not dependencies.ready():
            cls.poll_message_set(dependencies.missing_summary())
            return False
        return context.scene is not None and not context.window_manager.lipsync.running

    def execute(self, context):
        """Synchronous run (scripts, headless, background mode)."""
        try:
            result = self.make_job(context).run()
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, result.summary())
        return {"FINISHED"}

    def invoke(self, context, event):
        try:
            self._runner = JobRunner(self.make_job(context))
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
            return {"FINISHED"}         # the UNDO option pushes the undo step here
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


class LIPSYNC_OT_render_and_sync(_JobOperator, bpy.types.Operator):
    """Render the camera view (or take the frames strip), lip-sync each character's mouth to
    its sound strip and put the result on the sequencer above the frames"""

    bl_idname = "lipsync.render_and_sync"
    bl_label = "Render and Lip-Sync"
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context):
        return LipSyncJob(lipsync_request_from_settings(context.scene))


class LIPSYNC_OT_preprocess(_JobOperator, bpy.types.Operator):
    """Render (or take) the frames, project the mouth keypoints, read the audio and put the
    mouth blur, gradient and keypoint passes on the sequencer above the frames"""

    bl_idname = "lipsync.preprocess"
    bl_label = "Preprocess Mouth"
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context):
        return PreprocessJob(request_from_settings(context.scene))


class LIPSYNC_OT_character_add(bpy.types.Operator):
    """Add a character to lip-sync (with its own sound strip)"""

    bl_idname = "lipsync.character_add"
    bl_label = "Add Character"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    def execute(self, context):
        settings = context.scene.lipsync
        settings.extra_characters.add()
        settings.extra_index = len(settings.extra_characters) - 1
        return {"FINISHED"}


class LIPSYNC_OT_character_remove(bpy.types.Operator):
    """Remove the selected character from the list"""

    bl_idname = "lipsync.character_remove"
    bl_label = "Remove Character"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and len(context.scene.lipsync.extra_characters) > 0

    def execute(self, context):
        settings = context.scene.lipsync
        index = min(settings.extra_index, len(settings.extra_characters) - 1)
        settings.extra_characters.remove(index)
        settings.extra_index = max(min(index, len(settings.extra_characters) - 1), 0)
        return {"FINISHED"}


def _redraw(context) -> None:
    screen = context.screen
    for area in screen.areas if screen else ():
        if area.type in {"VIEW_3D", "SEQUENCE_EDITOR"}:
            area.tag_redraw()


CLASSES = (LIPSYNC_OT_render_and_sync, LIPSYNC_OT_preprocess, LIPSYNC_OT_character_add,
           LIPSYNC_OT_character_remove)
