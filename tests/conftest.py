"""Shared test set-up: keep Blender's user files out of the home directory."""

import os
import tempfile

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="lipsync-blender-user-"))
