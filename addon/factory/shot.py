"""A shot around a factory character: camera, lights, world and small head motion, seeded.

Angles are degrees; the camera's yaw turns it around the face's up axis (0 = straight on),
pitch raises or lowers it; distance is chosen so the face fills `face_fill` of the frame
height at the chosen focal length.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

ENGINES = ("BLENDER_WORKBENCH", "CYCLES", "BLENDER_EEVEE")
EEVEE_SAMPLES = 4   # anti-aliasing samples: EEVEE on software GL takes about 4 s a frame here


@dataclass(frozen=True)
class ShotSpec:
    """Everything random about one shot except the character and the speech."""

    seed: int
    engine: str            # one of ENGINES; the seeded mix holds no EEVEE (a held-out engine)
    fps: int               # 24, 25 or 30 unless the data set sets one
    resolution: int        # square frames, px
    yaw_deg: float         # camera around the face, [-40, 40]
    pitch_deg: float       # camera above (+) or below (-) the face, [-20, 20]
    focal_mm: float        # lens, 35-85 mm
    face_fill: float       # face height / frame height, 0.45-0.8
    key_energy: float      # sun strength
    key_azimuth_deg: float
    key_elevation_deg: float
    key_colour: tuple[float, float, float]
    world_colour: tuple[float, float, float]
    world_strength: float
    head_sway_deg: float   # amplitude of the slow head motion, [0, 4]
    head_sway_hz: float
    cycles_samples: int

    @classmethod
    def random(cls, seed: int, engine: str | None = None, cycles_share: float = 0.3,
               fps: int | None = None, resolution: int = 128) -> "ShotSpec":
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5407]))
        drawn_engine = "CYCLES" if rng.random() < cycles_share else "BLENDER_WORKBENCH"
        engine = engine or drawn_engine   # drawn either way: `engine` changes nothing else
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        warm = rng.uniform(-0.1, 0.1)
        drawn_fps = int(rng.choice([24, 25, 30]))   # drawn either way: `fps` changes nothing else
        return cls(
            seed=seed, engine=engine, fps=int(fps or drawn_fps),
            resolution=resolution,
            yaw_deg=float(rng.uniform(-40, 40)), pitch_deg=float(rng.uniform(-20, 20)),
            focal_mm=float(rng.uniform(35, 85)), face_fill=float(rng.uniform(0.45, 0.8)),
            key_energy=float(rng.uniform(2.0, 5.0)),
            key_azimuth_deg=float(rng.uniform(-70, 70)),
            key_elevation_deg=float(rng.uniform(10, 60)),
            key_colour=(1.0, float(1.0 - abs(warm) / 2), float(1.0 - warm)),
            world_colour=tuple(float(c) for c in rng.uniform(0.05, 0.6, size=3)),
            world_strength=float(rng.uniform(0.4, 1.2)),
            head_sway_deg=float(rng.uniform(0.0, 4.0)), head_sway_hz=float(rng.uniform(0.1, 0.5)),
            cycles_samples=int(rng.choice([8, 16])),
        )

    def to_dict(self) -> dict:
        return asdict(self)


def _look_rotation(direction):
    """Euler rotation that points a camera (looking down -Z, +Y up) along `direction`."""
    from mathutils import Vector

    return Vector(direction).to_track_quat("-Z", "Y").to_euler()


def setup_shot(scene, character_object, anchor, spec: ShotSpec):
    """Add camera, key light and world to `scene` and animate a small head sway.

    anchor: (mouth centre (3,), face forward unit (3,), face height m), from the character.
    Returns the camera object.
    """
    import bpy

    mouth, forward, face_height = (np.asarray(anchor[0], float), np.asarray(anchor[1], float),
                                   float(anchor[2]))
    up = np.array([0.0, 0.0, 1.0])
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    yaw, pitch = math.radians(spec.yaw_deg), math.radians(spec.pitch_deg)
    view = (forward * math.cos(yaw) + right * math.sin(yaw)) * math.cos(pitch) + up * math.sin(pitch)
    sensor = 36.0
    distance = face_height * spec.focal_mm / (sensor * spec.face_fill)
    target = mouth + up * face_height * 0.25  # frame the face, not just the mouth

    cam_data = bpy.data.cameras.new(f"ShotCamera{spec.seed}")
    cam_data.lens, cam_data.sensor_width, cam_data.sensor_fit = spec.focal_mm, sensor, "VERTICAL"
    cam_data.sensor_height = sensor
    camera = bpy.data.objects.new(cam_data.name, cam_data)
    camera.location = tuple(target + view * distance)
    camera.rotation_euler = _look_rotation(tuple(-view))
    scene.collection.objects.link(camera)
    scene.camera = camera

    sun_data = bpy.data.lights.new(f"Key{spec.seed}", "SUN")
    sun_data.energy, sun_data.color = spec.key_energy, spec.key_colour
    sun = bpy.data.objects.new(sun_data.name, sun_data)
    az, el = math.radians(spec.key_azimuth_deg), math.radians(spec.key_elevation_deg)
    to_light = (forward * math.cos(az) + right * math.sin(az)) * math.cos(el) + up * math.sin(el)
    sun.rotation_euler = _look_rotation(tuple(-to_light))
    scene.collection.objects.link(sun)

    world = scene.world or bpy.data.worlds.new(f"World{spec.seed}")
    scene.world = world
    if world.node_tree is None:        # Blender < 5.0; from 5.0 every world has its nodes
        world.use_nodes = True
    background = world.node_tree.nodes.get("Background")
    background.inputs["Color"].default_value = (*spec.world_colour, 1.0)
    background.inputs["Strength"].default_value = spec.world_strength
    world.color = spec.world_colour

    render = scene.render
    render.engine = spec.engine
    render.resolution_x = render.resolution_y = spec.resolution
    render.resolution_percentage = 100
    render.fps, render.fps_base = spec.fps, 1.0
    if spec.engine == "CYCLES":
        scene.cycles.samples = spec.cycles_samples
        scene.cycles.use_denoising = False
        scene.cycles.device = "CPU"
    elif spec.engine == "BLENDER_EEVEE":
        scene.eevee.taa_render_samples = EEVEE_SAMPLES

    _sway(scene, character_object, spec)
    return camera


def _sway(scene, obj, spec: ShotSpec) -> None:
    """Keyframe a slow, small rotation of the head about its own axes (every 4th frame)."""
    base = tuple(obj.rotation_euler)
    amplitude = math.radians(spec.head_sway_deg)
    for frame in range(scene.frame_start, scene.frame_end + 1, 4):
        t = (frame - scene.frame_start) / spec.fps
        phase = 2 * math.pi * spec.head_sway_hz * t
        obj.rotation_euler = (base[0] + amplitude * 0.5 * math.sin(phase * 1.3),
                              base[1] + amplitude * 0.3 * math.sin(phase * 0.7 + 1.0),
                              base[2] + amplitude * math.sin(phase))
        obj.keyframe_insert("rotation_euler", frame=frame)
    obj.rotation_euler = base
