"""Mouth-feature preprocessing (seed step S20): mouth blur pictures, gradient maps
and mouth keypoints, for single frames and whole shots.

Conventions throughout: images are numpy (H, W, 3) RGB (never BGR), uint8 in
[0, 255] or float32 in [0, 1]; hue in degrees [0, 360); points are float32
(x, y) pixel coordinates, origin top-left, y down. No bpy here.
"""

from .config import PreprocessConfig
from .frames import list_frames, read_frame, read_frame_raw, write_frame
from .gradient import gradient_map, rgb_with_gradient
from .hsi import lip_mask_from_hue, rgb_to_hsi, rgb_to_hue
from .keypoints import (N_MOUTH_KEYPOINTS, Face, KeypointSource, KeypointTrack, draw_keypoints,
                        face_box_from_keypoints, mouth_opening, mouth_up_vector,
                        select_mouth_landmarks)
from .mouth_blur import (blur_region, face_orientation_from_skin, mouth_blur_picture,
                         mouth_region_hsi, mouth_region_skin)
from .sequence import FramePasses, PreprocessReport, preprocess_frame, preprocess_sequence
from .ycbcr import rgb_to_ycbcr, skin_mask_ellipse

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
