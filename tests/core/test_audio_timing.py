"""Tests of core/audio/timing.py: frame <-> sample <-> MFCC-frame conversions."""

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from lipsync.core.audio.timing import AudioTiming
from lipsync.core.errors import AudioError, InputError

FPS_ALL = (24000 / 1001, 24, 25, 30000 / 1001, 30, 50, 60)


# -- smoke and validation ----------------------------------------------------


def test_smoke_defaults():
    t = AudioTiming(fps=25)
    assert (t.sample_rate, t.hop_length, t.win_length, t.n_fft) == (16000, 160, 400, 512)
    assert (t.n_mels, t.n_mfcc, t.window_video_frames) == (40, 13, 5)
    assert t.feature_rate == 100.0


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
        ({"window_video_frames": 0}, r"window_video_frames=0"),
        ({"win_length": 600}, r"win_length=600 must be <= n_fft=512"),
        ({"n_mfcc": 41}, r"n_mfcc=41 must be <= n_mels=40"),
    ],
)
def test_bad_fields(kwargs, message):
    with pytest.raises(AudioError, match=message):
        AudioTiming(fps=25, **kwargs)


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
    with pytest.raises(AudioError, match="n_video_frames=-1"):
        t.window_feature_indices(-1)


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


def test_from_blender_fps_kwargs_and_errors():
    assert AudioTiming.from_blender_fps(25, 1.0, hop_length=200).hop_length == 200
    with pytest.raises(AudioError, match="fps=0"):
        AudioTiming.from_blender_fps(0, 1.0)
    with pytest.raises(AudioError, match="fps_base=0"):
        AudioTiming.from_blender_fps(24, 0.0)


# -- reference values (worked by hand from sr=16000, hop=160) ------------------


@pytest.mark.parametrize(
    "fps, spf, window",
    [
        # samples per video frame = 16000 / fps; window = round(5 * 100 / fps)
        (24000 / 1001, 16016 / 24, 21),  # 667.33 samples, 20.85 features
        (24, 16000 / 24, 21),  # 20.83
        (25, 640.0, 20),  # 20.0, Wav2Lip's 0.2 s window (there 16 mel frames at 80/s)
        (30000 / 1001, 16016 / 30, 17),  # 16.68
        (30, 16000 / 30, 17),  # 16.67
        (50, 320.0, 10),
        (60, 16000 / 60, 8),  # 8.33
    ],
)
def test_reference_rates(fps, spf, window):
    t = AudioTiming(fps=fps)
    assert t.samples_per_video_frame == pytest.approx(spf, rel=1e-12)
    assert t.features_per_video_frame == pytest.approx(spf / 160, rel=1e-12)
    assert t.window_features == window
    assert t.window_offset_frames == 2


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


def test_window_feature_indices():
    t = AudioTiming(fps=30)
    idx = t.window_feature_indices(12)
    assert idx.shape == (12, 17) and idx.dtype == np.int64
    for i in range(12):
        assert idx[i, 0] == t.feature_index(i - 2)
        np.testing.assert_array_equal(np.diff(idx[i]), 1)
    assert t.window_feature_indices(0).shape == (0, 17)


def test_even_window_offset():
    t = AudioTiming(fps=25, window_video_frames=4)
    assert t.window_offset_frames == 2 and t.window_features == 16
    assert t.window_feature_indices(3)[2, 0] == t.feature_index(0)


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
