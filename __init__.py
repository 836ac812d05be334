"""Lip Sync: make a rendered character speak an audio track (Blender extension).

The repository root is both the Blender extension and the Python package
`lipsync`. Importing it does nothing heavy: Blender's `register` and
`unregister` import `addon` on demand, and `lipsync.core` never imports bpy.
"""


def register() -> None:
    """Register the add-on's classes, properties and headless command (Blender only)."""
    from . import addon

    addon.register()


def unregister() -> None:
    """Undo `register`."""
    from . import addon

    addon.unregister()
