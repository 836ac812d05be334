"""Tests of core/preprocess/mouth_blur.py (and the PreprocessConfig it is driven by)."""

import cv2
import numpy as np
import pytest

from lipsync.core.errors import InputError
from lipsync.core.preprocess.config import PreprocessConfig, odd_kernel_size
from lipsync.core.preprocess.keypoints import Face
from lipsync.core.preprocess.mouth_blur import (blur_region, face_orientation_from_skin, mouth_blur_picture,
                                                mouth_region_hsi, mouth_region_skin)
from synthetic_faces import FaceSpec, synthetic_face, synthetic_frame
from lipsync.core.preprocess.ycbcr import skin_mask_ellipse

CONFIG = PreprocessConfig()
# (skin, lip): Monk Skin Tone swatches MST 01, 05, 07, 10 with a matching lip (see test_hsi.py).
TONES = [((246, 237, 228), (222, 140, 150)), ((215, 189, 150), (186, 104, 102)),
         ((130, 92, 67), (124, 64, 66)), ((41, 36, 32), (60, 34, 40))]
# Where the chin points in the face square for each orientation (unit vector from the centre).
CHIN = {0: (0, 1), 90: (1, 0), 180: (0, -1), 270: (-1, 0)}


def _box_crop(mask, face):
    x0, y0, x1, y1 = (int(round(v)) for v in face.box)
    return mask[y0:y1, x0:x1]


def _centroid(mask):
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


# -- config ---------------------------------------------------------------------------


def test_config_defaults_are_valid_and_frozen():
    assert CONFIG.fusion_weight == 0.5 and CONFIG.gradient_kernel_size in (5, 7)
    with pytest.raises(AttributeError):
        CONFIG.fusion_weight = 0.3


@pytest.mark.parametrize("field, value, words", [
    ("fusion_weight", 0.0, "fusion_weight must be in (0, 1)"),
    ("fusion_weight", 1.0, "fusion_weight"),
    ("gradient_kernel_size", 6, "5 or 7"),
    ("red_weight", 1.0, "red_weight"),
    ("hue_threshold_deg", 360.0, "hue_threshold_deg"),
    ("lower_fraction", 0.0, "lower_fraction"),
    ("skin_axis_scale", -1.0, "skin_axis_scale"),
    ("blur_fraction", float("nan"), "finite"),
    ("gradient_gain", "2", "finite number"),
    ("analysis_size", 16, "analysis_size"),
    ("analysis_size", 64.0, "analysis_size"),
])
def test_config_rejects_bad_values(field, value, words):
    with pytest.raises(InputError) as err:
        PreprocessConfig(**{field: value})
    assert words in str(err.value) and repr(value) in str(err.value)


def test_odd_kernel_size():
    assert odd_kernel_size(200, 0.1) == 21 and odd_kernel_size(190, 0.1) == 19
    assert odd_kernel_size(10, 0.1) == 3


# -- orientation -------------------------------------------------------------------------


@pytest.mark.parametrize("skin, lip", TONES)
@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_orientation_from_skin_ratio(angle, skin, lip):
    image, face = synthetic_face(FaceSpec((128, 128), angle=angle, skin=skin, lip=lip))
    skin_mask = _box_crop(skin_mask_ellipse(image, CONFIG), face)
    assert face_orientation_from_skin(skin_mask, CONFIG.orientation_tolerance) == angle


def test_orientation_of_a_bald_box_defaults_to_upright():
    assert face_orientation_from_skin(np.ones((20, 30), bool)) == 0


def test_orientation_bad_input():
    with pytest.raises(InputError, match="bool"):
        face_orientation_from_skin(np.ones((20, 30), np.uint8))


@pytest.mark.parametrize("with_keypoints", [True, False])
@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_region_b_is_on_the_chin_side(angle, with_keypoints):
    image, face = synthetic_face(FaceSpec((128, 128), angle=angle))
    if not with_keypoints:
        face = Face(None, None, face.box)
    mask = mouth_region_skin(image, face, CONFIG)
    assert mask.dtype == bool and mask.shape == image.shape[:2] and mask.sum() > 500
    offset = _centroid(mask) - 127.5
    chin = np.array(CHIN[angle])
    assert offset @ chin > 40                                   # well towards the chin
    assert abs(offset @ chin[::-1]) < 5                         # centred across the face
    mouth = np.array([128, 128]) + 0.24 * 256 * chin            # synthetic mouth centre
    x, y = np.round(mouth).astype(int)
    assert mask[y, x]                                           # holes (lips) are filled in


def test_region_b_is_the_lower_part_of_an_upright_face():
    image, face = synthetic_face(FaceSpec((128, 128)))
    mask = mouth_region_skin(image, face, CONFIG)
    rows = np.flatnonzero(mask.any(axis=1))
    skin_rows = np.flatnonzero(skin_mask_ellipse(image, CONFIG).any(axis=1))
    extent = skin_rows[-1] - skin_rows[0]
    assert rows[0] >= skin_rows[-1] - CONFIG.lower_fraction * extent - 2
    assert rows[-1] <= skin_rows[-1]
    assert rows[0] > 0.46 * 256                                  # below the eyes


def test_region_b_follows_a_tilted_face_from_keypoints():
    image, face = synthetic_face(FaceSpec((128, 128), angle=30))
    mask = mouth_region_skin(image, face, CONFIG)
    chin = np.array([np.sin(np.radians(30)), np.cos(np.radians(30))])    # down, turned CCW by 30 deg
    offset = _centroid(mask) - 127.5
    across = np.array([chin[1], -chin[0]])
    assert offset @ chin > 40 and abs(offset @ across) < 8


# -- region A ------------------------------------------------------------------------------


@pytest.mark.parametrize("skin, lip", TONES)
@pytest.mark.parametrize("with_keypoints", [True, False])
def test_region_a_is_the_lips(skin, lip, with_keypoints):
    image, face = synthetic_face(FaceSpec((128, 128), skin=skin, lip=lip))
    if not with_keypoints:
        face = Face(None, None, face.box)
    mask = mouth_region_hsi(image, face, CONFIG)
    # the synthetic mouth: outer lip ellipse (lips and the dark-red opening inside)
    y, x = np.mgrid[:256, :256]
    mouth = ((x - 128) / (0.12 * 256)) ** 2 + ((y - 0.74 * 256) / (0.055 * 256)) ** 2 <= 1
    assert mask.dtype == bool and mask.shape == (256, 256)
    assert (mask & mouth).sum() > 0.9 * mouth.sum()
    assert mask.sum() < 1.15 * mouth.sum()                       # the mouth, not the skin
    assert np.abs(_centroid(mask) - [128, 0.74 * 256]).max() < 2


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_region_a_of_rotated_face_without_keypoints(angle):
    image, face = synthetic_face(FaceSpec((128, 128), angle=angle))
    mask = mouth_region_hsi(image, Face(None, None, face.box), CONFIG)
    expected = np.array([128, 128]) + 0.24 * 256 * np.array(CHIN[angle])
    assert mask.sum() > 300 and np.abs(_centroid(mask) - expected).max() < 4


# -- blur_region -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_blur_region_only_inside_mask(dtype):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    if dtype == np.float32:
        image = image.astype(np.float32) / 255
    mask = np.zeros((40, 50), bool)
    mask[10:30, 15:35] = True
    out = blur_region(image, mask, 5)
    assert out.dtype == image.dtype and out.shape == image.shape and out is not image
    np.testing.assert_array_equal(out[~mask], image[~mask])
    # reference: OpenCV's mean filter of the whole image, inside the mask
    expected = cv2.blur(image, (5, 5), borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(out[mask].astype(float), expected[mask].astype(float), atol=1e-6)
    assert out[mask].astype(float).std() < image[mask].astype(float).std() / 2


def test_blur_region_constant_image_and_empty_mask():
    image = np.full((20, 20, 3), 77, np.uint8)
    np.testing.assert_array_equal(blur_region(image, np.ones((20, 20), bool), 7), image)
    noisy = np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    np.testing.assert_array_equal(blur_region(noisy, np.zeros((20, 20), bool), 7), noisy)


def test_blur_region_feather_is_soft():
    image = np.zeros((30, 30, 3), np.uint8)
    image[:, 15:] = 200
    mask = np.zeros((30, 30), bool)
    mask[5:25, 5:25] = True
    hard = blur_region(image, mask, 9)
    soft = blur_region(image, mask, 9, feather=3)
    assert (soft[~mask] != image[~mask]).any()                   # the soft edge reaches outside a little
    assert (soft[:2] == image[:2]).all()                         # but not far
    assert (hard[~mask] == image[~mask]).all()


@pytest.mark.parametrize("mask, ksize, feather, words", [
    (np.ones((10, 10), np.uint8), 3, 0, "bool"),
    (np.ones((9, 10), bool), 3, 0, "(10, 10)"),
    (np.ones((10, 10), bool), 4, 0, "odd"),
    (np.ones((10, 10), bool), 1, 0, "odd"),
    (np.ones((10, 10), bool), 3, -1, "feather"),
])
def test_blur_region_bad_input(mask, ksize, feather, words):
    with pytest.raises(InputError) as err:
        blur_region(np.zeros((10, 10, 3), np.uint8), mask, ksize, feather)
    assert words in str(err.value)


# -- mouth_blur_picture -------------------------------------------------------------------------------


def test_fusion_is_weighted_sum_of_both_paths():
    config = PreprocessConfig(feather_fraction=0.0, fusion_weight=0.3)
    image, face = synthetic_face(FaceSpec((128, 128)))
    k = odd_kernel_size(face.size, config.blur_fraction)
    a = blur_region(image, mouth_region_hsi(image, face, config), k).astype(float)
    b = blur_region(image, mouth_region_skin(image, face, config), k).astype(float)
    out = mouth_blur_picture(image, [face], config)
    np.testing.assert_allclose(out.astype(float), 0.3 * a + 0.7 * b, atol=1.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_mouth_blur_smoke_dtype_and_mouth_changes(dtype):
    image, face = synthetic_face(FaceSpec((128, 128)))
    if dtype == np.float32:
        image = image.astype(np.float32) / 255
    out = mouth_blur_picture(image, [face], CONFIG)
    assert out.dtype == image.dtype and out.shape == image.shape
    mouth = (slice(175, 205), slice(90, 166))
    assert np.abs(out[mouth].astype(float) - image[mouth]).mean() > 0.02 * (255 if dtype == np.uint8 else 1)
    eyes = (slice(110, 125), slice(85, 170))
    np.testing.assert_array_equal(out[eyes], image[eyes])        # the upper face stays sharp


def test_no_faces_returns_unchanged_copy():
    image, _ = synthetic_face(FaceSpec((128, 128)))
    out = mouth_blur_picture(image, [], CONFIG)
    assert out is not image
    np.testing.assert_array_equal(out, image)


def test_faces_none_uses_whole_frame_and_skin_ratio():
    image, _ = synthetic_face(FaceSpec((128, 128), angle=180))
    out = mouth_blur_picture(image, None, CONFIG)
    changed = (out != image).any(axis=2)
    assert changed.sum() > 1000
    assert _centroid(changed)[1] < 110                           # upside down: the mouth is at the top


def test_several_faces_each_blurred_and_far_pixels_unchanged():
    specs = [FaceSpec((80, 80), size=128, skin=TONES[0][0], lip=TONES[0][1]),
             FaceSpec((250, 90), size=160, angle=90, skin=TONES[2][0], lip=TONES[2][1]),
             FaceSpec((420, 220), size=128, angle=200, skin=TONES[3][0], lip=TONES[3][1])]
    frame, faces = synthetic_frame(300, 500, specs)
    out = mouth_blur_picture(frame, faces, CONFIG)
    for face in faces:
        x, y = np.round(face.keypoints[24]).astype(int)
        r = int(face.size * 0.08)
        patch = (slice(y - r, y + r), slice(x - r, x + r))
        assert np.abs(out[patch].astype(int) - frame[patch]).mean() > 3
    far = np.ones((300, 500), bool)                              # beyond box + soft edge (feather)
    for face in faces:
        x0, y0, x1, y1 = face.box
        m = int(round(face.size * CONFIG.feather_fraction)) + 1
        far[max(int(y0) - m, 0):int(np.ceil(y1)) + m, max(int(x0) - m, 0):int(np.ceil(x1)) + m] = False
    assert far.mean() > 0.4
    np.testing.assert_array_equal(out[far], frame[far])


@pytest.mark.parametrize("with_keypoints", [True, False])
def test_analysis_at_reduced_size_matches_full_size(with_keypoints):
    image, face = synthetic_face(FaceSpec((320, 320), size=640, angle=90))
    if not with_keypoints:
        face = Face(None, None, face.box)
    small, full = CONFIG, PreprocessConfig(analysis_size=1024)
    for region in (mouth_region_hsi, mouth_region_skin):
        a, b = region(image, face, small), region(image, face, full)
        assert (a & b).sum() / (a | b).sum() > 0.95


def test_face_outside_frame_is_ignored():
    image, _ = synthetic_face(FaceSpec((128, 128)))
    outside = Face(None, None, (400, 400, 500, 500))
    np.testing.assert_array_equal(mouth_blur_picture(image, [outside], CONFIG), image)


def test_bad_frame():
    with pytest.raises(InputError, match="frame"):
        mouth_blur_picture(np.zeros((10, 10), np.uint8), [], CONFIG)
