"""The painted-mouth finder on the anime avatar made elsewhere, its mouth keys taken away.

    python benchmarks/bench_painted_mouth.py [--avatar build/avatars/anime.blend]
        [--turns 0,15,-15,30,-30,45,-45]

The anime avatar of `benchmarks/avatars.py` has its mouth as a thin line painted in the
skin's image over a cut. With its shape keys removed and its mouth-bag material renamed,
nothing but the paint shows where the mouth is. For each head turn (degrees about the
vertical, the camera in front) the benchmark runs the product's projector and prints:
whether the mouth was found, its ends' distance from the painted line's ends (mouth widths,
object space), the lip points' height off the line (mouth widths) and the finder's seconds.
The "do nothing" baseline is an error: without the painted finder the character has no mouth.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def measure(avatar: Path, turns: list[int]) -> None:
    import bpy

    from avatars import ANIME
    from lipsync.addon.blender.projection import MouthProjector
    from lipsync.core.errors import InputError

    line_z, half_width = ANIME.mouth[:2]
    print("turn  found  left end  right end  height off  seconds   (mouth widths)")
    for turn in turns:
        bpy.ops.wm.open_mainfile(filepath=str(avatar))
        scene = bpy.context.scene
        obj = scene.objects["Avatar"]
        obj.shape_key_clear()
        for material in bpy.data.materials:
            material.name = material.name.replace("mouth", "bag")
        obj.rotation_euler = (0, 0, np.radians(turn))
        camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
        camera.location, camera.rotation_euler = (0, -0.5, -0.03), (np.pi / 2, 0, 0)
        scene.collection.objects.link(camera)
        scene.camera = camera
        projector = MouthProjector(scene, obj, camera)
        start = time.perf_counter()
        try:
            projector.project(1)
        except InputError:
            print(f"{turn:4d}  no     {time.perf_counter() - start:33.2f}")
            continue
        seconds = time.perf_counter() - start
        co = np.array([v.co for v in obj.data.vertices])
        lips = projector.lips.at(co)
        width = 2 * half_width
        print(f"{turn:4d}  yes    {abs(lips[:, 0].min() + half_width) / width:8.3f}  "
              f"{abs(lips[:, 0].max() - half_width) / width:9.3f}  "
              f"{np.abs(lips[:, 2] - line_z).max() / width:10.3f}  {seconds:7.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--avatar", default="build/avatars/anime.blend",
                        help="the anime avatar (built by benchmarks/avatars.py when missing)")
    parser.add_argument("--turns", default="0,15,-15,30,-30,45,-45", help="degrees")
    args = parser.parse_args(argv)
    avatar = Path(args.avatar)
    if not avatar.is_file():
        subprocess.run([sys.executable, str(HERE / "avatars.py"), "--out", str(avatar.parent),
                        "--only", "anime"], check=True)
    measure(avatar.resolve(), [int(t) for t in args.turns.split(",")])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
