"""The Python modules Lip Sync needs inside Blender, and their installer.

Blender's own Python has numpy but not torch, OpenCV, librosa or scipy. `install` runs pip
(Blender's Python, `sys.executable`) in a subprocess into a user folder of the extension
(`site_packages_dir`, kept across upgrades of the extension), which `ensure_on_path` puts on
`sys.path` at register time. The new modules are installed into a staging folder next to
that folder and swapped in only when pip succeeded: a failed or cancelled install leaves
the previous state as it was.

Nothing here imports the modules it checks, and bpy is imported inside functions only.
"""

from __future__ import annotations

import collections
import importlib
import importlib.util
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.errors import Cancelled, InputError, LipSyncError
from ..core.process_lines import follow_lines
from ..core.progress import CancelFn, ProgressFn, never_cancel, no_progress

log = logging.getLogger(__name__)

# (import name, pip requirement), pinned as in requirements.txt (which the extension zip
# leaves out; a test keeps both in step). numpy is Blender's own and is never replaced.
REQUIRED: tuple[tuple[str, str], ...] = (
    ("torch", "torch==2.13.0"),
    ("cv2", "opencv-python-headless==4.11.0.86"),
    ("librosa", "librosa==0.11.0"),
    ("scipy", "scipy==1.17.1"),
    ("soundfile", "soundfile==0.14.0"),
    ("soxr", "soxr==1.1.0"),
)
# Optional: the face landmark model for real footage without a keypoint file (dlib and the
# weights face_recognition_models carries). Without it Lip Sync works as before (the face
# parser finds the mouth). Installed by a second pip run after REQUIRED, whose failure (no
# dlib-bin wheel for this system) keeps what the first run installed.
OPTIONAL: tuple[tuple[str, str], ...] = (
    ("dlib", "dlib-bin==20.0.1.post1"),
    ("face_recognition_models", "face-recognition-models==0.3.0"),
)
# librosa's JIT compiler, pinned to the tested versions (installed as dependencies, not checked).
PINNED_DEPENDENCIES: tuple[str, ...] = ("numba==0.68.1", "llvmlite==0.50.0")

# PyTorch's own wheel indexes. `torch==2.13.0` also matches their local versions
# (2.13.0+cpu, 2.13.0+cu130), which pip prefers to PyPI's 2.13.0 (PyPI's Linux wheel is the
# CUDA 13 build, its Windows wheel CPU-only). torch 2.13's CUDA build is CUDA 13.0
# (its PyPI wheel needs the nvidia-*-cu13 packages): NVIDIA driver 580 or newer.
TORCH_INDEX = {
    "cpu": "https://download.pytorch.org/whl/cpu",
    "cuda": "https://download.pytorch.org/whl/cu130",
}

TOTAL = 100  # progress units of one install (pip announces no total: see `_PipProgress`)
_STAGING = "-installing-"
_OLD = "-old-"

_ready: bool | None = None


@dataclass(frozen=True)
class InstallResult:
    """What `install` did.

    target: the site-packages folder that now holds the modules.
    missing: import names still not found after the install (should be empty).
    loaded_before: import names already imported before the install; their new versions
        load only after Blender restarts.
    optional_missing: `OPTIONAL` import names not installed (their pip run failed).
    """

    target: Path
    missing: tuple[str, ...]
    loaded_before: tuple[str, ...]
    optional_missing: tuple[str, ...] = ()   # `OPTIONAL` import names still not found

    @property
    def restart_required(self) -> bool:
        return bool(self.loaded_before)


def missing_modules() -> list[str]:
    """Import names of `REQUIRED` that cannot be found (found, not imported: cheap)."""
    global _ready
    missing = _not_found(REQUIRED)
    _ready = not missing
    return missing


def missing_optional() -> list[str]:
    """Import names of `OPTIONAL` that cannot be found (Lip Sync works without them)."""
    return _not_found(OPTIONAL)


def _not_found(modules: tuple[tuple[str, str], ...]) -> list[str]:
    missing = []
    for name, _ in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a blocking finder, or a half-imported module
            found = False
        if not found:
            missing.append(name)
    return missing


def ready() -> bool:
    """True when every required module can be found. Cached: cheap enough for `draw`;
    `missing_modules`, `refresh` and `install` update it."""
    if _ready is None:
        missing_modules()
    return bool(_ready)


def refresh() -> list[str]:
    """Forget the import system's cached folder listings, then `missing_modules()`."""
    importlib.invalidate_caches()
    return missing_modules()


def missing_summary() -> str:
    """One line for a panel: which modules are missing and where to install them."""
    missing = missing_modules() if not ready() else []
    if not missing:
        return ""
    return (f"Missing: {', '.join(missing)} "
            "(Edit > Preferences > Add-ons > Lip Sync to install)")


def root_package() -> str:
    """The extension's package (``bl_ext.<repo>.lipsync`` in Blender, ``lipsync`` as a plain
    package), which is also the add-on preferences' bl_idname."""
    return __package__.rpartition(".")[0]


def site_packages_dir() -> Path:
    """The folder the dependencies are installed into (created when missing).

    As an extension: ``bpy.utils.extension_path_user(package, path="site-packages")``, which
    survives upgrades of the extension. As a plain package (tests, ``python -m lipsync``)
    `extension_path_user` refuses the name, so a folder beside the extensions' own is used:
    ``<EXTENSIONS>/.user/_standalone/<package>/site-packages``.
    """
    import bpy

    package = root_package()
    try:
        path = bpy.utils.extension_path_user(package, path="site-packages", create=True)
    except ValueError:  # 'The "package" does not name an extension'
        path = bpy.utils.user_resource(
            "EXTENSIONS", path=os.path.join(".user", "_standalone", package, "site-packages"),
            create=True)
    if not path:
        raise LipSyncError(f"Blender gives no writable user folder for {package!r}: check "
                           "Preferences > File Paths, or BLENDER_USER_RESOURCES.")
    return Path(path)


def ensure_on_path() -> Path | None:
    """Append `site_packages_dir()` to `sys.path` (once). Cheap: imports nothing heavy."""
    try:
        path = site_packages_dir()
    except LipSyncError as exc:
        log.warning("%s", exc)
        return None
    if str(path) not in sys.path:
        sys.path.append(str(path))
    return path


def remove_from_path() -> None:
    """Undo `ensure_on_path` (modules already imported stay imported)."""
    try:
        path = str(site_packages_dir())
    except LipSyncError:
        return
    while path in sys.path:
        sys.path.remove(path)


def numpy_version() -> str:
    """The version of the numpy Blender already has (pinned so pip keeps it)."""
    from importlib import metadata

    try:
        return metadata.version("numpy")
    except metadata.PackageNotFoundError:
        import numpy

        return numpy.__version__


def pip_command(target: Path, device: str, python: str = sys.executable) -> list[str]:
    """The pip command line that installs `REQUIRED` into `target`.

    device: "cpu" or "cuda" (which PyTorch build). python: the interpreter to run pip with;
    in Blender, `sys.executable` is Blender's own Python. Wheels only (Blender's Python
    cannot build from source), numpy pinned to its current version so pip leaves it be.
    """
    if device not in TORCH_INDEX:
        raise InputError(f"device must be one of {sorted(TORCH_INDEX)}, not {device!r}")
    if device == "cuda" and sys.platform == "darwin":
        raise InputError("PyTorch has no CUDA build for macOS: choose CPU.")
    return [str(python), "-m", "pip", "install", "--target", str(target),
            "--only-binary=:all:", "--no-input", "--disable-pip-version-check",
            "--progress-bar", "off",
            *(requirement for _, requirement in REQUIRED), *PINNED_DEPENDENCIES,
            f"numpy=={numpy_version()}",
            "--extra-index-url", TORCH_INDEX[device]]


def optional_pip_command(target: Path, python: str = sys.executable) -> list[str]:
    """The pip command line that installs `OPTIONAL` into `target` (no dependencies: they
    need none but numpy). face-recognition-models comes as a source archive of data files
    only, so it alone may be built."""
    return [str(python), "-m", "pip", "install", "--target", str(target),
            "--only-binary=:all:", "--no-binary=face-recognition-models", "--no-deps",
            "--no-input", "--disable-pip-version-check", "--progress-bar", "off",
            *(requirement for _, requirement in OPTIONAL)]


def format_command(command: list[str]) -> str:
    """`command` as one line to paste into this system's terminal."""
    if sys.platform == "win32":
        return subprocess.list2cmdline(command)
    return shlex.join(command)


def check_online(online: bool, command: list[str]) -> None:
    """Raise `InputError` when Blender may not go online (the message gives `command`)."""
    if not online:
        raise InputError("Online access is off. Allow Online Access in Preferences > System > "
                         "Network, or install the wheels yourself with: "
                         + format_command(command))


def install(device: str = "cpu", progress: ProgressFn = no_progress,
            should_cancel: CancelFn = never_cancel, *, target: Path | None = None,
            python: str | None = None, online: bool | None = None) -> InstallResult:
    """Install `REQUIRED` with pip into `target` (default `site_packages_dir()`), then
    `OPTIONAL` (a failure there is logged, not raised: `InstallResult.optional_missing`).

    progress(done, total, message) gets each line pip prints (from a reader thread while
    pip runs, from the calling thread otherwise); should_cancel() is polled several times
    a second and terminates pip. pip writes into a staging folder next to `target`, which
    replaces `target` only when pip succeeded. Raises `InputError` when
    `online` (default `bpy.app.online_access`) is false, `Cancelled` when cancelled and
    `LipSyncError` when pip fails; in all three cases `target` is as it was. Call `target`,
    `online` and the default `python` on the main thread (they read bpy), or pass them in.
    """
    if target is None:
        target = site_packages_dir()
    if online is None:
        import bpy

        online = bpy.app.online_access
    target = Path(target)
    python = python or sys.executable
    check_online(online, pip_command(target, device, python))
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{_STAGING}", dir=target.parent))
    try:
        _ensure_pip(python, progress, should_cancel)
        progress(0, TOTAL, "running pip")
        code, tail = _run(pip_command(staging, device, python), _PipProgress(progress),
                          should_cancel)
        if code != 0:
            raise LipSyncError(f"pip failed (exit code {code}); nothing was changed. "
                               "Its last lines: " + " | ".join(tail[-6:]))
        progress(TOTAL - 4, TOTAL, "installing the optional face landmark model")
        code, tail = _run(optional_pip_command(staging, python), lambda line: None,
                          should_cancel)
        if code != 0:
            log.warning("the optional face landmark model was not installed (pip exit code "
                        "%s): %s", code, " | ".join(tail[-4:]))
        _prune(staging)
        progress(TOTAL - 2, TOTAL, "moving the new modules into place")
        loaded_before = tuple(name for name, _ in REQUIRED if name in sys.modules)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if str(target) not in sys.path:
        sys.path.append(str(target))
    missing = refresh()
    progress(TOTAL, TOTAL, "done")
    return InstallResult(target, tuple(missing), loaded_before, tuple(missing_optional()))


class _PipProgress:
    """Turns pip's lines into progress calls. pip gives no total: about 40 distributions are
    collected (2 units each, up to 80), then installed (85) and reported (95)."""

    def __init__(self, progress: ProgressFn):
        self.progress = progress
        self.done = 0

    def __call__(self, line: str) -> None:
        if line.startswith(("Collecting", "Processing")):
            self.done = min(self.done + 2, 80)
        elif line.startswith("Installing collected packages"):
            self.done = max(self.done, 85)
        elif line.startswith("Successfully installed"):
            self.done = 95
        self.progress(self.done, TOTAL, line[:200])


def _run(command: list[str], on_line: Callable[[str], None],
         should_cancel: CancelFn) -> tuple[int, list[str]]:
    """Run `command`, hand each output line to `on_line` (on a reader thread); returns
    (exit code, last lines). Terminates the process and raises `Cancelled` as soon as
    `should_cancel()` is true."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                            errors="replace", env=env,
                            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    tail: collections.deque = collections.deque(maxlen=20)

    def take(line: str) -> None:
        line = line.rstrip()
        if line:
            log.info("pip: %s", line)
            tail.append(line)
            on_line(line)

    def check() -> None:
        if should_cancel():
            raise Cancelled("dependency install cancelled: nothing was changed")

    code = follow_lines(proc, proc.stdout, take, check=check, grace_s=10, join_s=5)
    return code, list(tail)


def _ensure_pip(python: str, progress: ProgressFn, should_cancel: CancelFn) -> None:
    """Run ensurepip when `python -m pip` is missing (into the user site if Blender's own
    folder is read-only)."""
    code, _ = _run([python, "-m", "pip", "--version"], lambda line: None, should_cancel)
    if code == 0:
        return
    progress(0, TOTAL, "installing pip (ensurepip)")
    tail: list[str] = []
    for extra in ([], ["--user"]):
        code, tail = _run([python, "-m", "ensurepip", *extra], lambda line: None, should_cancel)
        if code == 0:
            return
    raise LipSyncError("Blender's Python has no pip and ensurepip failed: "
                       + " | ".join(tail[-4:]))


def _prune(staging: Path) -> None:
    """Remove the numpy pip put beside the rest (--target ignores what is installed):
    Blender's own numpy, the same version, is the one to use."""
    for path in staging.iterdir():
        name = path.name.lower()
        if name in ("numpy", "numpy.libs") or (name.startswith("numpy-")
                                              and name.endswith(".dist-info")):
            shutil.rmtree(path, ignore_errors=True)


def _swap(staging: Path, target: Path) -> None:
    """Put `staging` where `target` is; on failure `target` is as it was."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}{_OLD}", dir=target.parent))
        old.rmdir()
        try:
            os.replace(target, old)
        except OSError as exc:
            raise LipSyncError(f"Cannot replace {target} ({exc.strerror}): its modules are in "
                               "use. Restart Blender and install again before running Lip "
                               "Sync.") from exc
    try:
        os.replace(staging, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(target: Path) -> None:
    """Remove staging and old folders a crashed install left beside `target`."""
    for prefix in (f".{target.name}{_STAGING}", f".{target.name}{_OLD}"):
        for path in target.parent.glob(prefix + "*"):
            shutil.rmtree(path, ignore_errors=True)
