"""Reproducible speech: the same arguments give the same samples, whatever was spoken before."""

from __future__ import annotations

import numpy as np
import pytest

from lipsync.core.speech import SpeechError, is_available, synthesize, synthesize_isolated

pytestmark = pytest.mark.skipif(not is_available(), reason="espeak-ng is not installed")
TEXT = "The quick brown fox jumps over the lazy dog."


def test_same_arguments_same_samples_after_other_speech():
    first = synthesize_isolated(TEXT, voice="en-us", rate_wpm=170, pitch=40)
    synthesize("Etwas ganz anderes, vorher gesprochen.", voice="de")  # state in this process
    second = synthesize_isolated(TEXT, voice="en-us", rate_wpm=170, pitch=40)
    np.testing.assert_array_equal(first.samples, second.samples)
    assert first.phonemes == second.phonemes
    assert first.sample_rate == 16000 and first.samples.dtype == np.float32
    assert first.phonemes[-1].end_s == pytest.approx(first.duration_s, abs=1e-3)


def test_errors_come_back_as_speech_errors():
    with pytest.raises(SpeechError, match="no voice"):
        synthesize_isolated(TEXT, voice="xx-nonexistent")
