"""Mouth-feature preprocessing (seed step S20): mouth blur pictures, gradient maps
and mouth keypoints, for single frames and whole shots.

Conventions throughout: images are numpy (H, W, 3) RGB (never BGR), uint8 in
[0, 255] or float32 in [0, 1]; hue in degrees [0, 360); points are float32
(x, y) pixel coordinates, origin top-left, y down. No bpy here.
"""

import importlib

_HOME = {
    "PreprocessConfig": "config",
    **dict.fromkeys(("list_frames", "read_frame", "read_frame_raw", "write_frame"), "frames"),
    **dict.fromkeys(("gradient_map", "rgb_with_gradient"), "gradient"),
    **dict.fromkeys(("lip_mask_from_hue", "rgb_to_hsi", "rgb_to_hue"), "hsi"),
    **dict.fromkeys(("N_MOUTH_KEYPOINTS", "Face", "KeypointSource", "KeypointTrack",
                     "draw_keypoints", "face_box_from_keypoints", "mouth_opening",
                     "mouth_up_vector", "select_mouth_landmarks"), "keypoints"),
    **dict.fromkeys(("blur_region", "face_orientation_from_skin", "mouth_blur_picture",
                     "mouth_region_hsi", "mouth_region_skin"), "mouth_blur"),
    **dict.fromkeys(("FramePasses", "PreprocessReport", "preprocess_frame",
                     "preprocess_sequence"), "sequence"),
    **dict.fromkeys(("rgb_to_ycbcr", "skin_mask_ellipse"), "ycbcr"),
}


def __getattr__(name: str):
    """Names are imported from their module on first use, so importing one light module
    (e.g. `config`) does not load OpenCV."""
    if name in _HOME:
        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PreprocessConfig",
    "list_frames", "read_frame", "read_frame_raw", "write_frame",
    "gradient_map", "rgb_with_gradient",
    "lip_mask_from_hue", "rgb_to_hsi", "rgb_to_hue",
    "N_MOUTH_KEYPOINTS", "Face", "KeypointSource", "KeypointTrack", "draw_keypoints",
    "face_box_from_keypoints", "mouth_opening", "mouth_up_vector", "select_mouth_landmarks",
    "blur_region", "face_orientation_from_skin", "mouth_blur_picture",
    "mouth_region_hsi", "mouth_region_skin",
    "FramePasses", "PreprocessReport", "preprocess_frame", "preprocess_sequence",
    "rgb_to_ycbcr", "skin_mask_ellipse",
]
