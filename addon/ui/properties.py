"""The add-on's settings: one property group on the scene, runtime state on the window manager."""

from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty,
                       IntProperty, PointerProperty, StringProperty)

from ...core.learn.character import DEFAULT_FOLDER, LearnSettings
from ...core.pipeline.options import LipSyncOptions
from ...core.speech.sentences import SENTENCES

OPTIONS = LipSyncOptions()      # the panel's defaults are the options' defaults
LEARN = LearnSettings()         # and Learn Character's


def _is_mesh(_self, obj) -> bool:
    return obj.type == "MESH"


class LIPSYNC_PG_character(bpy.types.PropertyGroup):
    """One more character of the shot, with the sound strip it speaks."""

    character: PointerProperty(name="Character", type=bpy.types.Object, poll=_is_mesh,
                               description="The character's mesh; its mouth gives the keypoints")
    mouth_group: StringProperty(name="Mouth Group",
                                description="Vertex group of the lips (empty: a group or material "
                                            "named lip/mouth is found automatically)")
    sound_strip: StringProperty(name="Sound Strip",
                                description="Sound strip this character speaks (empty: the only "
                                            "one)")


class LIPSYNC_PG_settings(bpy.types.PropertyGroup):
    """Per-scene Lip Sync settings (Scene.lipsync)."""

    character: PointerProperty(name="Character", type=bpy.types.Object, poll=_is_mesh,
                               description="The character's mesh; its mouth gives the keypoints")
    mouth_group: StringProperty(name="Mouth Group",
                                description="Vertex group of the lips (empty: a group or material "
                                            "named lip/mouth is found automatically)")
    audio_source: EnumProperty(name="Audio", default="STRIP", items=[
        ("STRIP", "Sound Strip", "One sound strip of the scene"),
        ("MIX", "Mix All", "All unmuted sound strips mixed")])
    sound_strip: StringProperty(name="Sound Strip",
                                description="Sound strip to lip-sync to (empty: the only one)")
    frames_source: EnumProperty(name="Frames", default="RENDER", items=[
        ("RENDER", "Render Camera", "Render the active camera's view (scene's engine and settings)"),
        ("STRIP", "Existing Strip", "Use the frames of an image or movie strip")])
    frames_strip: StringProperty(name="Frames Strip", description="Image or movie strip to use")
    use_scene_range: BoolProperty(name="Scene Range", default=True,
                                  description="Use the scene's frame range")
    frame_start: IntProperty(name="Start", default=1, min=0)
    frame_end: IntProperty(name="End", default=250, min=0)
    fusion_weight: FloatProperty(name="HSI Weight", default=0.5, min=0.01, max=0.99,
                                 description="Weight w of the hue (HSI) blur against the skin "
                                             "(YCbCr) blur: w*A + (1-w)*B")
    output_dir: StringProperty(name="Output", subtype="DIR_PATH", default="//lipsync_cache",
                               description="Folder for renders and passes (each run adds a "
                                           "new sub-folder; nothing is overwritten)")
    extra_characters: CollectionProperty(type=LIPSYNC_PG_character, name="More Characters",
                                         description="Further characters of the shot, each "
                                                     "with its own sound strip")
    extra_index: IntProperty(name="Active Character", default=0, min=0)
    quality: EnumProperty(name="Quality", default=OPTIONS.quality.upper(), items=[
        ("DRAFT", "Draft", "Mouth region from the keypoints only (faster)"),
        ("FINAL", "Final", "Generated mouth sharpened; a learnt mouth, or one drawn from "
                           "another frame, masked by the face parser")])
    revoice: EnumProperty(name="Re-voice", default=OPTIONS.revoice.upper(), items=[
        ("AUTO", "Auto", "Re-voice a character whose lips already move in the frames (a "
                         "lip-synced shot in another language)"),
        ("ON", "On", "The frames' mouth already speaks other words: draw the new mouth from "
                     "the shot's most closed mouth, not each frame's"),
        ("OFF", "Off", "Draw the new mouth from each frame's own mouth")])
    device: EnumProperty(name="Device", default=OPTIONS.device.upper(), items=[
        ("AUTO", "Auto", "The GPU (CUDA) when there is one, else the CPU"),
        ("CPU", "CPU", "The processor"),
        ("CUDA", "CUDA", "An NVIDIA GPU (needs the CUDA build of PyTorch)")])
    use_matte_strip: BoolProperty(name="Mouth Matte Strip", default=OPTIONS.matte,
                                  description="Also put the mouth matte (white where the frame "
                                              "changed) on the sequencer, muted, above the result")
    use_preview: BoolProperty(name="MP4 Preview", default=False,
                              description="Also write preview.mp4 (the result with its sound) "
                                          "into the run folder")
    learnt_dir: StringProperty(name="Learnt", subtype="DIR_PATH", default=DEFAULT_FOLDER,
                               description="Folder of the characters' learnt generators: Learn "
                                           "Character writes there, and a character with one "
                                           "there is lip-synced with it")
    learn_visemes: StringProperty(name="Mouth Controls", default="auto",
                                  description="How its shape keys make the visemes: auto, a "
                                              "naming scheme (oculus, arkit, vrm, ...), jaw, or "
                                              "a JSON table file (docs/characters.md)")
    learn_sentences: IntProperty(name="Sentences", default=LEARN.sentences, min=1, max=100,
                                 description="Sentences spoken to the character (espeak-ng)")
    learn_language: EnumProperty(name="Language", default=LEARN.language,
                                 items=[(k, k, f"Sentences in '{k}'") for k in SENTENCES])
    learn_samples: IntProperty(name="Samples", default=LEARN.samples, min=1,
                               description="Render samples at most (Cycles, EEVEE): fewer is "
                                           "faster")
    learn_steps: IntProperty(name="Steps", default=LEARN.steps, min=1,
                             description="Learning steps at most")
    learn_minutes: FloatProperty(name="Minutes", default=LEARN.minutes, min=0.1,
                                 description="Learning time at most (after the renders)")
    footage_strip: StringProperty(name="Footage",
                                  description="Movie or image strip of a speaker (no character "
                                              "mesh: the mouth is found in its frames)")
    footage_speech: StringProperty(name="New Speech",
                                   description="Sound strip the footage is lip-synced to "
                                               "(empty: the scene's only one)")
    footage_own_speech: StringProperty(name="Its Own Speech",
                                       description="Sound strip of the footage's own sound, "
                                                   "to learn the speaker from")


class LIPSYNC_PG_runtime(bpy.types.PropertyGroup):
    """State of the running job, for the panel's progress bar (WindowManager.lipsync)."""

    running: BoolProperty(default=False)
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(default="")


CLASSES = (LIPSYNC_PG_character, LIPSYNC_PG_settings, LIPSYNC_PG_runtime)


def attach() -> None:
    bpy.types.Scene.lipsync = PointerProperty(type=LIPSYNC_PG_settings)
    bpy.types.WindowManager.lipsync = PointerProperty(type=LIPSYNC_PG_runtime)


def detach() -> None:
    del bpy.types.WindowManager.lipsync
    del bpy.types.Scene.lipsync
