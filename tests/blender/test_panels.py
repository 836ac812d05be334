"""The sidebar panels draw every control against real RNA properties and operators."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = pytest.mark.blender


class RecordingLayout:
    """Stands in for `UILayout` in background mode (no UI there) and checks each call."""

    def __init__(self, log):
        self.log = log
        self.use_property_split = self.use_property_decorate = False

    def column(self, **_):
        return self

    row = column

    def prop(self, data, name, **_):
        assert name in data.bl_rna.properties, name
        self.log.append(("prop", name))

    def prop_search(self, data, name, search_data, search_name, **_):
        assert name in data.bl_rna.properties, name
        assert search_name in search_data.bl_rna.properties, search_name
        self.log.append(("search", name))

    def label(self, text="", **_):
        self.log.append(("label", text))

    def template_list(self, list_type, list_id, data, name, active_data, active_name, **_):
        assert hasattr(bpy.types, list_type), list_type
        assert name in data.bl_rna.properties and active_name in active_data.bl_rna.properties
        self.log.append(("list", name))

    def operator(self, idname, **_):
        category, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, category), name), idname
        self.log.append(("operator", idname))

    def progress(self, factor=0.0, type="BAR", text=""):
        self.log.append(("progress", text))


def _draw(panel_class, context):
    log = []
    panel_class.draw(SimpleNamespace(layout=RecordingLayout(log)), context)
    return log


@pytest.mark.parametrize("name", ["LIPSYNC_PT_view3d", "LIPSYNC_PT_sequencer"])
def test_panels_draw_every_setting(shot, name):
    panel = getattr(bpy.types, name)
    assert panel.bl_category == "Lip Sync" and panel.bl_region_type == "UI"
    settings = shot.scene.lipsync
    settings.use_scene_range = False
    settings.frames_source = "STRIP"
    bpy.ops.lipsync.character_add()
    settings.extra_characters[0].character = shot.head
    log = _draw(panel, bpy.context)
    drawn = {n for kind, n in log if kind in ("prop", "search")}
    assert {"character", "mouth_group", "audio_source", "sound_strip", "frames_source",
            "frames_strip", "use_scene_range", "frame_start", "frame_end", "quality", "device",
            "output_dir", "use_matte_strip", "use_preview", "revoice"} <= drawn
    assert ("list", "extra_characters") in log
    assert ("operator", "lipsync.render_and_sync") in log
    assert ("operator", "lipsync.character_add") in log
    sub = getattr(bpy.types, name + "_preprocess")
    assert sub.bl_parent_id == name and "DEFAULT_CLOSED" in sub.bl_options
    log = _draw(sub, bpy.context)
    assert ("prop", "fusion_weight") in log and ("operator", "lipsync.preprocess") in log


def test_panel_warns_without_camera_and_shows_progress_while_running(shot):
    bpy.data.objects.remove(shot.scene.camera)
    runtime = bpy.context.window_manager.lipsync
    runtime.running, runtime.message = True, "frame 3"
    try:
        log = _draw(bpy.types.LIPSYNC_PT_view3d, bpy.context)
    finally:
        runtime.running = False
    assert ("label", "The scene has no active camera") in log
    assert ("progress", "frame 3 (Esc to cancel)") in log
    jobs = {"lipsync.render_and_sync", "lipsync.preprocess"}
    assert not any(kind == "operator" and name in jobs for kind, name in log)


def test_footage_panel_draws_its_strips_and_both_operators(shot):
    panel = bpy.types.LIPSYNC_PT_sequencer_footage
    assert panel.bl_parent_id == "LIPSYNC_PT_sequencer" and panel.bl_space_type == "SEQUENCE_EDITOR"
    shot.scene.lipsync.footage_strip = "speech"
    log = _draw(panel, bpy.context)
    drawn = {n for kind, n in log if kind == "search"}
    assert drawn == {"footage_strip", "footage_speech", "footage_own_speech"}
    assert ("operator", "lipsync.sync_footage") in log
    assert ("operator", "lipsync.learn_footage") in log
    assert ("label", "Speaker not learnt") in log
