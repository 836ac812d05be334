"""Tests of core/audio/features.py: log-mel, MFCC and the networks' windows."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.fft

from lipsync.core.audio.features import (features_for_frames, frame_windows, group_window,
                                         mel_spectrogram, mfcc)
from lipsync.core.audio.frontend import FRONT_END
from lipsync.core.audio.timing import AudioTiming
from lipsync.core.errors import AudioError

FPS_ALL = (24000 / 1001, 24, 25, 30000 / 1001, 30, 50, 60)
CLICK_FRAMES = (3, 17, 40, 71)
SILENCE_C0 = -100 * np.sqrt(40)  # c0 of digital silence (see test_silence_reference)


@pytest.fixture(scope="session", autouse=True)
def warm_librosa():
    """Import librosa and run one MFCC so its one-off start-up cost is paid once."""
    mfcc(np.zeros(1600, np.float32), FRONT_END)


def _events(timing: AudioTiming, n_frames: int, kind: str) -> np.ndarray:
    """Silence with an event starting at the first sample of each of CLICK_FRAMES."""
    y = np.zeros(timing.n_samples_for(n_frames), np.float32)
    rng = np.random.default_rng(0)
    burst = (0.3 * rng.standard_normal(int(0.06 * timing.sample_rate))).astype(np.float32)  # 60 ms
    for i in CLICK_FRAMES:
        s = timing.n_samples_for(i)  # start of frame i, to the nearest sample
        if kind == "click":
            y[s] = 0.9
        else:
            y[s : s + len(burst)] = burst
    return y


# -- smoke, shapes, dtypes ---------------------------------------------------


@pytest.mark.parametrize("n", [1, 100, 511, 512, 1600, 16001])
def test_shapes_and_dtypes(n):
    t = AudioTiming(fps=25)
    y = np.random.default_rng(1).uniform(-0.5, 0.5, n).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # short clips must not trigger librosa's n_fft warning
        m = mfcc(y, t.front_end)
        mel = mel_spectrogram(y, t.front_end)
    assert m.shape == (13, 1 + n // 160) and m.dtype == np.float32
    assert mel.shape == (40, 1 + n // 160) and mel.dtype == np.float32
    assert np.all(np.isfinite(m)) and mel.min() >= -100.0


def test_short_clip_padding_does_not_change_frames():
    t = AudioTiming(fps=25)
    y = np.random.default_rng(2).uniform(-0.5, 0.5, 2000).astype(np.float32)
    np.testing.assert_allclose(mfcc(y[:300], t.front_end), mfcc(y[:300], t.front_end))
    # the first frames of a clip only see its first samples (zero centre padding)
    np.testing.assert_allclose(mfcc(y[:300], t.front_end)[:, :1], mfcc(y, t.front_end)[:, :1], atol=1e-3)


def test_float64_input():
    t = AudioTiming(fps=25)
    y = np.random.default_rng(3).uniform(-0.5, 0.5, 1600)
    np.testing.assert_allclose(mfcc(y, t.front_end), mfcc(y.astype(np.float32), t.front_end), atol=1e-3)


@pytest.mark.parametrize(
    "samples, message",
    [
        (np.zeros((2, 100), np.float32), r"shape \(N,\), got shape \(2, 100\)"),
        (np.zeros(100, np.int16), "dtype int16"),
        (np.zeros(0, np.float32), "samples are empty"),
        (np.array([0.0, np.nan], np.float32), "NaN or infinite"),
    ],
)
def test_bad_samples(samples, message):
    t = AudioTiming(fps=25)
    with pytest.raises(AudioError, match=message):
        mfcc(samples, t.front_end)
    with pytest.raises(AudioError, match=message):
        features_for_frames(samples, t, 4)


def test_frame_windows_bad_input():
    t = AudioTiming(fps=25)
    with pytest.raises(AudioError, match=r"shape \(C, T\)"):
        frame_windows(np.zeros(10, np.float32), t, 3)
    with pytest.raises(AudioError, match=r"shape \(C, T\)"):
        frame_windows(np.zeros((13, 0), np.float32), t, 3)
    with pytest.raises(AudioError, match="n_video_frames=-1"):
        frame_windows(np.zeros((13, 5), np.float32), t, -1)
    with pytest.raises(AudioError, match="n_video_frames=0"):
        features_for_frames(np.zeros(100, np.float32), t, 0)


def test_no_librosa_at_import():
    code = "import sys, lipsync.core.audio; assert 'librosa' not in sys.modules, 'librosa imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- reference values ----------------------------------------------------------


def test_silence_reference():
    # power floor amin=1e-10 -> -100 dB in every band; the orthonormal DCT-II of a
    # constant vector c of length N is c*sqrt(N) in coefficient 0 and 0 elsewhere.
    t = AudioTiming(fps=25)
    m = mfcc(np.zeros(1600, np.float32), t.front_end)
    np.testing.assert_allclose(m[0], -100 * np.sqrt(40), rtol=1e-6)
    np.testing.assert_allclose(m[1:], 0, atol=1e-3)


def test_mfcc_is_scipy_dct_of_log_mel():
    # reference: scipy.fft.dct(type=2, norm="ortho"), as in librosa.feature.mfcc(S=...)
    t = AudioTiming(fps=25)
    y = np.random.default_rng(4).uniform(-0.5, 0.5, 4000).astype(np.float32)
    expected = scipy.fft.dct(mel_spectrogram(y, t.front_end).astype(np.float64), type=2, norm="ortho", axis=0)[:13]
    np.testing.assert_allclose(mfcc(y, t.front_end), expected, rtol=1e-4, atol=1e-3)


def test_librosa_centre_convention():
    # librosa.stft docs: with center=True, frame t is centred at y[t * hop_length].
    # An impulse at sample j*hop therefore peaks in column j (and 1 + N // hop columns).
    t = AudioTiming(fps=25)
    for j in (0, 1, 7, 50, 99):
        y = np.zeros(16000, np.float32)
        y[j * 160] = 1.0
        m = mfcc(y, t.front_end)
        assert m.shape[1] == 101
        assert int(np.argmax(m[0])) == j


def test_features_are_local():
    # no clip-wide top_db clipping: a loud burst 1 s away leaves quiet frames unchanged
    t = AudioTiming(fps=25)
    rng = np.random.default_rng(5)
    quiet = (1e-4 * rng.standard_normal(32000)).astype(np.float32)
    loud = quiet.copy()
    loud[24000:26000] = 0.9
    np.testing.assert_allclose(mfcc(quiet, t.front_end)[:, :100], mfcc(loud, t.front_end)[:, :100], atol=1e-3)


# -- sync: events at the start of video frames at every frame rate ------------


@pytest.mark.parametrize("fps", FPS_ALL)
def test_click_peaks_at_feature_index(fps):
    t = AudioTiming(fps=fps)
    c0 = mfcc(_events(t, 80, "click"), t.front_end)[0]  # (T,)
    for i in CLICK_FRAMES:
        fi = t.feature_index(i)
        peak = fi - 3 + int(np.argmax(c0[fi - 3 : fi + 4]))
        assert abs(peak - fi) <= 1, f"fps={fps} frame {i}: c0 peak at {peak}, expected {fi}"


@pytest.mark.parametrize("fps", FPS_ALL)
def test_burst_onset_at_feature_index(fps):
    # onset = first MFCC frame whose mean log-mel level (c0 / sqrt(n_mels)) is within
    # 3 dB of the burst's steady level: the frame whose window covers half its energy.
    t = AudioTiming(fps=fps)
    c0 = mfcc(_events(t, 80, "burst"), t.front_end)[0] / np.sqrt(t.front_end.n_mels)  # (T,) mean dB
    for i in CLICK_FRAMES:
        fi = t.feature_index(i)
        steady = float(np.median(c0[fi + 2 : fi + 5]))
        assert c0[fi - 3] < steady - 40  # silence before the burst
        onset = fi - 3 + int(np.argmax(c0[fi - 3 : fi + 3] >= steady - 3.0))
        assert abs(onset - fi) <= 1, f"fps={fps} frame {i}: onset at {onset}, expected {fi}"


@pytest.mark.parametrize("fps", FPS_ALL)
def test_windows_centred_on_frame(fps):
    t = AudioTiming(fps=fps)
    n = 80
    w = features_for_frames(_events(t, n, "click"), t, n)
    assert w.shape == (n, 13, 20) and w.dtype == np.float32
    for i in CLICK_FRAMES:
        # the click starts frame i, half a video frame before the centre of frame i's
        # window (column 10)
        pos = int(np.argmax(w[i, 0]))
        assert abs(pos - (10 - t.features_per_video_frame / 2)) <= 1
    for k in range(n):
        # a window hears a click inside its 0.2 s, and silence when none is near (the
        # analysis windows overlap a few columns)
        at = [t.feature_index(i) - t.group_columns(k - 2)[0] for i in CLICK_FRAMES]
        if any(1 <= a <= 18 for a in at):
            assert w[k, 0].max() > SILENCE_C0 + 10, f"frame {k} misses a click"
        elif all(a < -2 or a > 21 for a in at):
            assert w[k, 0].max() < SILENCE_C0 + 1, f"frame {k} hears a click"


def test_group_window_is_the_networks_window():
    t = AudioTiming(fps=25)
    feats = np.arange(2 * 30, dtype=np.float32).reshape(2, 30)  # (C=2, T=30)
    np.testing.assert_array_equal(group_window(feats, t, 0), feats[:, :20])  # centre 0.1 s
    np.testing.assert_array_equal(group_window(feats, t, 1), feats[:, 4:24])  # centre 0.14 s
    with pytest.raises(AudioError, match=r"shape \(C, T\)"):
        group_window(np.zeros(10, np.float32), t, 0)


def test_frame_windows_edge_padding():
    t = AudioTiming(fps=25)
    feats = np.arange(2 * 30, dtype=np.float32).reshape(2, 30)  # (C=2, T=30)
    w = frame_windows(feats, t, 8)
    assert w.shape == (8, 2, 20) and w.dtype == np.float32
    # frame 0's window is centred on 0.02 s (column 2): it starts 8 columns before the audio
    np.testing.assert_array_equal(w[0, :, :8], np.repeat(feats[:, :1], 8, axis=1))
    np.testing.assert_array_equal(w[0, :, 8:], feats[:, :12])
    # frame 7's window (centre column 30) runs to column 39, past T=30: last column repeated
    np.testing.assert_array_equal(w[7, :, :], feats[:, np.minimum(np.arange(20, 40), 29)])
    for i in range(8):
        np.testing.assert_array_equal(w[i], group_window(feats, t, i - 2))
    assert frame_windows(feats, t, 0).shape == (0, 2, 20)


def test_features_for_frames_pads_short_audio():
    t = AudioTiming(fps=24)
    y = np.full(t.n_samples_for(10), 0.2, np.float32)
    w = features_for_frames(y, t, 20)  # audio covers only 10 of the 20 frames
    assert w.shape == (20, 13, 20)
    assert w[19, 0].max() < SILENCE_C0 + 1  # frames after the audio see silence, not the last sound
