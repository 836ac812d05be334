"""Tests of core/batch/: `python -m lipsync batch shots.toml`.

Execution runs real subprocesses: `--python` points to a fake "python" script written
here, which understands `-m lipsync blend B render --out X` and `-m lipsync sync ... --out X`,
writes the marker files the real commands write, fails for a .blend or audio file whose
name contains "fail", and appends each call (argv as JSON) to calls.jsonl.
"""

import io
import json
import logging
import os
import shutil
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from lipsync.__main__ import main
from lipsync.core import batch
from lipsync.core.batch import BatchError, Outcome, RunResult, Shard
from lipsync.core.pipeline.options import LipSyncOptions

FAKE = textwrap.dedent("""\
    #!{python}
    import json, os, sys, time
    from pathlib import Path

    args = sys.argv[1:]
    with open(Path(__file__).with_name("calls.jsonl"), "a") as f:
        f.write(json.dumps(args) + "\\n")
    assert args[:2] == ["-m", "lipsync"], args
    out = Path(args[args.index("--out") + 1])
    print("fake stdout:", " ".join(args[2:4]))
    if args[2] == "blend" and args[4] == "render":
        if "fail" in Path(args[3]).stem:
            print("Traceback: something deep", file=sys.stderr)
            print("render: cannot open " + args[3], file=sys.stderr)
            sys.exit(2)
        (out / "frames").mkdir(parents=True, exist_ok=True)
        (out / "frames" / "0001.png").write_bytes(b"")
        (out / "keypoints.npz").write_bytes(b"")
        (out / "render.json").write_text(json.dumps({{"fps": 29.97}}))
    elif args[2] == "sync":
        audio = Path(args[args.index("--audio") + 1]).stem
        if "fail" in audio:
            print("sync: audio is silent", file=sys.stderr)
            sys.exit(2)
        if "slow" in audio:
            Path(__file__).with_name("pid").write_text(str(os.getpid()))
            time.sleep(30)
        if "nomarker" in audio:
            sys.exit(0)
        tmp = out.with_name(out.name + ".partial")
        tmp.mkdir(parents=True)
        (tmp / "report.json").write_text(json.dumps({{"argv": args}}))
        tmp.rename(out)
    else:
        sys.exit("fake: unknown command")
""")


@pytest.fixture
def fake(tmp_path):
    """Path of the fake python; its calls are read with `calls(fake)`."""
    path = tmp_path / "bin" / "fakepython"
    path.parent.mkdir()
    path.write_text(FAKE.format(python=sys.executable))
    path.chmod(0o755)
    return path


def calls(fake):
    log = fake.with_name("calls.jsonl")
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def project(root, shots, head='out = "results"\n'):
    """Write a batch file and create the files and folders its shots name (not shots/missing*)."""
    root.mkdir(exist_ok=True)
    (root / "audio").mkdir(exist_ok=True)
    (root / "shots").mkdir(exist_ok=True)
    text = [head]
    for shot in shots:
        text.append("[[shot]]")
        for key, value in shot.items():
            if key == "tracks":
                items = ", ".join(f'{{ language = "{lang}", audio = "audio/{audio}" }}'
                                  for lang, audio in value)
                text.append(f"tracks = [{items}]")
                for _, audio in value:
                    (root / "audio" / audio).write_bytes(b"RIFF")
            else:
                text.append(f"{key} = {json.dumps(value)}")
        if "blend" in shot and not shot["blend"].startswith(("/", "..", "shots/missing")):
            (root / shot["blend"]).write_bytes(b"BLENDER")
        if "frames" in shot and not shot["frames"].startswith(("/", "..")):
            (root / shot["frames"]).mkdir(parents=True, exist_ok=True)
    (root / "shots.toml").write_text("\n".join(text) + "\n")
    return root / "shots.toml"


def blend_shot(name, *languages, stem=None):
    return {"name": name, "blend": f"shots/{stem or name}.blend",
            "tracks": [(lang, f"{name}_{lang}.wav") for lang in languages]}


def frames_shot(name, *tracks):
    return {"name": name, "frames": f"renders/{name}", "fps": 24,
            "tracks": [(lang, f"{name}_{lang}.wav") for lang in tracks]}


# ---------------------------------------------------------------- loading and checking

def test_load_batch_resolves_paths(tmp_path):
    shots = [{**blend_shot("sh010", "en", "fr"), "scene": "Main", "character": "Hero"},
             {**frames_shot("sh020", "en"), "keypoints": "renders/sh020/keypoints.npz"}]
    toml = project(tmp_path, shots, head='device = "cpu"\n')
    (tmp_path / "renders" / "sh020" / "keypoints.npz").write_bytes(b"")
    b = batch.load_batch(toml)
    assert b.out == tmp_path / "results"
    assert [s.options for s in b.shots] == [LipSyncOptions(device="cpu")] * 2
    sh010, sh020 = b.shots
    assert sh010.blend == tmp_path / "shots" / "sh010.blend" and sh010.frames is None
    assert (sh010.scene, sh010.character) == ("Main", "Hero")
    assert [t.language for t in sh010.tracks] == ["en", "fr"]
    assert sh010.tracks[1].audio == tmp_path / "audio" / "sh010_fr.wav"
    assert sh020.fps == 24.0 and sh020.frames == tmp_path / "renders" / "sh020"
    assert sh020.keypoints == tmp_path / "renders" / "sh020" / "keypoints.npz"


@pytest.mark.parametrize("change, expected", [
    (lambda s: s.update(blend="shots/missing.blend"), ["sh010", "blend", "missing.blend"]),
    (lambda s: s.update(blend="../elsewhere/sh010.blend"), ["sh010", "blend", "'..'"]),
    (lambda s: s.update(blend="/abs/sh010.blend"), ["sh010", "blend", "absolute"]),
    (lambda s: s.update(frames="renders/sh010", fps=24), ["sh010", "exactly one of blend"]),
    (lambda s: s.update(take=3), ["sh010", "unknown key 'take'"]),
    (lambda s: s.update(revoice="yes"), ["sh010", "revoice = 'yes'", "true"]),
    (lambda s: s.update(revoice=[1]), ["sh010", "revoice = [1]", "auto, on or off"]),
    (lambda s: s.update(name="sh 010"), ["name", "'sh 010'"]),
    (lambda s: s.update(tracks=[("en", "a.wav"), ("EN", "b.wav")]), ["sh010", "'EN'", "twice"]),
    (lambda s: s.update(tracks=[("render", "a.wav")]), ["sh010", "language", "'render'"]),
])
def test_bad_shot_is_refused(tmp_path, change, expected):
    shot = blend_shot("sh010", "en")
    change(shot)
    toml = project(tmp_path, [shot])
    with pytest.raises(BatchError) as err:
        batch.load_batch(toml)
    for part in expected:
        assert part in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path):
    toml = project(tmp_path, [blend_shot("sh010", "en"), blend_shot("sh010", "fr"),
                              {k: v for k, v in frames_shot("sh030", "en").items() if k != "fps"},
                              blend_shot("sh040", "en")], head='colour = "red"\n')
    (tmp_path / "shots" / "sh040.blend").unlink()
    (tmp_path / "audio" / "sh010_fr.wav").unlink()
    with pytest.raises(BatchError) as err:
        batch.load_batch(toml)
    text = str(err.value)
    assert "5 problem(s)" in text, text
    assert "unknown key 'colour'" in text
    assert "shot 'sh010' (shot #2): name: also used by shot #1" in text
    assert "shot 'sh010': tracks[1]: audio = 'audio/sh010_fr.wav': no file" in text
    assert "shot 'sh030': fps = None" in text
    assert "shot 'sh040': blend = 'shots/sh040.blend': no .blend file" in text


def test_bad_batch_file_exits_2_without_running(tmp_path, fake, capsys):
    toml = project(tmp_path, [blend_shot("sh010", "en")])
    (tmp_path / "shots" / "sh010.blend").unlink()
    assert main(["batch", str(toml), "--python", str(fake)]) == 2
    assert "no .blend file" in capsys.readouterr().err
    assert calls(fake) == [] and not (tmp_path / "results").exists()


def test_invalid_toml_is_an_input_error(tmp_path):
    (tmp_path / "shots.toml").write_text("[[shot]\nname = 1\n")
    with pytest.raises(BatchError, match="not valid TOML"):
        batch.load_batch(tmp_path / "shots.toml")


# ---------------------------------------------------------------- sharding and plan

@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2", "1/2/3"])
def test_bad_shard_spec(text):
    with pytest.raises(BatchError, match="--shard"):
        batch.parse_shard(text)


def test_bad_shard_spec_exits_2(tmp_path, capsys):
    toml = project(tmp_path, [blend_shot("sh010", "en")])
    assert main(["batch", str(toml), "--shard", "3/2", "--dry-run"]) == 2
    assert "1 <= I <= N" in capsys.readouterr().err


def test_two_shards_split_five_shots(tmp_path):
    names = [f"sh{k}0" for k in range(1, 6)]
    b = batch.load_batch(project(tmp_path, [blend_shot(n, "en", "fr") for n in names]))
    first = batch.plan(b, batch.parse_shard("1/2"))
    second = batch.plan(b, Shard(2, 2))
    shots = [[t.shot for t in part if t.is_render] for part in (first, second)]
    assert shots == [["sh10", "sh30", "sh50"], ["sh20", "sh40"]]
    # whole shots: a shot's render and all its languages land on one machine
    assert [{t.shot for t in part} for part in (first, second)] == [set(s) for s in shots]
    assert sorted(t.label for t in first + second) == sorted(t.label for t in batch.plan(b))


def test_plan_builds_the_commands(tmp_path):
    shot = {**blend_shot("sh010", "en", "fr"), "scene": "Main", "character": "Hero"}
    b = batch.load_batch(project(tmp_path, [shot, {**frames_shot("sh020", "de"),
                                                   "revoice": True}]))
    assert b.shots[0].options.revoice == "auto" and b.shots[1].options.revoice == "on"
    render, en, fr, de = batch.plan(b, python="py", device="cuda")
    out = tmp_path / "results"
    assert render.command == ("py", "-m", "lipsync", "blend", str(tmp_path / "shots/sh010.blend"),
                              "render", "--out", str(out / "sh010/render"),
                              "--scene", "Main", "--character", "Hero")
    assert render.marker == out / "sh010/render/render.json"
    assert render.log == out / "sh010/render.log"
    assert fr.command == ("py", "-m", "lipsync", "sync",
                          "--frames", str(out / "sh010/render/frames"),
                          "--audio", str(tmp_path / "audio/sh010_fr.wav"),
                          "--fps", batch.FPS_FROM_RENDER, "--out", str(out / "sh010/fr"),
                          "--device", "cuda",
                          "--keypoints", str(out / "sh010/render/keypoints.npz"))
    assert fr.marker == out / "sh010/fr/report.json" and fr.log == out / "sh010/fr.log"
    assert de.command == ("py", "-m", "lipsync", "sync",
                          "--frames", str(tmp_path / "renders/sh020"),
                          "--audio", str(tmp_path / "audio/sh020_de.wav"), "--fps", "24",
                          "--out", str(out / "sh020/de"), "--device", "cuda", "--revoice", "on")
    assert batch.plan(b)[1].command[0] == sys.executable
    assert batch.plan(b)[1].command[-3] == "auto"  # the file's device
    ntsc = batch.format_fps(30000 / 1001)
    assert ntsc != "29.97" and float(ntsc) == 30000 / 1001 and batch.format_fps(24.0) == "24"


def test_bad_device_in_the_file_is_refused(tmp_path):
    toml = project(tmp_path, [blend_shot("sh010", "en")], head='device = "gpu"\n')
    with pytest.raises(BatchError, match="top level: device = 'gpu': use auto, cpu or cuda"):
        batch.load_batch(toml)


def test_verbose_reaches_every_command(tmp_path, fake, capsys):
    logger = logging.getLogger("lipsync")
    level = logger.level
    toml = project(tmp_path, [blend_shot("sh010", "en")])
    render, en = batch.plan(batch.load_batch(toml), verbose=True)
    assert render.command[-1] == en.command[-1] == "--verbose"
    assert "--verbose" not in batch.plan(batch.load_batch(toml))[1].command
    try:
        assert main(["batch", str(toml), "--python", str(fake), "--verbose"]) == 0
        assert logger.isEnabledFor(logging.DEBUG), "--verbose: the lipsync logger at DEBUG"
    finally:
        logger.setLevel(level)
    assert [a[-1] for a in calls(fake)] == ["--verbose", "--verbose"]


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path, fake, capsys):
    toml = project(tmp_path, [blend_shot("sh010", "en", "fr")])
    assert main(["batch", str(toml), "--dry-run", "--python", str(fake)]) == 0
    out = capsys.readouterr().out
    assert "[1/3] sh010 (render): run" in out and "[3/3] sh010 fr: run" in out
    assert f"{fake} -m lipsync blend" in out and "'<fps from render.json>'" in out
    assert calls(fake) == [] and not (tmp_path / "results").exists()


# ---------------------------------------------------------------- running

def test_run_continues_past_failures_and_reruns_skip(tmp_path, fake, capsys):
    shots = [blend_shot("sh010", "en", "fr", "de"),
             blend_shot("sh020", "en", "fr", stem="sh020_fail"),
             {**frames_shot("sh030", "en"), "tracks": [("en", "sh030_en.wav"),
                                                       ("fr", "sh030_fr_fail.wav")]}]
    toml = project(tmp_path, shots)
    assert main(["batch", str(toml), "--python", str(fake)]) == 1
    captured = capsys.readouterr()
    argv = calls(fake)
    # each render once for its three languages; no sync for the shot whose render failed
    assert [a[3] for a in argv if a[2] == "blend"] == [
        str(tmp_path / "shots/sh010.blend"), str(tmp_path / "shots/sh020_fail.blend")]
    synced = [a[a.index("--out") + 1] for a in argv if a[2] == "sync"]
    results = tmp_path / "results"
    assert synced == [str(results / s) for s in ("sh010/en", "sh010/fr", "sh010/de",
                                                 "sh030/en", "sh030/fr")]
    assert argv[2][argv[2].index("--fps") + 1] == "29.97"  # read from the render's render.json
    for lang in ("en", "fr", "de"):
        assert (results / "sh010" / lang / "report.json").exists()
    assert (results / "sh030/en/report.json").exists() and not (results / "sh030/fr").exists()
    assert "fake stdout: blend" in (results / "sh010/render.log").read_text()
    assert "cannot open" in (results / "sh020/render.log").read_text()
    assert "audio is silent" in (results / "sh030/fr.log").read_text()
    assert "fake stdout: sync" in (results / "sh010/de.log").read_text()

    err = captured.err
    assert "[1/9] sh010 (render): running... ok" in err
    assert "[5/9] sh020 (render): running... FAILED (exit 2: render: cannot open" in err
    assert "[6/9] sh020 en: FAILED (render failed" in err
    assert "[9/9] sh030 fr: running... FAILED (exit 2: sync: audio is silent)" in err
    rows = {tuple(line.split()[:3]) for line in captured.out.splitlines()}
    assert {("sh010", "(render)", "ok"), ("sh010", "de", "ok"), ("sh020", "(render)", "failed"),
            ("sh020", "fr", "failed"), ("sh030", "en", "ok"), ("sh030", "fr", "failed")} <= rows
    assert "5 ok, 0 skipped, 4 failed" in captured.out
    assert str(results / "sh010" / "de") in captured.out

    # a re-run skips the complete results and retries only what failed
    assert main(["batch", str(toml), "--python", str(fake)]) == 1
    again = calls(fake)[len(argv):]
    assert [(a[2], a[3]) for a in again] == [("blend", str(tmp_path / "shots/sh020_fail.blend")),
                                             ("sync", "--frames")]
    assert "0 ok, 5 skipped, 4 failed" in capsys.readouterr().out


def test_complete_batch_exits_0_and_rerun_runs_nothing(tmp_path, fake, capsys):
    toml = project(tmp_path, [blend_shot("sh010", "en", "fr"), frames_shot("sh020", "en")])
    assert main(["batch", str(toml), "--python", str(fake), "--device", "cpu"]) == 0
    first = calls(fake)
    assert len(first) == 4 and all(a[a.index("--device") + 1] == "cpu" for a in first[1:])
    assert "4 ok, 0 skipped, 0 failed" in capsys.readouterr().out
    assert main(["batch", str(toml), "--python", str(fake)]) == 0
    assert calls(fake) == first
    captured = capsys.readouterr()
    assert "0 ok, 4 skipped, 0 failed" in captured.out
    assert "[2/4] sh010 en: skipped (complete)" in captured.err
    # results complete but the render deleted: the render is not needed again
    shutil.rmtree(tmp_path / "results/sh010/render")
    assert main(["batch", str(toml), "--python", str(fake)]) == 0
    assert calls(fake) == first


def test_exit_0_without_marker_is_a_failure(tmp_path, fake):
    b = batch.load_batch(project(tmp_path, [frames_shot("sh010", "nomarker")]))
    outcomes = batch.run_batch(batch.plan(b, python=str(fake)), progress_stream=io.StringIO())
    assert [o.status for o in outcomes] == ["failed"]
    assert "report.json was not written" in outcomes[0].detail
    assert batch.exit_code(outcomes) == 1


def test_interrupt_stops_and_keeps_the_summary(tmp_path, capsys):
    b = batch.load_batch(project(tmp_path, [frames_shot("sh010", "en", "fr", "de")]))
    seen = []

    def runner(command, log):
        seen.append(command)
        if len(seen) == 2:
            raise KeyboardInterrupt
        out = Path(command[command.index("--out") + 1])
        out.mkdir(parents=True)
        (out / "report.json").write_text("{}")
        return RunResult(0, "")

    outcomes = batch.run_batch(batch.plan(b), runner=runner, progress_stream=sys.stderr)
    assert [(o.task.language, o.status) for o in outcomes] == [("en", "ok"), ("fr", "interrupted")]
    assert batch.exit_code(outcomes) == 3
    assert "1 ok, 0 skipped, 0 failed, 1 interrupted" in batch.format_summary(outcomes)
    assert isinstance(outcomes[0], Outcome) and len(seen) == 2


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX timers")
def test_interrupt_terminates_the_subprocess(tmp_path, fake):
    b = batch.load_batch(project(tmp_path, [frames_shot("sh010", "slow")]))
    task, = batch.plan(b, python=str(fake))
    pid_file = fake.with_name("pid")

    def interrupt(signum, frame):
        if pid_file.exists():
            raise KeyboardInterrupt
        signal.setitimer(signal.ITIMER_REAL, 0.05)

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(KeyboardInterrupt):
            batch.run_subprocess(task.command, task.log)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
