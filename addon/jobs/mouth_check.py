"""Check a character's mouth before a long run: one frame rendered through the camera,
with the 25 mouth keypoints and the face box drawn over it, and where the lips came from
(a vertex group, the mouth's shape keys, a jaw bone or a material)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

from ...core.preprocess.frames import read_frame
from ...core.preprocess.keypoints import Face, draw_keypoints
from ..blender import projection, render


@dataclass(frozen=True)
class MouthCheck:
    """The drawn frame (H, W, 3) uint8 RGB and what it shows."""

    image: np.ndarray
    character: str
    frame: int
    source: str          # where the lips came from, e.g. "vertex group 'mouth'"
    visible: int         # keypoints visible on the frame, of 25

    def summary(self) -> str:
        return (f"mouth of '{self.character}' from {self.source}: {self.visible} of 25 "
                f"keypoints visible at frame {self.frame}")


def check_mouth(scene, character: str, mouth_group: str, frame: int) -> MouthCheck:
    """Render scene `frame` and draw `character`'s mouth keypoints over it. InputError for
    a missing camera or mesh, or a mouth that cannot be found; the scene's current frame
    is restored."""
    camera = render.require_camera(scene)
    obj = projection.require_mesh(scene, character)
    projector = projection.MouthProjector(scene, obj, camera, mouth_group)
    frame_current = scene.frame_current
    try:
        points, visible, box = projector.project(frame)
        with tempfile.TemporaryDirectory(prefix="lipsync-check-") as tmp:
            image = read_frame(render.render_frame(scene, frame, os.path.join(tmp, "f.png")))
    finally:
        scene.frame_set(frame_current)
    face = Face(points if visible.any() else None, visible, tuple(float(v) for v in box))
    drawn = draw_keypoints(image, [face] if box[2] > box[0] and box[3] > box[1] else [])
    return MouthCheck(drawn, obj.name, frame, projector.mouth_source, int(visible.sum()))
