"""`lipsync.core` never imports Blender: every module imports with bpy made unimportable."""

import pkgutil
import subprocess
import sys

import lipsync.core

BLOCK = """
import sys, importlib, pkgutil
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'bpy', 'bmesh', 'mathutils', 'aud', 'bpy_extras'}:
            raise ImportError('core must not import ' + name)
sys.meta_path.insert(0, Block())
import lipsync.core
for info in pkgutil.walk_packages(lipsync.core.__path__, 'lipsync.core.'):
    importlib.import_module(info.name)
    print(info.name)
"""


def test_every_core_module_imports_without_bpy():
    out = subprocess.run([sys.executable, "-c", BLOCK], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    modules = set(out.stdout.split())
    expected = {f"lipsync.core.{m.name}" for m in pkgutil.iter_modules(lipsync.core.__path__)}
    assert expected <= modules and len(modules) > 10
