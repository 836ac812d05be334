"""Add-on preferences: the Python modules Lip Sync needs, and the button that installs them.

The install runs `dependencies.install` on a worker thread; a modal timer drains its
progress queue on the main thread, shows a progress bar, and cancels on Esc.
"""

from __future__ import annotations

import queue
import threading

import bpy
from bpy.props import EnumProperty

from ..core.errors import Cancelled, LipSyncError
from . import dependencies

DEVICES = [
    ("CPU", "CPU", "PyTorch for the processor: the smaller download, works on every computer"),
    ("CUDA", "CUDA (NVIDIA)", "PyTorch built for CUDA 13: an NVIDIA GPU with driver 580 or "
                              "newer; a download of several GB"),
]


class InstallState:
    """The running install, for the preferences' progress bar (one per Blender session)."""

    running = False
    progress = 0.0
    message = ""


class LIPSYNC_AP_preferences(bpy.types.AddonPreferences):
    """Lip Sync's preferences: its Python modules and their installer."""

    bl_idname = dependencies.root_package()

    device: EnumProperty(name="Device", items=DEVICES, default="CPU",
                         description="Which PyTorch build to install")

    @classmethod
    def register(cls):
        """Called by Blender when the class registers: the installed modules become importable."""
        dependencies.ensure_on_path()

    @classmethod
    def unregister(cls):
        dependencies.remove_from_path()

    def draw(self, context):
        layout = self.layout
        missing = dependencies.missing_modules()
        col = layout.column()
        col.label(text="Python modules Lip Sync needs (Blender does not ship them):")
        for name, requirement in dependencies.REQUIRED:
            found = name not in missing
            col.label(text=f"{name}: {'found' if found else 'missing'} ({requirement})",
                      icon="CHECKMARK" if found else "ERROR")
        col.label(text=f"Installed into: {dependencies.site_packages_dir()}", icon="FILE_FOLDER")

        layout.prop(self, "device", expand=True)
        if InstallState.running:
            layout.progress(factor=InstallState.progress, type="BAR",
                            text=f"{InstallState.message} (Esc to cancel)")
            return
        online = bpy.app.online_access
        row = layout.row()
        row.enabled = online
        row.operator(LIPSYNC_OT_install_dependencies.bl_idname, icon="IMPORT").device = self.device
        if not online:
            col = layout.column()
            col.label(text="Online access is off: allow it in Preferences > System > Network,",
                      icon="INFO")
            col.label(text="or run the pip command in a terminal with Blender closed:")
            col.operator(LIPSYNC_OT_copy_pip_command.bl_idname,
                         icon="COPYDOWN").device = self.device


class LIPSYNC_OT_install_dependencies(bpy.types.Operator):
    """Download torch, OpenCV, librosa, scipy, soundfile and soxr with pip into the add-on's
    user folder (Esc cancels; nothing changes unless the install succeeds)"""

    bl_idname = "lipsync.install_dependencies"
    bl_label = "Install Dependencies"

    device: EnumProperty(name="Device", items=DEVICES, default="CPU", options={"SKIP_SAVE"})

    _runner = None  # InstallRunner while running
    _timer = None

    @classmethod
    def poll(cls, context):
        if InstallState.running:
            cls.poll_message_set("An install is already running")
            return False
        if not bpy.app.online_access:
            cls.poll_message_set("Online access is off (Preferences > System > Network)")
            return False
        return True

    def execute(self, context):
        """Synchronous install (scripts, background mode)."""
        try:
            result = dependencies.install(self.device.lower())
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return self._report_result(result)

    def invoke(self, context, event):
        try:  # bpy is read here, on the main thread
            target = dependencies.site_packages_dir()
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self._runner = InstallRunner(self.device.lower(), target, bpy.app.online_access)
        self._runner.start()
        InstallState.running, InstallState.progress, InstallState.message = True, 0.0, "starting"
        wm = context.window_manager
        wm.progress_begin(0.0, 1.0)
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._runner.cancel()
        elif event.type != "TIMER":
            return {"PASS_THROUGH"}
        state = self._runner.tick()
        InstallState.progress, InstallState.message = self._runner.progress, self._runner.message
        context.window_manager.progress_update(self._runner.progress)
        _redraw(context)
        if state == "RUNNING":
            return {"RUNNING_MODAL"}
        self._stop(context)
        if state == "DONE":
            return self._report_result(self._runner.result)
        error = self._runner.error
        if isinstance(error, Cancelled):
            self.report({"WARNING"}, "Install cancelled: nothing was changed")
        elif isinstance(error, LipSyncError):
            self.report({"ERROR"}, str(error))
        else:
            self.report({"ERROR"}, f"Install failed unexpectedly: {error!r} (see the console)")
            raise error
        return {"CANCELLED"}

    def _report_result(self, result: dependencies.InstallResult) -> set[str]:
        if result.missing:
            self.report({"ERROR"}, f"Installed into {result.target}, but "
                                   f"{', '.join(result.missing)} still cannot be found: "
                                   "restart Blender")
            return {"CANCELLED"}
        if result.restart_required:
            self.report({"WARNING"}, "Dependencies installed: restart Blender to load the new "
                                     f"versions of {', '.join(result.loaded_before)}")
        else:
            names = ", ".join(name for name, _ in dependencies.REQUIRED)
            self.report({"INFO"}, f"Dependencies installed: {names} are available now "
                                  "(no restart needed)")
        return {"FINISHED"}

    def _stop(self, context) -> None:
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        InstallState.running, InstallState.message = False, ""
        _redraw(context)

    def cancel(self, context):
        """Blender is closing the operator: stop pip (the worker removes its staging folder)."""
        if self._runner is not None:
            self._runner.cancel()
            self._runner.join()
        self._stop(context)


class InstallRunner:
    """Runs `dependencies.install` on a worker thread; call `tick()` from the modal timer.

    `tick()` returns 'RUNNING', 'DONE' (see `result`) or 'FAILED' (see `error`); `progress`
    (0..1) and `message` say where pip is. Everything that reads bpy (`target`, `online`)
    is passed in from the main thread.
    """

    def __init__(self, device: str, target, online: bool, python: str | None = None):
        self.progress, self.message = 0.0, "starting"
        self.result: dependencies.InstallResult | None = None
        self.error: BaseException | None = None
        self._args = (device, target, online, python)
        self._cancel = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="lipsync-install", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Ask pip to stop; a later `tick()` reports FAILED with `Cancelled`."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _work(self) -> None:
        device, target, online, python = self._args

        def progress(done, total, message=""):
            self._events.put(("progress", done / total if total else 0.0, message))

        try:
            result = dependencies.install(device, progress, self._cancel.is_set, target=target,
                                          online=online, python=python)
            self._events.put(("done", result, ""))
        except BaseException as exc:  # handed to the main thread, which reports it
            self._events.put(("error", exc, ""))

    def tick(self) -> str:
        while True:
            try:
                kind, value, message = self._events.get_nowait()
            except queue.Empty:
                return "RUNNING"
            if kind == "progress":
                self.progress, self.message = value, message
                continue
            self._thread.join()
            if kind == "done":
                self.result, self.progress, self.message = value, 1.0, "done"
                return "DONE"
            self.error = value
            return "FAILED"


class LIPSYNC_OT_copy_pip_command(bpy.types.Operator):
    """Copy the pip command that installs the dependencies by hand into the add-on's folder"""

    bl_idname = "lipsync.copy_pip_command"
    bl_label = "Copy pip Command"

    device: EnumProperty(name="Device", items=DEVICES, default="CPU", options={"SKIP_SAVE"})

    def execute(self, context):
        try:
            command = dependencies.format_command(dependencies.pip_command(
                dependencies.site_packages_dir(), self.device.lower()))
        except LipSyncError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        context.window_manager.clipboard = command
        self.report({"INFO"}, f"Copied to the clipboard: {command}")
        return {"FINISHED"}


def _redraw(context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {"PREFERENCES", "VIEW_3D", "SEQUENCE_EDITOR"}:
                area.tag_redraw()


CLASSES = (LIPSYNC_AP_preferences, LIPSYNC_OT_install_dependencies, LIPSYNC_OT_copy_pip_command)
