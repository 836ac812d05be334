"""Everything that imports bpy: properties, operators, panels, headless command.

`register`/`unregister` are called by the extension root (`lipsync.register`).
"""

from __future__ import annotations

import bpy

from . import headless, operators, panels, properties

_register_classes, _unregister_classes = bpy.utils.register_classes_factory(
    properties.CLASSES + operators.CLASSES + panels.CLASSES)
_cli_handle = None


def register() -> None:
    global _cli_handle
    _register_classes()
    properties.attach()
    _cli_handle = bpy.utils.register_cli_command("lipsync", headless.blender_command)


def unregister() -> None:
    global _cli_handle
    if _cli_handle is not None:
        bpy.utils.unregister_cli_command(_cli_handle)
        _cli_handle = None
    properties.detach()
    _unregister_classes()
