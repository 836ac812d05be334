"""A sphere head with a face painted in its texture, as arrays (no bpy): the test
characters of the painted-mouth finder, shared by the core and Blender tests.

The head is a unit sphere seen from -Y (the camera looks along +Y, up +Z); a point at
longitude `lon` and latitude `lat` (radians) is (cos lat sin lon, -cos lat cos lon, sin lat),
so lon = 0 faces the camera. Its texture maps u = (lon + pi) / 2 pi, v = (lat + pi/2) / pi,
or, `mirrored`, both halves of the face onto the same texels (u = 0.25 + |lon| / 2 pi).
"""

from __future__ import annotations

import numpy as np

SKIN, MOUTH, EYE, BLUSH, HAIR = ((0.95, 0.80, 0.70), (0.55, 0.12, 0.15), (0.15, 0.10, 0.20),
                                 (0.98, 0.55, 0.60), (0.30, 0.20, 0.12))
MOUTH_LON, MOUTH_LAT, MOUTH_HALF = 0.30, -0.35, 0.025   # corners at lon +-0.30


def paint(lon: np.ndarray, lat: np.ndarray, mouth: bool = True, mouth_lon: float = 0.0):
    """(..., 3) RGB of the face at (lon, lat): skin, eyes, blush, hair and (`mouth`) a
    mouth line centred on `mouth_lon`."""
    out = np.empty(lon.shape + (3,))
    out[:] = SKIN
    for side in (-1, 1):
        out[((lon - side * 0.35) / 0.12) ** 2 + ((lat - 0.15) / 0.10) ** 2 < 1] = EYE
        out[((lon - side * 0.55) / 0.10) ** 2 + ((lat + 0.12) / 0.05) ** 2 < 1] = BLUSH
    out[lat > 0.75] = HAIR
    if mouth:
        out[(np.abs(lon - mouth_lon) < MOUTH_LON) & (np.abs(lat - MOUTH_LAT) < MOUTH_HALF)] = MOUTH
    return out


def sphere(n_lon: int = 96, n_lat: int = 48, mirrored: bool = False):
    """positions (N, 3), triangles (T, 3) int64, uvs (T, 3, 2) of the head."""
    lons = np.linspace(-np.pi, np.pi, n_lon + 1)
    lats = np.linspace(-np.pi / 2, np.pi / 2, n_lat + 1)
    lon, lat = np.meshgrid(lons, lats)                            # (n_lat+1, n_lon+1)
    positions = np.stack([np.cos(lat) * np.sin(lon), -np.cos(lat) * np.cos(lon),
                          np.sin(lat)], axis=-1).reshape(-1, 3)
    u = 0.25 + np.abs(lon) / (2 * np.pi) if mirrored else (lon + np.pi) / (2 * np.pi)
    uv = np.stack([u, (lat + np.pi / 2) / np.pi], axis=-1).reshape(-1, 2)
    idx = np.arange((n_lat + 1) * (n_lon + 1)).reshape(n_lat + 1, n_lon + 1)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    triangles = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                                np.stack([a, c, d], -1).reshape(-1, 3)])
    return positions, triangles.astype(np.int64), uv[triangles]


def texture(size: int = 512, mirrored: bool = False, **kwargs) -> np.ndarray:
    """(size, size, 3) float texture of the face (row 0 at v = 0)."""
    u, v = np.meshgrid((np.arange(size) + 0.5) / size, (np.arange(size) + 0.5) / size)
    lon = (u - 0.25) * 2 * np.pi if mirrored else u * 2 * np.pi - np.pi
    return paint(lon, v * np.pi - np.pi / 2, **kwargs)


def mouth_corners() -> np.ndarray:
    """(2, 3) the painted mouth's left and right ends on the sphere."""
    lat = MOUTH_LAT
    return np.array([[np.cos(lat) * np.sin(s * MOUTH_LON), -np.cos(lat) * np.cos(MOUTH_LON),
                      np.sin(lat)] for s in (-1, 1)])
