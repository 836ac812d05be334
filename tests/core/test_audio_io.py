"""Tests of core/audio/io.py: loading, saving, fitting to frames, silence."""

import os

import numpy as np
import pytest
import soundfile

from lipsync.core.audio.io import AudioFit, fit_to_frames, is_silent, load_audio, save_wav
from lipsync.core.audio.timing import AudioTiming
from lipsync.core.errors import AudioError


def _tone(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(samples: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / sr)[np.argmax(spectrum)])


# -- loading ----------------------------------------------------------------


def test_load_wav_int16_stereo_to_mono(tmp_path):
    left = _tone(440, 16000, 0.5, amp=0.5)
    right = np.zeros_like(left)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), 16000, subtype="PCM_16")
    y = load_audio(path)
    assert y.dtype == np.float32 and y.shape == (8000,)
    np.testing.assert_allclose(y, left / 2, atol=2 / 32768)  # mean of channels


def test_load_wav_float_mono(tmp_path):
    x = _tone(440, 16000, 0.25, amp=0.9)
    path = tmp_path / "float.wav"
    soundfile.write(path, x, 16000, subtype="FLOAT")
    y = load_audio(str(path))
    np.testing.assert_array_equal(y, x)  # float32 WAV at the target rate: bit exact


def test_load_clips_to_unit_range(tmp_path):
    path = tmp_path / "loud.wav"
    soundfile.write(path, np.array([0.0, 1.5, -2.0, 0.25], np.float32), 16000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path), [0.0, 1.0, -1.0, 0.25])


@pytest.mark.parametrize(
    "fmt, subtype, tol_samples",
    [("FLAC", "PCM_16", 0), ("OGG", "VORBIS", None), ("MP3", "MPEG_LAYER_III", None)],
)
def test_load_compressed(tmp_path, fmt, subtype, tol_samples):
    if fmt not in soundfile.available_formats() or subtype not in soundfile.available_subtypes(fmt):
        pytest.skip(f"this libsndfile ({soundfile.__libsndfile_version__}) cannot write {fmt}/{subtype}")
    x = _tone(440, 16000, 1.0, amp=0.5)
    path = tmp_path / f"tone.{fmt.lower()}"
    soundfile.write(path, x, 16000, format=fmt, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    if tol_samples == 0:
        np.testing.assert_allclose(y, x, atol=1 / 32768)  # FLAC is lossless
    else:
        assert abs(len(y) - len(x)) < 0.1 * len(x)  # lossy codecs add/drop a few ms
    assert abs(_peak_hz(y, 16000) - 440) <= 2


@pytest.mark.parametrize("file_rate", [44100, 48000])
def test_resample_keeps_pitch(tmp_path, file_rate):
    path = tmp_path / f"tone_{file_rate}.wav"
    soundfile.write(path, _tone(440, file_rate, 1.0), file_rate, subtype="FLOAT")
    y = load_audio(path, sample_rate=16000)
    assert y.dtype == np.float32
    assert abs(len(y) - 16000) <= 1
    assert abs(_peak_hz(y, 16000) - 440) <= 1  # 1 Hz bins for 1 s of audio
    assert np.abs(y).max() == pytest.approx(0.5, abs=0.02)


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match=r"not found: .*nope\.wav.*Check the path"):
        load_audio(path)


def test_load_corrupt_file(tmp_path):
    path = tmp_path / "text.wav"
    path.write_text("this is not audio\n" * 20)
    with pytest.raises(AudioError, match=r"Cannot read audio file .*text\.wav.*convert it to WAV"):
        load_audio(path)


def test_load_empty_audio(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav.*holds no samples"):
        load_audio(path)


@pytest.mark.parametrize("sr", [0, -16000, 16000.0, None])
def test_load_bad_sample_rate(tmp_path, sr):
    with pytest.raises(AudioError, match="sample_rate="):
        load_audio(tmp_path / "x.wav", sample_rate=sr)


# -- saving -----------------------------------------------------------------


def test_save_wav_round_trip_and_atomic(tmp_path):
    x = _tone(440, 16000, 0.5, amp=0.8)
    path = tmp_path / "out.wav"
    path.write_bytes(b"old contents")
    save_wav(path, x, 16000)
    info = soundfile.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    np.testing.assert_allclose(load_audio(path), x, atol=1 / 32767)
    assert os.listdir(tmp_path) == ["out.wav"]  # no temporary file left behind


def test_save_wav_errors(tmp_path):
    with pytest.raises(AudioError, match=r"folder .*missing.* does not exist"):
        save_wav(tmp_path / "missing" / "a.wav", np.zeros(10, np.float32), 16000)
    with pytest.raises(AudioError, match=r"shape \(N,\), got shape \(10, 2\)"):
        save_wav(tmp_path / "a.wav", np.zeros((10, 2), np.float32), 16000)
    with pytest.raises(AudioError, match="dtype int16"):
        save_wav(tmp_path / "a.wav", np.zeros(10, np.int16), 16000)
    assert os.listdir(tmp_path) == []


# -- fitting to frames and silence -----------------------------------------


@pytest.mark.parametrize("fps", [24000 / 1001, 25, 60])
def test_fit_to_frames(fps):
    t = AudioTiming(fps=fps)
    want = t.n_samples_for(48)
    short = np.ones(want - 100, np.float32)
    fitted, fit = fit_to_frames(short, t, 48)
    assert fitted.shape == (want,) and fitted.dtype == np.float32
    assert fit == AudioFit(padded=100, trimmed=0)
    assert np.all(fitted[-100:] == 0) and np.all(fitted[:-100] == 1)
    fitted, fit = fit_to_frames(np.ones(want + 7, np.float64), t, 48)
    assert fitted.shape == (want,) and fitted.dtype == np.float32
    assert fit == AudioFit(padded=0, trimmed=7)
    fitted, fit = fit_to_frames(np.ones(want, np.float32), t, 48)
    assert fit == AudioFit(padded=0, trimmed=0)
    assert fit_to_frames(short, t, 0)[0].shape == (0,)


def test_fit_to_frames_errors():
    t = AudioTiming(fps=25)
    with pytest.raises(AudioError, match="n_frames=-1"):
        fit_to_frames(np.zeros(10, np.float32), t, -1)
    with pytest.raises(AudioError, match="shape"):
        fit_to_frames(np.zeros((2, 10), np.float32), t, 1)


def test_is_silent():
    assert is_silent(np.zeros(1000, np.float32))
    assert is_silent(np.zeros(0, np.float32))
    # a sine of amplitude a has RMS a/sqrt(2): -70 dBFS and -40 dBFS tones
    a70 = np.sqrt(2) * 10 ** (-70 / 20)
    a40 = np.sqrt(2) * 10 ** (-40 / 20)
    assert is_silent(_tone(440, 16000, 0.1, amp=a70))
    assert not is_silent(_tone(440, 16000, 0.1, amp=a40))
    assert is_silent(_tone(440, 16000, 0.1, amp=a40), threshold_db=-30)
    with pytest.raises(AudioError, match="shape"):
        is_silent(np.zeros((3, 3), np.float32))
