"""Tests of core/process_lines.py: a subprocess followed line by line, and stopped early."""

import subprocess
import sys

import pytest

from lipsync.core.process_lines import follow_lines

SLOW = "import sys, time\nprint('first', flush=True)\ntime.sleep(30)\n"


def start(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, **kwargs)


def test_every_line_in_order_then_the_exit_code():
    proc = start("import sys\nprint('a')\nprint('b')\nsys.exit(3)")
    lines = []
    assert follow_lines(proc, proc.stdout, lines.append, grace_s=5, join_s=1) == 3
    assert lines == [b"a\n", b"b\n"] and proc.stdout.closed


def test_check_stops_and_terminates_the_process():
    proc = start(SLOW, text=True)
    lines = []

    def check():
        if lines:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        follow_lines(proc, proc.stdout, lines.append, check=check, grace_s=5, join_s=1)
    assert lines == ["first\n"] and proc.returncode is not None


def test_an_error_in_on_line_is_raised_here():
    proc = start(SLOW)

    def on_line(line):
        raise ValueError(f"bad line {line!r}")

    with pytest.raises(ValueError, match="bad line b'first"):
        follow_lines(proc, proc.stdout, on_line, grace_s=5, join_s=1)
    assert proc.returncode is not None
