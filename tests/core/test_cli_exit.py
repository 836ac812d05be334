"""Tests of core/cli/exit_codes.py: the exit codes and messages of every command line."""

import pytest

from lipsync.core.cli.exit_codes import BAD_INPUT, CANCELLED, DONE, FAILED, exit_code_of, run_command
from lipsync.core.errors import Cancelled, InputError, LipSyncError


def _raise(exc):
    def work(progress):
        progress(1, 2, "half")
        raise exc
    return work


def test_done_reports_the_result():
    reported = []
    assert run_command("test", lambda progress: 42, reported.append) == DONE == 0
    assert reported == [42]


def test_bad_input_exits_2_with_the_message(capsys):
    reported = []
    code = run_command("test", _raise(InputError("no frames in 'x'")), reported.append)
    assert code == BAD_INPUT == 2 and reported == []
    assert capsys.readouterr().err.endswith("error: no frames in 'x'\n")


@pytest.mark.parametrize("exc", [Cancelled("cancelled by the user"), KeyboardInterrupt()])
def test_cancel_and_ctrl_c_exit_3(capsys, exc):
    assert run_command("test", _raise(exc), print) == CANCELLED == 3
    assert capsys.readouterr().err.endswith("cancelled; nothing was written\n")


def test_every_product_error_exits_2(capsys):
    assert run_command("test", _raise(LipSyncError("pip failed")), print) == BAD_INPUT
    assert capsys.readouterr().err.endswith("error: pip failed\n")


def test_other_errors_propagate():
    with pytest.raises(RuntimeError, match="a bug"):
        run_command("test", _raise(RuntimeError("a bug")), print)


def test_exit_code_of_passes_the_work_s_code_and_says_what_a_cancel_kept(capsys):
    assert exit_code_of(lambda: FAILED) == FAILED == 1
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert exit_code_of(interrupted, cancelled="interrupted: clips kept") == CANCELLED
    assert capsys.readouterr().err == "interrupted: clips kept\n"
