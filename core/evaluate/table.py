"""The README's results table, written from the evaluations' eval.json files.

    python -m lipsync.core.evaluate.table build/eval build/eval_native [--readme README.md]

Each folder is one `lipsync eval` run; its rows are the shipped networks per scenario and
the "do nothing" rows (the input as the output), labelled with the frames' size when it is
not the first run's. With `--readme`, the table between the file's RESULTS_BEGIN and
RESULTS_END lines is replaced (written to a new file, then moved over it); else printed.
`make results` runs both evaluations and this.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..errors import InputError

RESULTS_BEGIN, RESULTS_END = "<!-- results: make results -->", "<!-- end of results -->"
SCENARIOS = {"neutral": "neutral (mouth at rest)", "dubbed": "dubbed (auto re-voiced)",
             "still": "still (one frame held)"}
HEADER = ("| input | clips | LSE-C (truth) | offset 0 +-1 | opening corr (truth) | PSNR dB "
          "| SSIM | sharpness | motion |\n|---|---|---|---|---|---|---|---|---|")


def _number(value, digits: int) -> str:
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"


def _row(label: str, row: dict, truth: bool) -> str:
    """One table row of a scenario's figures (`truth`: the truth's in brackets)."""
    lse = _number(row["lse_c"], 3) + (f" ({_number(row['truth_lse_c'], 3)})" if truth else "")
    opening = (_number(row["opening_corr"], 3)
               + (f" ({_number(row['truth_opening_corr'], 3)})" if truth else ""))
    in_sync = sum(abs(o) <= 1 for o in row["offsets"])
    offsets = f"{in_sync} of {row['clips']}" if in_sync == row["clips"] else "not all"
    return (f"| {label} | {row['clips']} | {lse} | {offsets} | {opening} | "
            f"{_number(row.get('psnr'), 1)} | {_number(row.get('ssim'), 3)} | "
            f"{_number(row.get('sharpness'), 2)} | {_number(row.get('motion'), 2)} |")


def results_table(folders: list[Path]) -> str:
    """The markdown table of the eval.json of each of `folders` (see the module docstring)."""
    lines, first_size = [HEADER], None
    for folder in folders:
        path = Path(folder) / "eval.json"
        if not path.exists():
            raise InputError(f"'{path}' is missing: run `python -m lipsync eval --out {folder}` "
                             "(or `make results`) first.")
        result = json.loads(path.read_text())
        size = "x".join(str(n) for n in result["data"]["frame_sizes"][0])
        first_size = first_size or size
        prefix = "" if size == first_size else f"{size.split('x')[0]} px, "
        for name, label in SCENARIOS.items():
            if name in result["scenarios"]:
                lines.append(_row(prefix + label, result["scenarios"][name], truth=True))
            if name in result["do_nothing"] and name != "still":
                lines.append(_row(f"{prefix}{name}, do nothing", result["do_nothing"][name],
                                  truth=False))
    return "\n".join(lines)


def write_readme(readme: Path, table: str) -> None:
    """Replace the block between RESULTS_BEGIN and RESULTS_END of `readme` by `table`."""
    text = readme.read_text()
    if RESULTS_BEGIN not in text or RESULTS_END not in text:
        raise InputError(f"'{readme}' has no '{RESULTS_BEGIN}' ... '{RESULTS_END}' block.")
    head, rest = text.split(RESULTS_BEGIN, 1)
    tail = rest.split(RESULTS_END, 1)[1]
    partial = readme.with_name(readme.name + ".part")
    partial.write_text(f"{head}{RESULTS_BEGIN}\n{table}\n{RESULTS_END}{tail}")
    os.replace(partial, readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="`lipsync eval` output folders")
    parser.add_argument("--readme", type=Path, help="write the table into this file")
    args = parser.parse_args(argv)
    table = results_table(args.folders)
    if args.readme:
        write_readme(args.readme, table)
        print(f"results table written into {args.readme}")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
