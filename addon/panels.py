"""Sidebar panels (tab "Lip Sync") in the 3D viewport and the video sequencer."""

from __future__ import annotations

import bpy


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

        col = layout.column(heading="Character")
        col.prop(settings, "character")
        if settings.character is not None:
            col.prop_search(settings, "mouth_group", settings.character, "vertex_groups")

        col = layout.column()
        col.prop(settings, "audio_source")
        if settings.audio_source == "STRIP":
            if editor is not None:
                col.prop_search(settings, "sound_strip", editor, "strips_all")
            else:
                col.label(text="No sound strip: add one in the Sequencer", icon="ERROR")

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
        col.prop(settings, "fusion_weight", slider=True)
        col.prop(settings, "output_dir")

        runtime = context.window_manager.lipsync
        if runtime.running:
            layout.progress(factor=runtime.progress, type="BAR",
                            text=f"{runtime.message} (Esc to cancel)")
        else:
            layout.operator("lipsync.preprocess", icon="SEQUENCE")


class LIPSYNC_PT_view3d(LipSyncPanelMixin, bpy.types.Panel):
    bl_idname = "LIPSYNC_PT_view3d"
    bl_space_type = "VIEW_3D"


class LIPSYNC_PT_sequencer(LipSyncPanelMixin, bpy.types.Panel):
    bl_idname = "LIPSYNC_PT_sequencer"
    bl_space_type = "SEQUENCE_EDITOR"


CLASSES = (LIPSYNC_PT_view3d, LIPSYNC_PT_sequencer)
