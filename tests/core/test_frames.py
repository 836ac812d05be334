"""Tests of core/preprocess/frames.py: listing, reading and writing frame files."""

import cv2
import numpy as np
import pytest

from lipsync.core.errors import FrameError, InputError
from lipsync.core.preprocess.frames import (check_rgb_image, frame_number, list_frames, read_frame,
                                            read_frame_raw, to_uint8, write_frame)


def _rgb(h=6, w=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# -- list_frames ------------------------------------------------------------------------------


def test_list_frames_natural_order_and_filter(tmp_path):
    for name in ["f10.png", "f2.png", "f1.PNG", "f3.jpg", "notes.txt", ".f0.png", "f4.exr", "f5.tiff"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()
    names = [p.name for p in list_frames(tmp_path)]
    assert names == ["f1.PNG", "f2.png", "f3.jpg", "f4.exr", "f5.tiff", "f10.png"]


def test_list_frames_zero_padded_and_str_path(tmp_path):
    for i in (3, 1, 12):
        (tmp_path / f"shot_{i:04d}.png").write_bytes(b"")
    assert [p.name for p in list_frames(str(tmp_path))] == ["shot_0001.png", "shot_0003.png", "shot_0012.png"]


def test_list_frames_errors(tmp_path):
    with pytest.raises(FrameError, match="does not exist"):
        list_frames(tmp_path / "missing")
    with pytest.raises(FrameError, match="holds no frames"):
        list_frames(tmp_path)
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(FrameError, match="not a folder"):
        list_frames(tmp_path / "a.png")
    assert issubclass(FrameError, InputError)


def test_frame_number():
    assert frame_number("shot_0042.png") == 42 and frame_number("/x/7.exr") == 7
    assert frame_number("still.png") is None and frame_number("v2_final.png") is None


# -- read / write -----------------------------------------------------------------------------


def test_write_then_read_png_roundtrip_keeps_rgb_order(tmp_path):
    image = _rgb()
    image[0, 0] = (255, 0, 0)
    path = tmp_path / "0001.png"
    write_frame(path, image)
    np.testing.assert_array_equal(read_frame(path), image)
    assert tuple(cv2.imread(str(path))[0, 0]) == (0, 0, 255)     # BGR on disk, as OpenCV expects
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0001.png"]   # no temporary file left


def test_write_grey_and_unicode_path(tmp_path):
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    path = tmp_path / "gradiënt_帧" / "0002.png"
    path.parent.mkdir()
    write_frame(path, grey)
    np.testing.assert_array_equal(read_frame_raw(path), grey)
    np.testing.assert_array_equal(read_frame(path), np.repeat(grey[:, :, None], 3, axis=2))


def test_read_rgba_and_16_bit(tmp_path):
    rgba = np.dstack([_rgb(), np.full((6, 8), 128, np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    raw = read_frame_raw(tmp_path / "rgba.png")
    assert raw.shape == (6, 8, 4)
    np.testing.assert_array_equal(raw, rgba)
    np.testing.assert_array_equal(read_frame(tmp_path / "rgba.png"), rgba[..., :3])

    deep = (_rgb().astype(np.uint16) * 257)                      # 8-bit value v -> 16-bit 257 v
    cv2.imwrite(str(tmp_path / "deep.png"), cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    assert read_frame_raw(tmp_path / "deep.png").dtype == np.uint16
    np.testing.assert_array_equal(read_frame(tmp_path / "deep.png"), _rgb())


def test_read_jpeg(tmp_path):
    image = np.full((16, 16, 3), (200, 60, 40), np.uint8)
    write_frame(tmp_path / "a.jpg", image)
    assert np.abs(read_frame(tmp_path / "a.jpg").astype(int) - image).max() <= 3


def test_read_errors(tmp_path):
    with pytest.raises(FrameError, match="cannot read"):
        read_frame(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"definitely not a png")
    with pytest.raises(FrameError, match="cannot decode"):
        read_frame(tmp_path / "junk.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(FrameError, match="cannot decode"):
        read_frame(tmp_path / "empty.png")


def test_write_errors(tmp_path):
    with pytest.raises(FrameError, match="cannot write"):
        write_frame(tmp_path / "no" / "such" / "dir.png", _rgb())
    with pytest.raises(InputError, match="uint8"):
        write_frame(tmp_path / "a.png", _rgb().astype(np.float32))
    with pytest.raises(InputError, match="uint8"):
        write_frame(tmp_path / "a.png", np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(FrameError, match="encode"):
        write_frame(tmp_path / "a.unknownformat", _rgb())
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_existing_file(tmp_path):
    path = tmp_path / "0001.png"
    write_frame(path, _rgb(seed=1))
    write_frame(path, _rgb(seed=2))
    np.testing.assert_array_equal(read_frame(path), _rgb(seed=2))


# -- array helpers -------------------------------------------------------------------------------


def test_check_rgb_image_accepts_and_names():
    image = _rgb()
    assert check_rgb_image(image) is image
    assert check_rgb_image(np.zeros((2, 2, 3), np.float64)).dtype == np.float64
    with pytest.raises(InputError, match="frame must have shape"):
        check_rgb_image(np.zeros((2, 2)), "frame")


def test_to_uint8_rounds_and_clips():
    out = to_uint8(np.array([[[0.0, 0.5, 1.0]]], np.float32))
    assert out.dtype == np.uint8 and out.tolist() == [[[0, 128, 255]]]
    image = _rgb()
    assert to_uint8(image) is image
