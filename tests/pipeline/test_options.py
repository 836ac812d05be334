"""Tests of core/pipeline/options.py: the job's options, checked once when made."""

from dataclasses import replace
from pathlib import Path

import pytest

from lipsync.core.errors import InputError
from lipsync.core.pipeline.options import LipSyncOptions
from lipsync.core.pipeline.run import PipelineOptions


@pytest.mark.parametrize("field, value, words", [
    ("quality", "best", "quality = 'best': use draft or final"),
    ("revoice", "yes", "revoice = 'yes': use auto, on or off"),
    ("device", "gpu", "device = 'gpu': use auto, cpu or cuda"),
    ("batch", 0, "batch = 0"),
    ("batch", 2.5, "batch = 2.5"),
    ("batch", True, "batch = True"),
])
def test_a_bad_value_is_an_input_error_naming_it(field, value, words):
    with pytest.raises(InputError, match=words):
        LipSyncOptions(**{field: value})
    with pytest.raises(InputError, match=words):
        replace(LipSyncOptions(), **{field: value})


def test_revoice_true_and_false_mean_on_and_off_and_models_empty_means_shipped():
    assert LipSyncOptions(revoice=True).revoice == "on"
    assert LipSyncOptions(revoice=False).revoice == "off"
    assert LipSyncOptions(models="").models is None
    assert LipSyncOptions(models="w").models == Path("w")


def test_quality_decides_refine_and_sharpen():
    final, draft = LipSyncOptions(), LipSyncOptions(quality="draft")
    assert (final.refine, final.sharpen, draft.refine, draft.sharpen) == (True, True, False, False)


@pytest.mark.parametrize("field", ["chunk", "io_threads"])
def test_pipeline_options_check_the_streaming(field):
    with pytest.raises(InputError, match=f"{field} = 0"):
        PipelineOptions(**{field: 0})
    assert PipelineOptions().job == LipSyncOptions()
