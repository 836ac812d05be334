"""The viseme reader (core/models/visemes.py, models/visemes.safetensors): speech -> the
seven viseme weights per video frame, on voices it never learnt from."""

from __future__ import annotations

import numpy as np
import pytest

from lipsync.core.audio import AudioTiming
from lipsync.core.errors import InputError
from lipsync.core.mesh.viseme_names import OPENNESS, VISEMES
from lipsync.core.models import shipped
from lipsync.core.models.visemes import load_reader, read_visemes
from lipsync.core.speech.script import Line, speak_script
from lipsync.core.speech.sentences import HELD_OUT_VOICES

OPEN = np.array([OPENNESS[v] for v in VISEMES])


@pytest.fixture(scope="module")
def reader():
    return load_reader(shipped("visemes"))


@pytest.fixture(scope="module")
def held_out_speech():
    """Two sentences by held-out voices (never in the reader's training), at 25 frames/s."""
    timing = AudioTiming(fps=25)
    lines = [Line("Please bring the map of the old harbour to the meeting.",
                  HELD_OUT_VOICES["en"][0], 165, 60),
             Line("Wir fahren morgen mit dem Zug nach Berlin.", HELD_OUT_VOICES["de"][0], 150,
                  40)]
    return speak_script(lines, timing), timing


def test_the_reader_reads_a_held_out_voice_as_the_rig_would_move(reader, held_out_speech):
    spoken, timing = held_out_speech
    weights = read_visemes(reader, spoken.samples, timing, spoken.n_frames)
    assert weights.shape == (spoken.n_frames, len(VISEMES)) and weights.dtype == np.float32
    assert np.allclose(weights.sum(1), 1, atol=1e-4) and weights.min() >= 0
    opening = np.corrcoef(weights @ OPEN, spoken.visemes @ OPEN)[0, 1]
    assert opening > 0.9
    talking = spoken.visemes[:, 0] < 0.5
    same = weights.argmax(1) == spoken.visemes.argmax(1)
    assert same[talking].mean() > 0.7                    # the strongest shape, while talking
    assert np.abs(weights - spoken.visemes).mean() < 0.05


def test_the_reading_ignores_loudness_and_follows_the_frame_rate(reader, held_out_speech):
    spoken, timing = held_out_speech
    weights = read_visemes(reader, spoken.samples, timing, spoken.n_frames)
    quiet = read_visemes(reader, spoken.samples * 0.2, timing, spoken.n_frames)
    assert np.abs(quiet - weights).mean() < 0.02
    fast = AudioTiming(fps=50)
    double = read_visemes(reader, spoken.samples, fast, 2 * spoken.n_frames)
    assert np.abs(double[::2] - weights).max() < 1e-5    # the same columns, twice as many
    longer = read_visemes(reader, spoken.samples, timing, spoken.n_frames + 10)
    assert np.allclose(longer[:spoken.n_frames], weights)
    assert np.array_equal(longer[-1], longer[spoken.n_frames])   # past the audio: its end


def test_a_file_of_another_network_is_refused():
    with pytest.raises(InputError, match="holds a 'sync' model"):
        load_reader(shipped("sync"))
