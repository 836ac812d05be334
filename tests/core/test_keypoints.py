"""Tests of core/preprocess/keypoints.py: topology, landmark selection, faces, tracks."""

import numpy as np
import pytest

from lipsync.core.errors import InputError
from lipsync.core.preprocess import keypoints as kp
from lipsync.core.preprocess.keypoints import (Face, KeypointTrack, draw_keypoints, face_angle,
                                               face_box_from_keypoints, mouth_opening, mouth_up_vector,
                                               select_mouth_landmarks)
from synthetic_faces import FaceSpec, synthetic_face


def _lip_ring(n=72, centre=(100.0, 80.0), outer=(30.0, 14.0), inner=(20.0, 5.0), angle_deg=0.0):
    """Projected vertices of a lip ring: outer and inner ellipses and the centre, rotated CCW."""
    t = np.radians(np.arange(n) * 360.0 / n)
    ring = [np.stack([np.cos(t) * outer[0], np.sin(t) * outer[1]], 1),
            np.stack([np.cos(t) * inner[0], np.sin(t) * inner[1]], 1), np.zeros((1, 2))]
    points = np.concatenate(ring)
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])   # CCW on screen (y down)
    return points @ rot.T + centre


# -- topology ---------------------------------------------------------------------


def test_topology_constants():
    assert kp.N_MOUTH_KEYPOINTS == 25
    assert kp.OUTER.tolist() == list(range(12)) and kp.INNER.tolist() == list(range(12, 24))
    assert kp.CENTRE == 24 and kp.TOP_OUTER == 3 and kp.BOTTOM_OUTER == 9
    assert kp.LEFT_CORNER == 0 and kp.RIGHT_CORNER == 6
    assert kp.TOP_INNER == 12 + 3 and kp.BOTTOM_INNER == 12 + 9


def test_synthetic_face_follows_topology():
    _, face = synthetic_face(FaceSpec((128, 128)))
    p = face.keypoints
    assert p[0, 0] == p[kp.OUTER, 0].min()                     # k=0: left corner
    assert p[3, 1] == p[kp.OUTER, 1].min()                     # k=3: top middle
    assert p[6, 0] == p[kp.OUTER, 0].max()                     # k=6: right corner
    assert p[9, 1] == p[kp.OUTER, 1].max()                     # k=9: bottom middle
    assert p[1, 1] < p[24, 1] and p[11, 1] > p[24, 1]          # upper lip first


# -- select_mouth_landmarks ---------------------------------------------------------------


def test_select_landmarks_on_a_lip_ring():
    points = _lip_ring()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(points))
    shuffled = points[order]
    idx = select_mouth_landmarks(shuffled)
    assert idx.shape == (25,) and idx.dtype == np.int64
    chosen = shuffled[idx]
    centre = np.array([100.0, 80.0])
    np.testing.assert_allclose(chosen[24], centre)
    np.testing.assert_allclose(chosen[0], centre + [-30, 0], atol=1e-9)
    np.testing.assert_allclose(chosen[3], centre + [0, -14], atol=1e-9)
    np.testing.assert_allclose(chosen[6], centre + [30, 0], atol=1e-9)
    np.testing.assert_allclose(chosen[9], centre + [0, 14], atol=1e-9)
    np.testing.assert_allclose(chosen[12 + 3], centre + [0, -5], atol=1e-9)
    dist = np.hypot(*(chosen - centre).T)
    assert (dist[kp.OUTER] > dist[kp.INNER]).all()
    # every outer/inner pair lies in the same 30-degree sector
    ang = np.degrees(np.arctan2(-(chosen[:, 1] - 80), -(chosen[:, 0] - 100))) % 360
    sector = np.round(ang[:24] / 30) % 12
    assert sector[:12].tolist() == list(range(12)) and sector[12:].tolist() == list(range(12))


def test_select_landmarks_follows_the_up_vector():
    points = _lip_ring(angle_deg=90.0)                         # head points left
    idx = select_mouth_landmarks(points, up=np.array([-1.0, 0.0]))
    chosen = points[idx]
    np.testing.assert_allclose(chosen[3], [100 - 14, 80], atol=1e-9)    # top middle is leftmost
    np.testing.assert_allclose(chosen[0], [100, 80 + 30], atol=1e-9)    # left corner is at the bottom


def test_select_landmarks_with_empty_sectors_still_returns_25():
    t = np.radians(np.arange(25) * 5.0)                        # all points within 120 degrees
    points = np.stack([np.cos(t), np.sin(t)], 1) * 10
    idx = select_mouth_landmarks(points)
    assert idx.shape == (25,) and (idx >= 0).all() and (idx < 25).all()


@pytest.mark.parametrize("points, words", [
    (np.zeros((24, 2)), "N >= 25"),
    (np.zeros((30, 3)), "(N, 2)"),
    (np.full((30, 2), np.nan), "NaN"),
])
def test_select_landmarks_bad_input(points, words):
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        select_mouth_landmarks(points)


def test_select_landmarks_bad_up():
    with pytest.raises(InputError, match="up"):
        select_mouth_landmarks(_lip_ring(), up=np.zeros(2))


# -- geometry -------------------------------------------------------------------------


@pytest.mark.parametrize("angle, up", [(0, (0, -1)), (90, (-1, 0)), (180, (0, 1)), (270, (1, 0))])
def test_up_vector_and_angle_of_rotated_faces(angle, up):
    _, face = synthetic_face(FaceSpec((128, 128), angle=angle))
    np.testing.assert_allclose(mouth_up_vector(face.keypoints), up, atol=1e-5)
    expected = {0: 0.0, 90: 90.0, 180: 180.0, 270: -90.0}[angle]
    assert face_angle(face.keypoints) == pytest.approx(expected, abs=1e-3)


def test_up_vector_survives_wide_open_mouth_and_tilt():
    _, face = synthetic_face(FaceSpec((128, 128), angle=25.0, mouth_open=1.0))
    assert face_angle(face.keypoints) == pytest.approx(25.0, abs=1e-3)
    assert np.linalg.norm(mouth_up_vector(face.keypoints)) == pytest.approx(1.0)


def test_mouth_opening():
    # synthetic inner opening: half-height 0.055 * mouth_open * size
    _, face = synthetic_face(FaceSpec((128, 128), size=256, mouth_open=0.5))
    assert mouth_opening(face.keypoints) == pytest.approx(2 * 0.055 * 0.5 * 256, abs=1e-3)


def test_face_box_from_keypoints_contains_mouth_in_lower_part():
    _, face = synthetic_face(FaceSpec((128, 128)))
    x0, y0, x1, y1 = face_box_from_keypoints(face.keypoints, (256, 256, 3))
    p = face.keypoints
    assert x0 < p[:, 0].min() and x1 > p[:, 0].max() and y0 < p[:, 1].min() and y1 > p[:, 1].max()
    assert (p[24, 1] - y0) / (y1 - y0) > 0.6                   # mouth in the lower part
    assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256


def test_face_box_from_keypoints_of_rotated_face_is_clipped():
    _, face = synthetic_face(FaceSpec((128, 128), angle=90))
    x0, y0, x1, y1 = face_box_from_keypoints(face.keypoints, (256, 256))
    assert (x0 + x1) / 2 < face.keypoints[24, 0]              # face extends towards the head (left)
    assert x0 >= 0 and x1 <= 256


def test_face_box_outside_image_raises():
    _, face = synthetic_face(FaceSpec((128, 128)))
    with pytest.raises(InputError, match="outside"):
        face_box_from_keypoints(face.keypoints + 5000, (256, 256))


# -- Face --------------------------------------------------------------------------------------


def test_face_defaults_and_validation():
    face = Face(np.zeros((25, 2)), None, (0, 0, 10, 20))
    assert face.keypoints.dtype == np.float32 and face.visible.all() and face.size == 20
    assert Face(None, None, (1, 2, 3, 4)).keypoints is None
    with pytest.raises(InputError, match=r"\(25, 2\)"):
        Face(np.zeros((24, 2)), None, (0, 0, 1, 1))
    with pytest.raises(InputError, match="visible"):
        Face(np.zeros((25, 2)), np.ones(25, np.int8), (0, 0, 1, 1))
    with pytest.raises(InputError, match="x0 < x1"):
        Face(None, None, (5, 0, 1, 1))


# -- KeypointTrack ---------------------------------------------------------------------------------


def _track(n_frames=4, n_chars=2):
    _, face = synthetic_face(FaceSpec((128, 128)))
    points = np.broadcast_to(face.keypoints, (n_frames, n_chars, 25, 2)).copy()
    visible = np.ones((n_frames, n_chars, 25), bool)
    visible[1, 1] = False                                      # character 1 hidden on frame index 1
    visible[2, 0, :13] = False                                 # 12 visible: not enough
    boxes = np.broadcast_to(np.float32(face.box), (n_frames, n_chars, 4)).copy()
    return KeypointTrack(points, visible, boxes, np.arange(10, 10 + n_frames))


def test_track_save_load_roundtrip(tmp_path):
    track = _track()
    path = tmp_path / "track.npz"
    track.save(path)
    loaded = KeypointTrack.load(path)
    for name in ("points", "visible", "boxes", "frames"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(track, name))
    assert loaded.points.dtype == np.float32 and loaded.frames.dtype == np.int64
    assert loaded.n_frames == 4 and loaded.n_characters == 2


def test_track_invisible_nan_points_are_allowed(tmp_path):
    track = _track()
    points = track.points.copy()
    points[0, 0, :5] = np.nan
    visible = track.visible.copy()
    visible[0, 0, :5] = False
    cleaned = KeypointTrack(points, visible, track.boxes, track.frames)
    assert np.isfinite(cleaned.points).all() and len(cleaned.faces(0)) == 2
    visible[0, 0, 0] = True
    with pytest.raises(InputError, match="NaN"):
        KeypointTrack(points, visible, track.boxes, track.frames)
    with pytest.raises(InputError, match="cannot write"):
        track.save(tmp_path / "missing" / "track.npz")


def test_track_faces_only_visible_mouths():
    track = _track()
    assert len(track.faces(0)) == 2
    assert len(track.faces(1)) == 1
    assert len(track.faces(2)) == 1                            # 12 of 25 visible is not enough
    assert track.mouth_visible(1).tolist() == [True, False]
    assert track.index_of(11) == 1 and track.index_of(99) is None
    with pytest.raises(InputError, match="outside"):
        track.faces(4)


@pytest.mark.parametrize("change, words", [
    (dict(points=np.zeros((4, 2, 24, 2))), "points"),
    (dict(visible=np.ones((4, 2, 25), np.uint8)), "visible"),
    (dict(boxes=np.zeros((4, 2, 5))), "boxes"),
    (dict(frames=np.arange(3)), "frames"),
    (dict(frames=np.array([3, 2, 1, 0])), "increasing"),
    (dict(frames=np.arange(4.0)), "integers"),
])
def test_track_validation(change, words):
    track = _track()
    arrays = dict(points=track.points, visible=track.visible, boxes=track.boxes, frames=track.frames)
    arrays.update(change)
    with pytest.raises(InputError, match=words):
        KeypointTrack(**arrays)


def test_track_load_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        KeypointTrack.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "partial.npz", points=np.zeros((1, 1, 25, 2)))
    with pytest.raises(InputError, match="lacks"):
        KeypointTrack.load(tmp_path / "partial.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read"):
        KeypointTrack.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "pickled.npz", points=np.array([object()]), visible=np.zeros(1), boxes=np.zeros(1),
             frames=np.zeros(1))
    with pytest.raises(InputError):
        KeypointTrack.load(tmp_path / "pickled.npz")


def test_keypoint_source_protocol():
    class Fixed:
        def track(self) -> KeypointTrack:
            return _track()

    source: kp.KeypointSource = Fixed()
    assert source.track().n_frames == 4


# -- draw_keypoints ---------------------------------------------------------------------------------


def test_draw_keypoints_copies_and_draws():
    image, face = synthetic_face(FaceSpec((128, 128)))
    original = image.copy()
    out = draw_keypoints(image, [face])
    assert out.dtype == np.uint8 and out.shape == image.shape
    np.testing.assert_array_equal(image, original)
    changed = (out != image).any(axis=2)
    x, y = np.round(face.keypoints[3]).astype(int)
    assert changed[y - 1:y + 2, x - 1:x + 2].any()
    assert not changed[128, 20:30].any()                        # outside box and mouth
    np.testing.assert_array_equal(draw_keypoints(image, []), image)


def test_draw_keypoints_bad_frame():
    with pytest.raises(InputError, match="uint8"):
        draw_keypoints(np.zeros((4, 4, 3), np.float32), [])


def test_contour_heights_follow_the_opening_whichever_lip_a_landmark_is_on():
    """A mouth 40 px wide whose inner contour opens 0..16 px, tilted 30 degrees: the
    inner height is the opening over the width, the outer one adds both lips (12 px).
    With the top inner landmark picked on the lower lip (as the factory does when a shot
    starts with the mouth closed) it still follows the opening, where the top-to-bottom
    landmark distance would not."""
    from lipsync.core.evaluate.metrics import correlation
    from lipsync.core.preprocess.keypoints import (BOTTOM_INNER, CENTRE, INNER, OUTER,
                                                   TOP_INNER, contour_heights)

    gaps = np.array([0.0, 4.0, 10.0, 6.0, 16.0])
    angles = np.radians(np.arange(12) * 30.0)
    tilt = np.radians(30.0)
    rotate = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    points = np.zeros((len(gaps), 25, 2))
    for f, gap in enumerate(gaps):
        # corners (angles 0 and 180 degrees) at x = -20 and +20
        points[f, OUTER] = np.stack([-20 * np.cos(angles), -(gap / 2 + 6) * np.sin(angles)], 1)
        points[f, INNER] = np.stack([-16 * np.cos(angles), -(gap / 2) * np.sin(angles)], 1)
    points[:, CENTRE] = 0
    tilted = points @ rotate.T + 100
    assert np.allclose(contour_heights(tilted, INNER), gaps / 40)
    assert np.allclose(contour_heights(tilted), (gaps + 12) / 40)
    tilted[:, TOP_INNER] = tilted[:, BOTTOM_INNER] + 0.5     # top landmark on the lower lip
    assert correlation(contour_heights(tilted, INNER), gaps) > 0.99
    assert np.ptp(np.linalg.norm(tilted[:, TOP_INNER] - tilted[:, BOTTOM_INNER], axis=1)) == 0
