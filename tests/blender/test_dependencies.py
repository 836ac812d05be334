"""The dependency installer: what is missing, the pip command, the online check, the staged
install with its rollback and cancel (pip stood in for by small scripts, there is no
internet here), the preferences, and registering without the heavy modules."""

from __future__ import annotations

import importlib.abc
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

bpy = pytest.importorskip("bpy")

from lipsync.addon import dependencies  # noqa: E402
from lipsync.core.errors import Cancelled, InputError, LipSyncError  # noqa: E402

pytestmark = pytest.mark.blender
ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "cv2", "librosa", "scipy", "soundfile", "soxr")


class Blocker(importlib.abc.MetaPathFinder):
    """Makes the named top-level modules unimportable, as in a plain Blender."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


@pytest.fixture
def online():
    """Blender's online access on (bpy.app.online_access is read-only; the preference sets it)."""
    system = bpy.context.preferences.system
    before = system.use_online_access
    system.use_online_access = True
    assert bpy.app.online_access
    yield
    system.use_online_access = before


@pytest.fixture
def offline():
    system = bpy.context.preferences.system
    before = system.use_online_access
    system.use_online_access = False
    assert not bpy.app.online_access
    yield
    system.use_online_access = before


@pytest.fixture
def clean_path(monkeypatch):
    """`install` appends its target to sys.path: undo that after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


# -- what is missing ----------------------------------------------------------------------

def test_required_pins_match_requirements_txt():
    pins = {line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")}
    wanted = [req for _, req in dependencies.REQUIRED + dependencies.OPTIONAL] + list(
        dependencies.PINNED_DEPENDENCIES)
    assert set(wanted) <= pins
    assert [name for name, _ in dependencies.REQUIRED] == list(HEAVY)
    assert not any(req.startswith("numpy") for req in wanted)  # Blender's own


def test_missing_modules_names_a_blocked_module(monkeypatch):
    assert dependencies.missing_modules() == []  # the venv has everything
    assert dependencies.ready()
    monkeypatch.delitem(sys.modules, "soxr", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Blocker({"soxr"})] + sys.meta_path)
    assert dependencies.missing_modules() == ["soxr"]
    assert not dependencies.ready()
    assert dependencies.missing_summary() == (
        "Missing: soxr (Edit > Preferences > Add-ons > Lip Sync to install)")
    monkeypatch.undo()
    assert dependencies.refresh() == [] and dependencies.ready()
    assert dependencies.missing_summary() == ""


# -- the command --------------------------------------------------------------------------

@pytest.mark.parametrize("device, index", [
    ("cpu", "https://download.pytorch.org/whl/cpu"),
    ("cuda", "https://download.pytorch.org/whl/cu130"),
])
def test_pip_command(tmp_path, device, index):
    import numpy

    command = dependencies.pip_command(tmp_path / "site-packages", device, python="/blender/py")
    assert command[:4] == ["/blender/py", "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(tmp_path / "site-packages")
    assert command[command.index("--extra-index-url") + 1] == index
    assert "--only-binary=:all:" in command
    for requirement in ("torch==2.13.0", "opencv-python-headless==4.11.0.86",
                        "librosa==0.11.0", "scipy==1.17.1", "soundfile==0.14.0",
                        "soxr==1.1.0", "numba==0.68.1", "llvmlite==0.50.0"):
        assert requirement in command
    numpys = [arg for arg in command if arg.startswith("numpy")]
    assert numpys == [f"numpy=={numpy.__version__}"]  # pinned, so pip keeps Blender's
    assert dependencies.pip_command(tmp_path, device)[0] == sys.executable


def test_optional_pip_command(tmp_path):
    command = dependencies.optional_pip_command(tmp_path, python="/blender/py")
    assert command[:4] == ["/blender/py", "-m", "pip", "install"]
    assert "dlib-bin==20.0.1.post1" in command and "face-recognition-models==0.3.0" in command
    assert "--no-deps" in command and not any(arg.startswith("numpy") for arg in command)


def test_pip_command_rejects_an_unknown_device(tmp_path):
    with pytest.raises(InputError, match="'rocm'"):
        dependencies.pip_command(tmp_path, "rocm")


# -- online access --------------------------------------------------------------------------

def test_install_is_refused_when_online_access_is_off(tmp_path, offline):
    target = tmp_path / "site-packages"
    with pytest.raises(InputError) as info:
        dependencies.install("cpu", target=target)
    message = str(info.value)
    assert "Allow Online Access in Preferences > System > Network" in message
    assert f"--target {target}" in message and "torch==2.13.0" in message
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_check_online_decides_from_the_flag():
    dependencies.check_online(True, ["pip"])
    with pytest.raises(InputError, match="install the wheels yourself with: pip install x"):
        dependencies.check_online(False, ["pip", "install", "x"])


# -- the staged install, with pip stood in for by scripts ---------------------------------

FAKE_PIP = """\
#!{python}
import os, sys, time
from pathlib import Path
args = sys.argv[1:]
if args[:2] == ["-m", "pip"] and args[2:] == ["--version"]:
    sys.exit(0 if {has_pip} or Path({marker!r}).exists() else 1)
if args[:2] == ["-m", "ensurepip"]:
    Path({marker!r}).write_text("pip")
    sys.exit(0)
assert args[:3] == ["-m", "pip", "install"], args
target = Path(args[args.index("--target") + 1])
Path({pid_file!r}).write_text(str(os.getpid()))
(target / "fakemod").mkdir()
(target / "fakemod" / "__init__.py").write_text("VERSION = 2\\n")
for name in ("numpy", "numpy-1.26.4.dist-info", "numpy.libs"):
    (target / name).mkdir()
print("Collecting torch==2.13.0", flush=True)
print("Collecting librosa==0.11.0", flush=True)
time.sleep({sleep})
print("Installing collected packages: fakemod", flush=True)
print("Successfully installed fakemod-2", flush=True)
sys.exit({code})
"""


def fake_python(folder: Path, code=0, sleep=0.0, has_pip=True) -> SimpleNamespace:
    script = folder / "fake_python"
    pid_file, marker = folder / "pid", folder / "ensurepip-ran"
    script.write_text(FAKE_PIP.format(python=sys.executable, code=code, sleep=sleep,
                                      has_pip=has_pip, pid_file=str(pid_file),
                                      marker=str(marker)))
    script.chmod(0o755)
    return SimpleNamespace(path=str(script), pid_file=pid_file, marker=marker)


@pytest.fixture
def previous(tmp_path):
    """A site-packages folder from an earlier install, and the folder around it."""
    target = tmp_path / "ext" / "site-packages"
    (target / "fakemod").mkdir(parents=True)
    (target / "fakemod" / "__init__.py").write_text("VERSION = 1\n")
    return target


def siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir())


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in pip is a shebang script")
def test_install_swaps_the_new_folder_in_on_success(tmp_path, previous, online, clean_path):
    python = fake_python(tmp_path)
    calls = []
    result = dependencies.install("cpu", lambda d, t, m="": calls.append((d, t, m)),
                                  target=previous, python=python.path)
    assert (previous / "fakemod" / "__init__.py").read_text() == "VERSION = 2\n"
    assert not any(p.name.startswith("numpy") for p in previous.iterdir())  # Blender's own
    assert siblings(previous) == ["site-packages"]  # no staging or old folder left
    assert str(previous) in sys.path
    assert result.target == previous and result.missing == ()
    # modules this process imported earlier (e.g. cv2 by other tests) need a restart
    assert result.restart_required == bool(result.loaded_before)
    messages = [m for _, _, m in calls]
    assert "Collecting torch==2.13.0" in messages and "Successfully installed fakemod-2" in messages
    dones = [d for d, _, _ in calls]
    assert dones == sorted(dones) and calls[-1][:2] == (100, 100)
    assert not python.marker.exists()  # pip was there: no ensurepip


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in pip is a shebang script")
def test_install_runs_ensurepip_when_pip_is_missing(tmp_path, online, clean_path):
    python = fake_python(tmp_path, has_pip=False)
    target = tmp_path / "ext" / "site-packages"  # first install: no previous folder
    dependencies.install("cuda", target=target, python=python.path)
    assert python.marker.exists()
    assert (target / "fakemod" / "__init__.py").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in pip is a shebang script")
def test_failed_pip_leaves_the_previous_folder_intact(tmp_path, previous, online, clean_path):
    python = fake_python(tmp_path, code=1)
    with pytest.raises(LipSyncError, match=r"pip failed \(exit code 1\).*Successfully installed"):
        dependencies.install("cpu", target=previous, python=python.path)
    assert (previous / "fakemod" / "__init__.py").read_text() == "VERSION = 1\n"
    assert siblings(previous) == ["site-packages"]
    assert str(previous) not in sys.path


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in pip is a shebang script")
def test_cancel_terminates_pip_and_removes_the_staging_folder(tmp_path, previous, online,
                                                              clean_path):
    python = fake_python(tmp_path, sleep=60)
    seen = []

    def should_cancel():
        return any(m.startswith("Collecting librosa") for m in seen)

    start = time.monotonic()
    with pytest.raises(Cancelled):
        dependencies.install("cpu", lambda d, t, m="": seen.append(m), should_cancel,
                             target=previous, python=python.path)
    assert time.monotonic() - start < 20  # not the script's 60 s
    pid = int(python.pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # terminated and reaped
        os.kill(pid, 0)
    assert (previous / "fakemod" / "__init__.py").read_text() == "VERSION = 1\n"
    assert siblings(previous) == ["site-packages"]


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in pip is a shebang script")
def test_leftovers_of_a_crashed_install_are_removed(tmp_path, previous, online, clean_path):
    (previous.parent / ".site-packages-installing-abc" / "torch").mkdir(parents=True)
    (previous.parent / ".site-packages-old-def").mkdir()
    python = fake_python(tmp_path, code=1)
    with pytest.raises(LipSyncError):
        dependencies.install("cpu", target=previous, python=python.path)
    assert siblings(previous) == ["site-packages"]


def _tick_until_finished(runner, cancel_on=None, timeout=30.0):
    messages, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = runner.tick()
        messages.append(runner.message)
        if cancel_on and cancel_on in runner.message:
            runner.cancel()
        if state != "RUNNING":
            return state, messages
        time.sleep(0.02)
    raise AssertionError("the install did not finish")


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in pip is a shebang script")
def test_install_runner_reports_progress_then_done(tmp_path, previous, clean_path):
    from lipsync.addon.ui.preferences import InstallJob
    from lipsync.addon.jobs.runner import JobRunner

    runner = JobRunner(InstallJob("cpu", previous, True, python=fake_python(tmp_path).path))
    runner.start()
    state, messages = _tick_until_finished(runner)
    assert state == "DONE" and runner.progress == 1.0 and runner.result.target == previous
    assert messages[-1] == "done"
    assert (previous / "fakemod" / "__init__.py").read_text() == "VERSION = 2\n"


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in pip is a shebang script")
def test_install_runner_cancels(tmp_path, previous, clean_path):
    from lipsync.addon.ui.preferences import InstallJob
    from lipsync.addon.jobs.runner import JobRunner

    runner = JobRunner(InstallJob("cpu", previous, True,
                                  python=fake_python(tmp_path, sleep=60).path))
    runner.start()
    state, _ = _tick_until_finished(runner, cancel_on="Collecting")
    assert state == "FAILED" and isinstance(runner.error, Cancelled)
    assert (previous / "fakemod" / "__init__.py").read_text() == "VERSION = 1\n"
    assert siblings(previous) == ["site-packages"]


def test_install_runner_hands_over_the_offline_refusal(tmp_path):
    from lipsync.addon.ui.preferences import InstallJob
    from lipsync.addon.jobs.runner import JobRunner

    runner = JobRunner(InstallJob("cpu", tmp_path / "site-packages", False))
    runner.start()
    state, _ = _tick_until_finished(runner)
    assert state == "FAILED" and isinstance(runner.error, InputError)
    assert "Allow Online Access" in str(runner.error)


# -- site-packages folder -------------------------------------------------------------------

def test_site_packages_dir_outside_the_extension_system(clean_path):
    # Loaded as the plain package `lipsync`, extension_path_user refuses the name.
    assert dependencies.root_package() == "lipsync"
    with pytest.raises(ValueError):
        bpy.utils.extension_path_user("lipsync", path="site-packages")
    path = dependencies.site_packages_dir()
    assert path.is_dir() and path.parts[-4:] == (".user", "_standalone", "lipsync",
                                                 "site-packages")
    assert Path(bpy.utils.user_resource("EXTENSIONS")) in path.parents
    assert dependencies.ensure_on_path() == path
    dependencies.ensure_on_path()
    assert sys.path.count(str(path)) == 1
    dependencies.remove_from_path()
    assert str(path) not in sys.path


def test_extension_path_user_for_an_extension_package():
    path = bpy.utils.extension_path_user("bl_ext.user_default.lipsync", path="site-packages")
    assert Path(path).parts[-4:] == (".user", "user_default", "lipsync", "site-packages")


# -- preferences and operators --------------------------------------------------------------

class RecordingLayout:
    """Stands in for `UILayout` (there is no UI in background mode) and checks each call."""

    def __init__(self, log, enabled=True):
        self.log = log
        self.enabled = enabled

    def column(self, **_):
        return RecordingLayout(self.log, self.enabled)

    row = column

    def prop(self, data, name, **_):
        assert name in data.bl_rna.properties, name
        self.log.append(("prop", name))

    def label(self, text="", **_):
        self.log.append(("label", text))

    def operator(self, idname, **_):
        category, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, category), name), idname
        self.log.append(("operator", idname, self.enabled))
        return SimpleNamespace()

    def progress(self, factor=0.0, type="BAR", text=""):
        self.log.append(("progress", text))


class WithLayout:
    """A real preferences instance with a recording layout in place of its own (None here)."""

    def __init__(self, prefs, layout):
        self._prefs, self.layout = prefs, layout

    def __getattr__(self, name):
        return getattr(self._prefs, name)


@pytest.fixture
def prefs(registered):
    addon = bpy.context.preferences.addons.new()  # as enabling the add-on would
    addon.module = dependencies.root_package()
    yield addon.preferences
    bpy.context.preferences.addons.remove(addon)


def _draw(prefs):
    log = []
    type(prefs).draw(WithLayout(prefs, RecordingLayout(log)), bpy.context)
    return log


def test_preferences_register_with_the_add_on(prefs):
    assert type(prefs).bl_idname == "lipsync" and prefs.device == "CPU"
    assert str(dependencies.site_packages_dir()) in sys.path  # added by register


def test_preferences_draw_modules_and_install_button(prefs, online):
    log = _draw(prefs)
    labels = [entry[1] for entry in log if entry[0] == "label"]
    for name, requirement in dependencies.REQUIRED:
        assert f"{name}: found ({requirement})" in labels
    assert f"Installed into: {dependencies.site_packages_dir()}" in labels
    assert ("prop", "device") in log
    assert ("operator", "lipsync.install_dependencies", True) in log
    assert not any(entry[:2] == ("operator", "lipsync.copy_pip_command") for entry in log)


def test_preferences_grey_out_install_when_offline(prefs, offline, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Blocker({"torch"})] + sys.meta_path)
    log = _draw(prefs)
    assert ("label", "torch: missing (torch==2.13.0)") in log
    assert ("operator", "lipsync.install_dependencies", False) in log
    assert ("operator", "lipsync.copy_pip_command", True) in log
    assert any("Online access is off" in entry[1] for entry in log if entry[0] == "label")


def test_preferences_show_progress_while_installing(prefs, online, monkeypatch):
    from lipsync.addon.ui.preferences import InstallState

    monkeypatch.setattr(InstallState, "running", True)
    monkeypatch.setattr(InstallState, "message", "Collecting torch==2.13.0")
    log = _draw(prefs)
    assert ("progress", "Collecting torch==2.13.0 (Esc to cancel)") in log
    assert not any(entry[0] == "operator" for entry in log)
    assert not bpy.ops.lipsync.install_dependencies.poll()  # one install at a time


def test_install_operator_polls_online_access(registered):
    system = bpy.context.preferences.system
    before = system.use_online_access
    try:
        system.use_online_access = False
        assert not bpy.ops.lipsync.install_dependencies.poll()
        system.use_online_access = True
        assert bpy.ops.lipsync.install_dependencies.poll()
    finally:
        system.use_online_access = before


def test_copy_pip_command_operator(registered):
    assert bpy.ops.lipsync.copy_pip_command(device="CUDA") == {"FINISHED"}
    # (background mode may have no clipboard; the command itself is checked above)


# -- registering without the heavy modules ------------------------------------------------

BLOCKED_RUN = r"""
import importlib.abc, sys
BLOCK = set(sys.argv[1].split(","))
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCK:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
sys.meta_path.insert(0, Blocker())
import bpy
""" + "\n"


def run_blocked(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    return subprocess.run([sys.executable, "-c", BLOCKED_RUN + textwrap.dedent(code),
                           ",".join(HEAVY)], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_dependency_check_and_preferences_work_without_the_modules(tmp_path):
    out = run_blocked("""
        from lipsync.addon import dependencies
        from lipsync.addon.ui import preferences
        bpy.utils.register_class(preferences.LIPSYNC_AP_preferences)
        bpy.utils.register_class(preferences.LIPSYNC_OT_install_dependencies)
        print("MISSING", ",".join(dependencies.missing_modules()), dependencies.ready())
        print("SUMMARY", dependencies.missing_summary())
        print("IMPORTED", [m for m in sys.modules if m.partition(".")[0] in BLOCK])
    """, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "MISSING torch,cv2,librosa,scipy,soundfile,soxr False" in out.stdout
    assert ("SUMMARY Missing: torch, cv2, librosa, scipy, soundfile, soxr "
            "(Edit > Preferences > Add-ons > Lip Sync to install)") in out.stdout
    assert "IMPORTED []" in out.stdout


def test_register_without_the_heavy_modules(tmp_path):
    out = run_blocked("""
        import lipsync
        lipsync.register()
        print("OPERATORS", hasattr(bpy.ops.lipsync, "install_dependencies"))
        print("IMPORTED", [m for m in sys.modules if m.partition(".")[0] in BLOCK])
        lipsync.unregister()
    """, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "OPERATORS True" in out.stdout and "IMPORTED []" in out.stdout
