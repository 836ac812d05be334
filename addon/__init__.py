"""Everything that imports bpy: properties, operators, panels, headless command, data factory.

`register`/`unregister` are called by the extension root (`lipsync.register`). Importing this
package does not import bpy, so worker processes and command lines can import submodules
(e.g. `addon.factory.dataset`) that only need bpy inside their workers.
"""

from __future__ import annotations

_unregister_classes = None
_cli_handle = None


def register() -> None:
    global _cli_handle, _unregister_classes
    import bpy

    from . import headless
    from .ui import operators, panels, preferences, properties

    register_classes, _unregister_classes = bpy.utils.register_classes_factory(
        properties.CLASSES + operators.CLASSES + panels.CLASSES + preferences.CLASSES)
    register_classes()
    properties.attach()
    _cli_handle = bpy.utils.register_cli_command("lipsync", headless.blender_command)


def unregister() -> None:
    global _cli_handle, _unregister_classes
    import bpy

    from .ui import properties

    if _cli_handle is not None:
        bpy.utils.unregister_cli_command(_cli_handle)
        _cli_handle = None
    properties.detach()
    if _unregister_classes is not None:
        _unregister_classes()
        _unregister_classes = None
