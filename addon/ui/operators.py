"""Operators: thin drivers that build a request, run the job and report.

`lipsync.render_and_sync` (the panel's main button) and `lipsync.preprocess` share one
driver: `execute` runs the job synchronously (scripts, headless, background mode);
`invoke` runs it modally through `modal.ModalJobOperator` (progress bar, Esc cancels).
Both have the UNDO option: Blender pushes one undo step when the operator returns
FINISHED, from `execute` or, when modal, from `modal` right after the strips changed (a
modal operator's FINISHED pushes it too), so one Ctrl+Z takes the new strips away.
"""

from __future__ import annotations

import bpy

from ...core.errors import InputError, LipSyncError
from ...core.pipeline.options import LipSyncOptions
from .. import dependencies
from ..jobs.preprocess_job import JobRequest, PreprocessJob
from ..jobs.lipsync_job import LipSyncJob
from ..jobs.learn_background import BackgroundLearnJob
from ..jobs.learn_job import LearnRequest
from ..jobs.lipsync_request import CharacterRequest, LipSyncRequest
from .modal import ModalJobOperator


def request_from_settings(scene) -> JobRequest:
    """The preprocessing job the panel's settings describe (the command line builds the
    same dataclass)."""
    from ...core.preprocess.config import PreprocessConfig

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


def options_from_settings(s) -> LipSyncOptions:
    """The pipeline options of the panel's settings `s` (Scene.lipsync)."""
    return LipSyncOptions(quality=s.quality.lower(), revoice=s.revoice.lower(),
                          device=s.device.lower(), matte=s.use_matte_strip)


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
        options=options_from_settings(s),
        preview=s.use_preview,
        learnt_dir=s.learnt_dir,
    )


def learn_request_from_settings(scene) -> LearnRequest:
    """The Learn Character run the panel's settings describe (its first character)."""
    from ...core.learn.character import LearnSettings

    s = scene.lipsync
    if s.character is None:
        raise InputError("Learn Character: pick the character's mesh in the Lip Sync panel "
                         "(Character).")
    return LearnRequest(scene=scene.name, character=s.character.name, mouth_group=s.mouth_group,
                        visemes=s.learn_visemes or "auto", out_dir=s.learnt_dir,
                        settings=LearnSettings(sentences=s.learn_sentences,
                                               language=s.learn_language,
                                               samples=s.learn_samples, steps=s.learn_steps,
                                               minutes=s.learn_minutes),
                        device=s.device.lower())


def footage_request_from_settings(scene, learn: bool):
    """The footage run the Footage panel describes: lip-sync to the new speech, or (learn)
    learn the speaker from its own."""
    from ...core.learn.character import LearnSettings
    from ..jobs.footage_job import FootageRequest

    s = scene.lipsync
    if not s.footage_strip:
        raise InputError("Pick the footage's movie or image strip in the Footage panel.")
    return FootageRequest(
        scene=scene.name, strip=s.footage_strip,
        sound_strip=s.footage_own_speech if learn else s.footage_speech,
        frame_start=None if s.use_scene_range else s.frame_start,
        frame_end=None if s.use_scene_range else s.frame_end, output_dir=s.output_dir,
        options=options_from_settings(s),
        learnt_dir=s.learnt_dir,
        settings=LearnSettings(steps=s.learn_steps, minutes=s.learn_minutes))


def _modules_ready(operator) -> bool:
    """Whether the Python modules the jobs need are installed; if not, the operator's
    button says which are missing."""
    if not dependencies.ready():
        operator.poll_message_set(dependencies.missing_summary())
        return False
    return True


class _JobOperator(ModalJobOperator):
    """A job operator: `execute` runs the job made by `make_job(context)` at once,
    `invoke` runs it modally (`ModalJobOperator`); both report its summary."""

    task = "Lip Sync"
    cancelled_message = "Lip Sync cancelled: nothing was added, temporary files removed"

    @classmethod
    def poll(cls, context):
        return _modules_ready(cls) and context.scene is not None \
            and not context.window_manager.lipsync.running

    def progress_state(self, context):
        return context.window_manager.lipsync

    def execute(self, context):
        """Synchronous run (scripts, headless, background mode)."""
        try:
            result = self.make_job(context).run()
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return self.report_result(result)

    def report_result(self, result) -> set[str]:
        self.report({"INFO"}, result.summary())
        return {"FINISHED"}         # when modal, the UNDO option pushes the undo step here


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


class LIPSYNC_OT_learn_character(_JobOperator, bpy.types.Operator):
    """Learn the character's own mouth: render it speaking (its own mouth controls driven
    from speech) and fine-tune the generator on it, in the background; later lip-sync runs
    of the character use what was learnt. The scene and file are not changed"""

    bl_idname = "lipsync.learn_character"
    bl_label = "Learn Character"
    bl_options = {"REGISTER"}

    task = "Learn Character"
    cancelled_message = "Learn Character cancelled: nothing was written"

    @classmethod
    def poll(cls, context):
        return super().poll(context) and context.scene.lipsync.character is not None

    def make_job(self, context):
        return BackgroundLearnJob(learn_request_from_settings(context.scene))


class _FootageOperator(_JobOperator):
    @classmethod
    def poll(cls, context):
        return super().poll(context) and bool(context.scene.lipsync.footage_strip)


class LIPSYNC_OT_sync_footage(_FootageOperator, bpy.types.Operator):
    """Lip-sync the footage strip (a speaker, no character mesh: the mouth is found in its
    frames) to the new speech and put the result above it"""

    bl_idname = "lipsync.sync_footage"
    bl_label = "Lip-Sync Footage"
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context):
        from ..jobs.footage_job import FootageJob

        return FootageJob(footage_request_from_settings(context.scene, learn=False))


class LIPSYNC_OT_learn_footage(_FootageOperator, bpy.types.Operator):
    """Learn the footage's speaker from its frames and its own speech; later lip-sync runs
    of the strip use what was learnt. The scene is not changed"""

    bl_idname = "lipsync.learn_footage"
    bl_label = "Learn Speaker"
    bl_options = {"REGISTER"}

    task = "Learn Speaker"
    cancelled_message = "Learn Speaker cancelled: nothing was written"

    def make_job(self, context):
        from ..jobs.footage_job import LearnFootageJob

        return LearnFootageJob(footage_request_from_settings(context.scene, learn=True))


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


class LIPSYNC_OT_check_mouth(bpy.types.Operator):
    """Render the current frame and draw the character's mouth keypoints over it (image
    "Lip Sync Mouth Check"), to check the mouth before a long run"""

    bl_idname = "lipsync.check_mouth"
    bl_label = "Check Mouth"
    bl_options = {"REGISTER"}

    image_name = "Lip Sync Mouth Check"

    @classmethod
    def poll(cls, context):
        return _modules_ready(cls) and context.scene is not None \
            and context.scene.lipsync.character is not None

    def execute(self, context):
        from ..blender.images import show_array
        from ..jobs.mouth_check import check_mouth

        scene = context.scene
        settings = scene.lipsync
        try:
            check = check_mouth(scene, settings.character.name, settings.mouth_group,
                                scene.frame_current)
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        image = show_array(self.image_name, check.image)
        shown = False
        for area in context.screen.areas if context.screen else ():
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                shown = True
        where = "" if shown else f" (open an Image Editor on '{image.name}' to see it)"
        self.report({"INFO"}, check.summary() + where)
        return {"FINISHED"}


CLASSES = (LIPSYNC_OT_render_and_sync, LIPSYNC_OT_preprocess, LIPSYNC_OT_learn_character,
           LIPSYNC_OT_sync_footage, LIPSYNC_OT_learn_footage, LIPSYNC_OT_character_add,
           LIPSYNC_OT_character_remove, LIPSYNC_OT_check_mouth)
