"""pyproject.toml lists exactly the package folders that exist (a missing or extra entry
breaks `pip install` or leaves modules out of a non-editable install)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_lists_every_package_folder():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {"lipsync"} | {
        "lipsync." + ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("core", "addon") for init in (ROOT / top).rglob("__init__.py")
    }
    assert listed == found
