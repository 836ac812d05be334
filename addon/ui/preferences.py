"""Add-on preferences: the Python modules Lip Sync needs, and the button that installs them.

The install is a job (`InstallJob`) for the same modal driver as the lip-sync operators
(`modal.ModalJobOperator`): `dependencies.install` runs on a worker thread, the modal timer
shows its progress, and Esc cancels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import bpy
from bpy.props import EnumProperty

from ...core.errors import LipSyncError
from ...core.progress import CancelFn, ProgressFn
from .. import dependencies
from .modal import ModalJobOperator

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


class InstallJob:
    """`dependencies.install` as a job for `JobRunner`: no main-thread steps, pip on the
    worker thread. What reads bpy (`target`, `online`) is passed in from the main thread;
    on failure or cancel `install` itself leaves `target` as it was."""

    main_share = 0.0                # the whole progress bar is pip's

    def __init__(self, device: str, target: Path, online: bool, python: str | None = None):
        self.device, self.target, self.online, self.python = device, target, online, python
        self.result: dependencies.InstallResult | None = None

    def prepare(self) -> None:
        """Nothing to check before pip runs (`install` checks online access itself)."""

    def main_thread_steps(self) -> Iterator[tuple[int, int, str]]:
        yield from ()

    def compute(self, progress: ProgressFn, should_cancel: CancelFn) -> None:
        self.result = dependencies.install(self.device, progress, should_cancel,
                                           target=self.target, online=self.online,
                                           python=self.python)

    def finish(self) -> dependencies.InstallResult:
        return self.result

    def abort(self) -> None:
        """Nothing to remove: `install` cleans up its staging folder itself."""


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


class LIPSYNC_OT_install_dependencies(ModalJobOperator, bpy.types.Operator):
    """Download torch, OpenCV, librosa, scipy, soundfile and soxr with pip into the add-on's
    user folder (Esc cancels; nothing changes unless the install succeeds)"""

    bl_idname = "lipsync.install_dependencies"
    bl_label = "Install Dependencies"

    device: EnumProperty(name="Device", items=DEVICES, default="CPU", options={"SKIP_SAVE"})

    task = "Install"
    cancelled_message = "Install cancelled: nothing was changed"
    timer_step = 0.1
    redraw_areas = frozenset({"PREFERENCES", "VIEW_3D", "SEQUENCE_EDITOR"})

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
        return self.report_result(result)

    def make_job(self, context) -> InstallJob:
        """The install; its target folder and online access are read here (main thread)."""
        return InstallJob(self.device.lower(), dependencies.site_packages_dir(),
                          bpy.app.online_access)

    def progress_state(self, context) -> type[InstallState]:
        return InstallState

    def report_result(self, result: dependencies.InstallResult) -> set[str]:
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
        if result.optional_missing:
            self.report({"WARNING"}, "The optional face landmark model (dlib) has no wheel for "
                                     "this system: real footage without keypoints uses the "
                                     "face parser")
        return {"FINISHED"}


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


CLASSES = (LIPSYNC_AP_preferences, LIPSYNC_OT_install_dependencies, LIPSYNC_OT_copy_pip_command)
