"""`make extension` builds a valid zip; installing it into the bpy module enables the add-on."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytest.importorskip("bpy")
pytestmark = [pytest.mark.blender, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
# what users never run: training, the data factory, the evaluation and its judge, benchmarks
LAB = ("core/train/", "core/dataset/", "core/evaluate/", "addon/factory/", "addon/demo.py",
       "benchmarks/", "models/judge.")

INSTALL = r"""
import sys, bpy
zip_path = sys.argv[1]
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                         enable_on_install=True)
import addon_utils
enabled = [m for m in bpy.context.preferences.addons.keys() if m.endswith("lipsync")]
print("ENABLED", enabled)
print("OPERATOR", hasattr(bpy.ops.lipsync, "preprocess") and bpy.ops.lipsync.preprocess.idname())
print("PANELS", hasattr(bpy.types, "LIPSYNC_PT_view3d"), hasattr(bpy.types, "LIPSYNC_PT_sequencer"))
print("SETTINGS", hasattr(bpy.types.Scene, "lipsync"))
import importlib, pkgutil
package = "bl_ext.user_default.lipsync"
broken = []
for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
    try:
        importlib.import_module(info.name)          # every module the zip ships imports
    except ImportError as exc:
        broken.append(f"{info.name}: {exc}")
print("BROKEN", broken)
models = importlib.import_module(package + ".core.pipeline.models").LipSyncModels.load("cpu")
print("MODELS", models.size, sorted(m for m in sys.modules if m.startswith(package + ".core.")
                                    and m.split(".")[4] in {"train", "dataset", "evaluate"}))
"""


def test_built_zip_installs_and_enables(tmp_path):
    tool = (Path(sysconfig.get_paths()["purelib"])
            / "bpy/5.0/scripts/addons_core/bl_pkg/cli/blender_ext.py")
    subprocess.run([sys.executable, str(tool), "build", "--source-dir", str(ROOT),
                    "--output-dir", str(tmp_path)], check=True, capture_output=True)
    (zip_path,) = tmp_path.glob("lipsync-*.zip")
    check = subprocess.run([sys.executable, str(tool), "validate", str(zip_path)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    import zipfile

    names = zipfile.ZipFile(zip_path).namelist()
    assert "blender_manifest.toml" in names and "addon/jobs/preprocess_job.py" in names
    assert not any(n.startswith(("tests/", ".venv/", ".git/")) for n in names)
    lab = [n for n in names if n.startswith(LAB)]
    assert lab == [], f"the extension zip ships the lab: {lab}"
    assert {"models/sync.safetensors", "models/generator.safetensors",
            "models/parser.safetensors", "models/visemes.safetensors"} <= set(names)

    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    out = subprocess.run([sys.executable, "-c", INSTALL, str(zip_path)], env=env,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert "ENABLED ['bl_ext.user_default.lipsync']" in out.stdout, out.stdout + out.stderr
    assert "OPERATOR LIPSYNC_OT_preprocess" in out.stdout
    assert "PANELS True True" in out.stdout and "SETTINGS True" in out.stdout
    assert "BROKEN []" in out.stdout, out.stdout + out.stderr   # no product module needs the lab
    assert "MODELS 64 []" in out.stdout, out.stdout + out.stderr   # the zip's pipeline runs
