"""Tests of core/audio/timing.py and frontend.py: frame <-> sample <-> MFCC-column
conversions, and the audio front end they read."""

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from lipsync.core.audio.frontend import FRONT_END, AudioFrontEnd
from lipsync.core.audio.timing import AudioTiming
from lipsync.core.errors import AudioError, InputError

FPS_ALL = (24000 / 1001, 24, 25, 30000 / 1001, 30, 50, 60)


# -- smoke and validation ----------------------------------------------------


def test_smoke_defaults():
    t = AudioTiming(fps=25)
    f = t.front_end
    assert f is FRONT_END and (t.sample_rate, t.hop_length) == (16000, 160)
    assert (f.sample_rate, f.hop_length, f.win_length, f.n_fft) == (16000, 160, 400, 512)
    assert (f.n_mels, f.n_mfcc, f.group_frames, f.window_columns) == (40, 13, 5, 20)
    assert t.feature_rate == f.feature_rate == 100.0
    assert AudioFrontEnd(**f.to_dict()) == f


def test_frozen():
    t = AudioTiming(fps=25)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.fps = 30  # type: ignore[misc]
    assert t == AudioTiming(fps=25) and hash(t) == hash(AudioTiming(fps=25))


@pytest.mark.parametrize("fps", [0, -24, float("nan"), float("inf"), "24", None, True])
def test_bad_fps(fps):
    with pytest.raises(AudioError, match=r"fps=.*must be a finite number > 0"):
        AudioTiming(fps=fps)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sample_rate": 0}, r"sample_rate=0 must be an integer >= 1"),
        ({"hop_length": 1.5}, r"hop_length=1.5 must be an integer"),
        ({"group_frames": 0}, r"group_frames=0"),
        ({"window_columns": -1}, r"window_columns=-1"),
        ({"win_length": 600}, r"win_length=600 must be <= n_fft=512"),
        ({"n_mfcc": 41}, r"n_mfcc=41 must be <= n_mels=40"),
    ],
)
def test_bad_fields(kwargs, message):
    with pytest.raises(AudioError, match=message):
        AudioFrontEnd(**kwargs)


def test_bad_front_end():
    with pytest.raises(AudioError, match="must be an AudioFrontEnd"):
        AudioTiming(fps=25, front_end={"sample_rate": 16000})


def test_error_is_input_error():
    assert issubclass(AudioError, InputError)


def test_bad_arguments():
    t = AudioTiming(fps=25)
    with pytest.raises(AudioError, match="n_frames=-1"):
        t.sample_range(0, -1)
    with pytest.raises(AudioError, match="first_frame=-3"):
        t.sample_range(-3, 1)
    with pytest.raises(AudioError, match="n_samples=-1"):
        t.n_video_frames_for(-1)


# -- Blender frame rates -----------------------------------------------------


@pytest.mark.parametrize(
    "fps, base, expected",
    [
        (24, 1.001, Fraction(24000, 1001)),
        (24, float(np.float32(1.001)), Fraction(24000, 1001)),  # Blender stores a float32
        (30, 1.001, Fraction(30000, 1001)),
        (60, 1.001, Fraction(60000, 1001)),
        (25, 1.0, Fraction(25)),
        (50, 2.0, Fraction(25)),
    ],
)
def test_from_blender_fps(fps, base, expected):
    t = AudioTiming.from_blender_fps(fps, base)
    assert t.fps_fraction == expected
    assert t.fps == pytest.approx(float(expected), rel=1e-12)


def test_from_blender_fps_front_end_and_errors():
    assert AudioTiming.from_blender_fps(25, 1.0, AudioFrontEnd(hop_length=200)).hop_length == 200
    with pytest.raises(AudioError, match="fps=0"):
        AudioTiming.from_blender_fps(0, 1.0)
    with pytest.raises(AudioError, match="fps_base=0"):
        AudioTiming.from_blender_fps(24, 0.0)


# -- reference values (worked by hand from sr=16000, hop=160) ------------------


@pytest.mark.parametrize(
    "fps, spf",
    [
        # samples per video frame = 16000 / fps
        (24000 / 1001, 16016 / 24),  # 667.33 samples, 6.67 features
        (24, 16000 / 24),
        (25, 640.0),
        (30000 / 1001, 16016 / 30),
        (30, 16000 / 30),
        (50, 320.0),
        (60, 16000 / 60),
    ],
)
def test_reference_rates(fps, spf):
    t = AudioTiming(fps=fps)
    assert t.samples_per_video_frame == pytest.approx(spf, rel=1e-12)
    assert t.features_per_video_frame == pytest.approx(spf / 160, rel=1e-12)


def test_reference_indices():
    t24 = AudioTiming(fps=24)
    # frame 3 starts at 0.125 s = 12.5 hops: rounds half up to 13
    assert t24.feature_index(3) == 13
    assert t24.feature_index(0) == 0
    assert t24.feature_index(-2) == -8  # -8.33 -> -8
    assert t24.video_frame_time(3) == 0.125
    t25 = AudioTiming(fps=25)
    assert t25.feature_index(10) == 40
    assert t25.sample_range(10, 5) == (6400, 9600)
    # 29.97: frame 1 starts at sample 533.87 -> 534; frame 3 at 1601.6 -> 1602
    t2997 = AudioTiming(fps=30000 / 1001)
    assert t2997.sample_range(1, 2) == (534, 1602)
    assert t2997.video_frame_time(30000) == pytest.approx(1001.0, abs=1e-9)


@pytest.mark.parametrize("fps", FPS_ALL)
def test_group_columns_are_centred_on_the_group(fps):
    """The networks' window: 20 columns (0.2 s) centred on the middle of the group's 5
    frames, whatever the fps (the centre rounded to the nearest column)."""
    t = AudioTiming(fps=fps)
    for first in (-2, 0, 7, 123):
        cols = t.group_columns(first)
        assert cols.dtype == np.int64 and cols.shape == (20,)
        np.testing.assert_array_equal(np.diff(cols), 1)
        centre = (first + 2.5) / fps * t.feature_rate          # in columns
        assert abs(cols[10] - centre) <= 0.5 + 1e-9


def test_group_columns_reference_values():
    # 25 fps: frames 10..14 are 0.4-0.6 s, centre 0.5 s = column 50 -> columns 40..59
    assert AudioTiming(fps=25).group_columns(10).tolist() == list(range(40, 60))
    # 24 fps: frames 0..4, centre 2.5 / 24 s = column 10.42 -> 10 -> columns 0..19
    assert AudioTiming(fps=24).group_columns(0).tolist() == list(range(0, 20))
    # a front end with 4-frame groups of 8 columns: centre (3 + 2) / 25 s = column 20
    t = AudioTiming(fps=25, front_end=AudioFrontEnd(group_frames=4, window_columns=8))
    assert t.group_columns(3).tolist() == list(range(16, 24))


# -- consistency over long shots at every frame rate --------------------------


@pytest.mark.parametrize("fps", FPS_ALL)
def test_long_shot_round_trips(fps):
    t = AudioTiming(fps=fps)
    exact_spf = Fraction(t.sample_rate) / t.fps_fraction
    n_max = 10_000
    starts = [t.sample_range(i, 1) for i in range(n_max)]
    # consecutive frames tile the samples: no gap, no overlap
    for (a0, a1), (b0, _) in zip(starts, starts[1:]):
        assert a1 == b0
    for n in range(0, n_max + 1):
        s = t.n_samples_for(n)
        assert abs(Fraction(s) - n * exact_spf) <= Fraction(1, 2)  # no drift beyond rounding
        assert t.n_video_frames_for(s) == n
        if n:
            assert t.n_video_frames_for(s - 1) == n - 1
    assert t.sample_range(1234, 5678) == (t.n_samples_for(1234), t.n_samples_for(1234 + 5678))
    # against plain float arithmetic: within one sample after 10,000 frames
    assert abs(t.n_samples_for(n_max) - n_max * t.sample_rate / fps) <= 1.0


@pytest.mark.parametrize("fps", FPS_ALL)
def test_feature_indices_match_scalar(fps):
    t = AudioTiming(fps=fps)
    frames = np.arange(-10, 10_000)
    vec = t.feature_indices(frames)
    assert vec.dtype == np.int64
    assert vec.tolist() == [t.feature_index(int(i)) for i in frames]
    # nearest MFCC centre: |centre time - frame start| <= half a hop
    err = vec / t.feature_rate - frames / fps
    assert np.all(np.abs(err) <= 0.5 / t.feature_rate + 1e-9)
