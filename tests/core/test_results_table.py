"""The README's results table, written from eval.json files (core/evaluate/table.py)."""

from __future__ import annotations

import json

import pytest

from lipsync.core.errors import InputError
from lipsync.core.evaluate.table import RESULTS_BEGIN, RESULTS_END, main, results_table


def _row(clips: int, ssim: float, offsets: list[int]) -> dict:
    return {"clips": clips, "lse_c": 0.5, "truth_lse_c": 0.6, "opening_corr": 0.8,
            "truth_opening_corr": 0.9, "psnr": 29.04, "ssim": ssim, "sharpness": 0.61,
            "motion": 0.7, "offsets": offsets}


def _eval(folder, size: int, ssim: float) -> None:
    folder.mkdir()
    still = dict(_row(2, float("nan"), [0, 0]), psnr=None, ssim=None, sharpness=None,
                 motion=None)
    result = {"data": {"frame_sizes": [[size, size]]},
              "scenarios": {"neutral": _row(2, ssim, [0, 1]), "still": still},
              "do_nothing": {"neutral": _row(2, 0.7, [0, 9]), "still": still}}
    (folder / "eval.json").write_text(json.dumps(result))


def test_rows_per_scenario_with_do_nothing_and_the_frame_size_of_later_runs(tmp_path):
    _eval(tmp_path / "a", 128, 0.864)
    _eval(tmp_path / "b", 512, 0.811)
    lines = results_table([tmp_path / "a", tmp_path / "b"]).splitlines()
    assert lines[2] == ("| neutral (mouth at rest) | 2 | 0.500 (0.600) | 2 of 2 | 0.800 (0.900) "
                        "| 29.0 | 0.864 | 0.61 | 0.70 |")
    assert lines[3].startswith("| neutral, do nothing | 2 | 0.500 | not all | 0.800 |")
    assert lines[4].startswith("| still (one frame held) |") and "n/a" in lines[4]
    assert lines[5].startswith("| 512 px, neutral (mouth at rest) |") and "0.811" in lines[5]
    assert len(lines) == 2 + 2 * 3                  # no "still, do nothing" row


def test_the_readme_block_is_replaced_and_nothing_else(tmp_path):
    _eval(tmp_path / "a", 128, 0.864)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{RESULTS_BEGIN}\nold table\n{RESULTS_END}\noutro\n")
    assert main([str(tmp_path / "a"), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(f"intro\n{RESULTS_BEGIN}\n| input |") and "old table" not in text
    assert text.endswith(f"|\n{RESULTS_END}\noutro\n") and "0.864" in text
    with pytest.raises(InputError, match="eval.json' is missing"):
        results_table([tmp_path / "none"])
    (tmp_path / "plain.md").write_text("no block\n")
    with pytest.raises(InputError, match="has no"):
        main([str(tmp_path / "a"), "--readme", str(tmp_path / "plain.md")])
