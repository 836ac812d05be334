"""Real faces (`core.locator.faces`, `core.locator.landmarks`) and honest failure, on real
photos under free licences that scikit-image ships (`skimage.data.astronaut`: NASA, public
domain; `skimage.data.coffee`: CC0) and frames made from them: a face, no face, two faces,
a face turned away, a tiny face, a painting-like filter, a still, a covered mouth; and the
pipeline on them with the shipped weights: nothing changes outside the face box, frames
without a mouth pass through and are listed with why."""

from __future__ import annotations

import json
import cv2
import numpy as np
import pytest

from lipsync.core.locator.landmarks import landmark_model_available

if not landmark_model_available():      # requirements.txt installs it; the add-on may not
    pytest.skip("the face landmark model (dlib-bin, face-recognition-models) is not "
                "installed", allow_module_level=True)
data = pytest.importorskip("skimage.data")

from lipsync.core.audio import FRONT_END  # noqa: E402
from lipsync.core.locator.faces import (NO_FACE, NO_REAL_FACE_NOTE, UNCLEAR_MOUTH,  # noqa: E402
                                        WEAK_FACE, locate_faces, locate_footage)
from lipsync.core.locator.landmarks import LandmarkModel  # noqa: E402
from lipsync.core.pipeline.character import SPEAKING_SPREAD, CharacterTrack  # noqa: E402
from lipsync.core.pipeline.damage import box_pixels  # noqa: E402
from lipsync.core.pipeline.models import LipSyncModels  # noqa: E402
from lipsync.core.pipeline.options import LipSyncOptions  # noqa: E402
from lipsync.core.pipeline.run import PipelineOptions, lipsync_frames  # noqa: E402
from lipsync.core.preprocess.keypoints import contour_heights  # noqa: E402
from real_photos import (ASTRONAUT_MOUTH, ASTRONAUT_MOUTH_WIDTH, ZOOMED_MOUTH,  # noqa: E402
                         covered, speech_like, write, zoomed)


@pytest.fixture(scope="module")
def model():
    return LandmarkModel.load()


@pytest.fixture(scope="module")
def face():
    return data.astronaut()                                   # (512, 512, 3) uint8 RGB


def test_a_face_gives_the_mouth_in_topology_order(model, face, tmp_path):
    shot = locate_faces(write(tmp_path, [face]), model)
    assert shot.track.visible.all() and shot.reasons == {} and shot.faces == 1
    p = shot.track.points[0, 0]
    width = np.linalg.norm(p[6] - p[0])
    assert np.linalg.norm(p[24] - ASTRONAUT_MOUTH) < 0.2 * ASTRONAUT_MOUTH_WIDTH
    assert abs(width / ASTRONAUT_MOUTH_WIDTH - 1) < 0.2
    assert p[0, 0] < p[24, 0] < p[6, 0] and p[3, 1] < p[24, 1] < p[9, 1]
    inner = np.linalg.norm(p[12:24] - p[24], axis=1)
    assert (inner <= np.linalg.norm(p[:12] - p[24], axis=1) + 1e-3).all()
    x0, y0, x1, y1 = shot.track.boxes[0, 0]
    assert x0 < p[:, 0].min() and p[:, 0].max() < x1 and y0 < p[:, 1].min() < p[:, 1].max() < y1
    assert shot.confidence[0] >= 0.4


@pytest.mark.parametrize("name", ["coffee", "turned away", "tiny"])
def test_frames_without_a_face_have_no_mouth_and_say_why(model, face, tmp_path, name):
    if name == "coffee":
        frame = data.coffee()
    elif name == "turned away":
        frame = np.rot90(face).copy()               # on its side: no upright face
    else:                                           # a 40 px face in a 512 px frame
        frame = np.full_like(face, 128)
        frame[200:280, 200:280] = cv2.resize(face, (80, 80), interpolation=cv2.INTER_AREA)
    shot = locate_faces(write(tmp_path, [frame] * 2), model)
    assert not shot.track.visible.any() and shot.faces == 0
    assert shot.reasons == {0: NO_FACE, 1: NO_FACE}


def test_no_real_face_on_any_frame_falls_back_to_the_parser(model, tmp_path):
    from lipsync.core.models import shipped
    from lipsync.core.models.parser import load_parser

    shot = locate_footage(write(tmp_path, [data.coffee()]), load_parser(shipped("parser")),
                          model=model)
    assert shot.source == "parser" and shot.notes == [NO_REAL_FACE_NOTE]


def test_the_locator_can_be_chosen(model, face, tmp_path):
    """parser: the face parser even on a real face (for rendered heads the landmark model
    takes for real ones); faces: the landmark model only, no parser fallback."""
    from lipsync.core.errors import InputError
    from lipsync.core.models import shipped
    from lipsync.core.models.parser import load_parser

    parser = load_parser(shipped("parser"))
    frames = write(tmp_path, [face])
    assert locate_footage(frames, parser, model=model).source == "landmarks"
    forced = locate_footage(frames, parser, model=model, locator="parser")
    assert forced.source == "parser" and "--locator parser" in forced.notes[0]
    only = locate_footage(write(tmp_path / "coffee", [data.coffee()]), parser, model=model,
                          locator="faces")
    assert only.source == "landmarks" and not only.track.visible.any()
    with pytest.raises(InputError, match="locator 'dlib'"):
        locate_footage(frames, parser, model=model, locator="dlib")


def test_two_faces_the_largest_is_followed(model, face, tmp_path):
    frame = np.hstack([face, zoomed(face)])         # the larger face on the right
    shot = locate_faces(write(tmp_path, [frame] * 3), model)
    assert shot.track.visible.all()
    centre = shot.track.points[:, 0, 24]
    assert np.allclose(centre, np.array(ZOOMED_MOUTH) + (512, 0), atol=16)
    assert any(note.startswith("2 faces on frame 0") for note in shot.notes)


def test_a_painting_like_filter_still_gives_the_mouth(model, face, tmp_path):
    painted = cv2.stylization(face, sigma_s=60, sigma_r=0.45)
    shot = locate_faces(write(tmp_path, [painted]), model)
    assert shot.track.visible.all()
    assert np.linalg.norm(shot.track.points[0, 0, 24] - ASTRONAUT_MOUTH) < 8


def test_a_covered_mouth_passes_through(model, face, tmp_path):
    """A large grey patch hides the face from the detector; a skin-coloured one over the
    lips alone leaves the face but not the mouth."""
    lips_only = covered(face, model, margin=0.0, colour=(200, 160, 140))
    frames = [face, covered(face, model), face, lips_only]
    shot = locate_faces(write(tmp_path, frames), model)
    assert shot.track.visible[:, 0].all(axis=1).tolist() == [True, False, True, False]
    assert shot.reasons[1] in (NO_FACE, WEAK_FACE, UNCLEAR_MOUTH)
    assert shot.reasons[3] == UNCLEAR_MOUTH and shot.confidence[3] < 0.4


def test_a_still_gives_identical_keypoints_and_is_not_speaking(model, face, tmp_path):
    shot = locate_faces(write(tmp_path, [face] * 6), model)
    points = shot.track.points[:, 0]
    assert shot.track.visible.all() and (points == points[0]).all()
    assert (shot.track.boxes == shot.track.boxes[0]).all()
    assert contour_heights(points).std() == 0 < SPEAKING_SPREAD


def test_the_pipeline_changes_nothing_outside_the_face_box(model, face, tmp_path):
    """Two faces, then a covered mouth, then no face: only the followed face's box changes;
    the other frames are copied and listed with why."""
    big = zoomed(face)
    frames = [np.hstack([face, big])] * 4 + [np.hstack([np.full_like(face, 128),
                                                       covered(big, model)])] + \
        [cv2.resize(data.coffee(), (1024, 512), interpolation=cv2.INTER_CUBIC)] * 2
    paths = write(tmp_path / "in", frames)
    shot = locate_faces(paths, model)
    audio = speech_like(len(frames) / 25.0)
    options = PipelineOptions(LipSyncOptions(device="cpu", batch=4), chunk=4)
    report = lipsync_frames(paths, [CharacterTrack("hero", shot.track, audio, shot.reasons)],
                            25.0, tmp_path / "out", options, models=LipSyncModels.load("cpu"),
                            notes=shot.notes)
    assert report.characters == {"hero": 4} and report.passed_through == [4, 5, 6]
    passed = report.by_character["hero"]["passed_through"]
    assert sorted(f for frames in passed.values() for f in frames) == [4, 5, 6]
    assert passed[NO_FACE] == [5, 6]
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["by_character"]["hero"]["changed"] == 4
    for i, path in enumerate(paths):
        before = cv2.imread(str(path))
        after = cv2.imread(str(tmp_path / "out" / path.name))
        changed = (before != after).any(axis=2)
        if i >= 4:
            assert not changed.any() and path.read_bytes() == (
                tmp_path / "out" / path.name).read_bytes()
            continue
        assert changed.any()
        x0, y0, x1, y1 = box_pixels(shot.track.boxes[i, 0], changed.shape)
        assert x0 >= 512                          # the larger face, on the right
        changed[y0:y1, x0:x1] = False
        assert not changed.any()


def test_sync_without_keypoints_lists_what_passed_through(face, tmp_path, capsys):
    """The command line on real photos: the face's frames are changed, the coffee's are
    copied, and both the report and the printout say so, with why."""
    import soundfile

    from lipsync.__main__ import main

    coffee = cv2.resize(data.coffee(), (512, 512), interpolation=cv2.INTER_AREA)
    big = zoomed(face)
    write(tmp_path / "frames", [big, big, big, coffee, coffee, big])
    soundfile.write(tmp_path / "speech.wav", speech_like(0.3), FRONT_END.sample_rate)
    out = tmp_path / "out"
    code = main(["sync", "--frames", str(tmp_path / "frames"), "--audio",
                 str(tmp_path / "speech.wav"), "--fps", "25", "--out", str(out),
                 "--device", "cpu"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["by_character"] == {"speech": {"changed": 4,
                                                 "passed_through": {NO_FACE: [3, 4]}}}
    assert f"passed through unchanged ({NO_FACE}): 2 frames (indices from 0: 3-4)" in \
        capsys.readouterr().out
