"""Sidebar panels (tab "Lip Sync") in the 3D viewport and the video sequencer.

The main panel does the whole job: characters (the first one, then a list of further
characters, each with its own sound strip), frames, range, quality, device, output and
the "Render and Lip-Sync" button. Collapsed sub-panels keep the preprocessing passes and
Learn Character (whether the character has a learnt generator, its settings, the button).
"""

from __future__ import annotations

import bpy

from .. import dependencies


def _sound_strip_field(layout, owner, editor) -> None:
    if editor is not None:
        layout.prop_search(owner, "sound_strip", editor, "strips_all")
    else:
        layout.label(text="No sound strip: add one in the Sequencer", icon="ERROR")


class LIPSYNC_UL_characters(bpy.types.UIList):
    """Further characters: mesh and sound strip per row."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname,
                  index=0, flt_flag=0):
        row = layout.row(align=True)
        row.prop(item, "character", text="", emboss=False, icon="OUTLINER_OB_MESH")
        row.label(text=item.sound_strip or "(only sound strip)", icon="SOUND")


class LipSyncPanelMixin:
    bl_region_type = "UI"
    bl_category = "Lip Sync"
    bl_label = "Lip Sync"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        scene = context.scene
        settings = scene.lipsync
        editor = scene.sequence_editor

        missing = dependencies.missing_summary()
        if missing:
            layout.label(text=missing, icon="ERROR")

        col = layout.column(heading="Character")
        col.prop(settings, "character")
        if settings.character is not None:
            col.prop_search(settings, "mouth_group", settings.character, "vertex_groups")
            col.operator("lipsync.check_mouth", icon="HIDE_OFF")
        col.prop(settings, "audio_source")
        if settings.audio_source == "STRIP":
            _sound_strip_field(col, settings, editor)

        col = layout.column(heading="More Characters")
        row = col.row()
        row.template_list("LIPSYNC_UL_characters", "", settings, "extra_characters",
                          settings, "extra_index", rows=2)
        buttons = row.column(align=True)
        buttons.operator("lipsync.character_add", icon="ADD", text="")
        buttons.operator("lipsync.character_remove", icon="REMOVE", text="")
        extra = settings.extra_characters
        if 0 <= settings.extra_index < len(extra):
            item = extra[settings.extra_index]
            col.prop(item, "character")
            if item.character is not None:
                col.prop_search(item, "mouth_group", item.character, "vertex_groups")
            _sound_strip_field(col, item, editor)

        col = layout.column()
        col.prop(settings, "frames_source")
        if settings.frames_source == "STRIP" and editor is not None:
            col.prop_search(settings, "frames_strip", editor, "strips_all")
        elif settings.frames_source == "RENDER" and scene.camera is None:
            col.label(text="The scene has no active camera", icon="ERROR")
        col.prop(settings, "use_scene_range")
        if not settings.use_scene_range:
            row = col.row(align=True)
            row.prop(settings, "frame_start")
            row.prop(settings, "frame_end")

        col = layout.column()
        col.prop(settings, "quality")
        col.prop(settings, "revoice")
        col.prop(settings, "device")
        col.prop(settings, "output_dir")
        col = layout.column(heading="Add")
        col.prop(settings, "use_matte_strip")
        col.prop(settings, "use_preview")

        runtime = context.window_manager.lipsync
        if runtime.running:
            layout.progress(factor=runtime.progress, type="BAR",
                            text=f"{runtime.message} (Esc to cancel)")
        else:
            layout.operator("lipsync.render_and_sync", icon="SPEAKER")


class PreprocessPanelMixin:
    bl_region_type = "UI"
    bl_category = "Lip Sync"
    bl_label = "Preprocessing Passes"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(context.scene.lipsync, "fusion_weight", slider=True)
        if not context.window_manager.lipsync.running:
            layout.operator("lipsync.preprocess", icon="SEQUENCE")


def _learnt_label(layout, settings, name: str, absent: str) -> None:
    """A line saying whether `name` (a character or a footage strip) has a learnt generator
    in the learnt folder."""
    from ...core.learn.character import find_learnt
    from ..jobs.preprocess_job import resolve_output_dir

    found = find_learnt(resolve_output_dir(settings.learnt_dir), name)
    layout.label(text=f"Learnt: {found.name}" if found else absent,
                 icon="CHECKMARK" if found else "DOT")


class LearnPanelMixin:
    bl_region_type = "UI"
    bl_category = "Lip Sync"
    bl_label = "Learn Character"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings = context.scene.lipsync
        character = settings.character
        if character is None:
            layout.label(text="Pick the character above", icon="INFO")
        else:
            _learnt_label(layout, settings, character.name, "Not learnt: general model")
        layout.prop(settings, "learnt_dir")
        col = layout.column()
        col.prop(settings, "learn_visemes")
        col.prop(settings, "learn_sentences")
        col.prop(settings, "learn_language")
        col.prop(settings, "learn_samples")
        row = col.row(align=True)
        row.prop(settings, "learn_steps")
        row.prop(settings, "learn_minutes")
        if not context.window_manager.lipsync.running:
            layout.operator("lipsync.learn_character", icon="OUTLINER_OB_ARMATURE")


class LIPSYNC_PT_sequencer_footage(bpy.types.Panel):
    """Footage without a character: a movie or image strip of a speaker."""

    bl_idname = "LIPSYNC_PT_sequencer_footage"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Lip Sync"
    bl_label = "Footage"
    bl_parent_id = "LIPSYNC_PT_sequencer"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings, editor = context.scene.lipsync, context.scene.sequence_editor
        if editor is None:
            layout.label(text="Add the footage as a movie strip", icon="INFO")
            return
        layout.prop_search(settings, "footage_strip", editor, "strips_all")
        layout.prop_search(settings, "footage_speech", editor, "strips_all")
        if settings.footage_strip:
            _learnt_label(layout, settings, settings.footage_strip, "Speaker not learnt")
        running = context.window_manager.lipsync.running
        if not running:
            layout.operator("lipsync.sync_footage", icon="SEQUENCE")
        layout.prop_search(settings, "footage_own_speech", editor, "strips_all")
        if not running:
            layout.operator("lipsync.learn_footage", icon="USER")


class LIPSYNC_PT_view3d(LipSyncPanelMixin, bpy.types.Panel):
    bl_idname = "LIPSYNC_PT_view3d"
    bl_space_type = "VIEW_3D"


class LIPSYNC_PT_sequencer(LipSyncPanelMixin, bpy.types.Panel):
    bl_idname = "LIPSYNC_PT_sequencer"
    bl_space_type = "SEQUENCE_EDITOR"


class LIPSYNC_PT_view3d_preprocess(PreprocessPanelMixin, bpy.types.Panel):
    bl_idname = "LIPSYNC_PT_view3d_preprocess"
    bl_space_type = "VIEW_3D"
    bl_parent_id = "LIPSYNC_PT_view3d"


class LIPSYNC_PT_sequencer_preprocess(PreprocessPanelMixin, bpy.types.Panel):
    bl_idname = "LIPSYNC_PT_sequencer_preprocess"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_parent_id = "LIPSYNC_PT_sequencer"


class LIPSYNC_PT_view3d_learn(LearnPanelMixin, bpy.types.Panel):
    bl_idname = "LIPSYNC_PT_view3d_learn"
    bl_space_type = "VIEW_3D"
    bl_parent_id = "LIPSYNC_PT_view3d"


class LIPSYNC_PT_sequencer_learn(LearnPanelMixin, bpy.types.Panel):
    bl_idname = "LIPSYNC_PT_sequencer_learn"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_parent_id = "LIPSYNC_PT_sequencer"


CLASSES = (LIPSYNC_UL_characters, LIPSYNC_PT_view3d, LIPSYNC_PT_sequencer,
           LIPSYNC_PT_view3d_preprocess, LIPSYNC_PT_sequencer_preprocess,
           LIPSYNC_PT_view3d_learn, LIPSYNC_PT_sequencer_learn, LIPSYNC_PT_sequencer_footage)
