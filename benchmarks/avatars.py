"""Two test avatars "made elsewhere": plain bpy and numpy, nothing of the project's factory.

    python benchmarks/avatars.py --out build/avatars [--seed 0] [--only realistic|anime]

realistic.blend (Oculus / Ready Player Me visemes), anime.blend (VRoid's Fcl_MTH_*): one mesh
"Avatar", a head at real scale (m, facing -Y, +Z up), the mouth closed in the basis, the lips a
real cut folding inward into a dark mouth bag with teeth and tongue; skin: a packed image.
"""

import argparse
from collections import namedtuple
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

TAU = 2 * np.pi
TEXTURE = (2048, 1024)     # lat-long skin image, px
GRID = (256, 224)          # head grid: columns around, rings from pole to pole
EYE_RADIUS = 0.0125        # realistic eyeball, m
PLAIN_SKIN = (0.27, 0.04)  # a UV on plain skin (under the chin) for the neck and the ears
BOX = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]

Style = namedtuple("Style", "name radii square narrow mouth eye hairline bangs hair keys inside")
"""radii: half width, half depth, height above / below the centre (m); square: lower face's
superellipse power; narrow: jaw narrowing; mouth: lip line z, half width, jaw drop; eye: x, z,
opening half sizes; hairline: (deg from the front, hair edge z); bangs: fringe zigzag depth;
hair: thickness, sRGB; keys: {shape key: {move: weight}}; inside: sRGB of bag, teeth, tongue."""

REALISTIC = Style(
    "realistic", (0.074, 0.098, 0.118, 0.124), 3.6, 0.12, (-0.068, 0.025, 0.023),
    (0.032, 0.0, 0.0118, 0.0056),
    [(0, 0.06), (40, 0.052), (75, 0.022), (100, 0.022), (130, -0.03), (180, -0.07)], 0.0,
    (0.004, (0.2, 0.13, 0.09)),
    dict(viseme_sil={}, viseme_PP=dict(press=1), viseme_FF=dict(jaw=0.12, tuck=1),
         viseme_TH=dict(jaw=0.25, tongue=1), viseme_DD=dict(jaw=0.3, spread=0.3),
         viseme_kk=dict(jaw=0.35, spread=0.2), viseme_CH=dict(jaw=0.2, round=0.6),
         viseme_SS=dict(jaw=0.12, spread=0.7), viseme_nn=dict(jaw=0.2, spread=0.2),
         viseme_RR=dict(jaw=0.25, round=0.5), viseme_aa=dict(jaw=1, lift=1),
         viseme_E=dict(jaw=0.4, spread=0.7, lift=0.5), viseme_I=dict(jaw=0.25, spread=1),
         viseme_O=dict(jaw=0.6, round=1, lift=1.5), viseme_U=dict(jaw=0.25, round=1.3, lift=0.8)),
    ((0.14, 0.04, 0.04), (0.86, 0.83, 0.74), (0.6, 0.3, 0.32)))
ANIME = Style(
    "anime", (0.078, 0.086, 0.112, 0.105), 2.4, 0.48, (-0.06, 0.0175, 0.014),
    (0.03, -0.014, 0.017, 0.012),
    [(0, 0.014), (45, 0.01), (62, -0.07), (80, -0.075), (110, -0.03), (180, -0.085)], 0.014,
    (0.009, (0.45, 0.28, 0.22)),
    dict(Fcl_MTH_A=dict(jaw=1, lift=0.6), Fcl_MTH_I=dict(jaw=0.2, spread=1),
         Fcl_MTH_U=dict(jaw=0.25, round=1), Fcl_MTH_E=dict(jaw=0.5, spread=0.6),
         Fcl_MTH_O=dict(jaw=0.75, round=0.6, lift=1), Fcl_MTH_Close=dict(press=0.3)),
    ((0.3, 0.09, 0.08), (0.98, 0.98, 0.97), (0.85, 0.42, 0.45)))


def smoothstep(a, b, x):
    t = np.clip((np.asarray(x, float) - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def bump(x, z, cx, cz, sx, sz):
    return np.exp(-((x - cx) / sx) ** 2 - ((z - cz) / sz) ** 2)


def grid(idx, pole=None):
    """Quads of an index grid (columns wrap), or triangles from `pole` to the loop `idx`."""
    if pole is not None:
        return [[pole, int(a), int(b)] for a, b in zip(idx, np.roll(idx, -1))]
    a, b = idx[:-1], idx[1:]
    return np.stack([a, np.roll(a, -1, 1), np.roll(b, -1, 1), b], -1).reshape(-1, 4).tolist()


def ellipsoid(centre, radii, nu=24, nv=12, forward=False):
    """(co, faces, polar angle per face) of an ellipsoid, poles on Z (forward: on -Y)."""
    T, P = np.meshgrid(np.arange(nu) / nu * TAU, np.arange(1, nv) / nv * np.pi)
    unit = np.stack([np.cos(T) * np.sin(P), np.sin(T) * np.sin(P), np.cos(P)], -1)
    unit = np.vstack([unit.reshape(-1, 3), [0, 0, 1], [0, 0, -1]])
    unit = unit[:, [0, 2, 1]] * [1, -1, 1] if forward else unit
    idx = np.arange(len(unit) - 2).reshape(nv - 1, nu)
    faces = grid(idx) + grid(idx[0], len(unit) - 2) + grid(idx[-1], len(unit) - 1)
    polar = np.concatenate([np.repeat((P[1:, 0] + P[:-1, 0]) / 2, nu), [0] * nu, [np.pi] * nu])
    return unit * radii + centre, faces, polar


class Head:
    """A style's head surface on a lat-long grid, facial features pushed forward (-Y)."""

    def __init__(self, st: Style):
        self.st, self.anime, (ex, ez), self.ball_y = st, st.name == "anime", st.eye[:2], None
        eye, mouth = np.arcsin(ez / st.radii[2]), np.arcsin(st.mouth[0] / st.radii[3])

        def warp(n, lo, hi, dense):     # n + 1 values, closer around each (centre, width, gain)
            fine = np.linspace(lo, hi, 4096)
            cdf = np.cumsum(1 + sum(g * np.exp(-((fine - c) / w) ** 2) for c, w, g in dense))
            return np.interp(np.linspace(cdf[0], cdf[-1], n + 1), cdf, fine)
        self.theta = warp(GRID[0], -np.pi, np.pi, [(0, 0.6, 3)])[:-1]    # 0: the front
        self.phi = warp(GRID[1], -np.pi / 2, np.pi / 2,                 # rings, no poles
                        [(-0.35, 0.7, 1.5), (eye, 0.08, 2.5), (mouth, 0.06, 2)])[1:-1]
        self.ring = int(np.argmin(np.abs(self.phi - mouth)))
        self.mz = st.radii[3] * np.sin(self.phi[self.ring])          # the lip line's height
        self.hw, self.drop = st.mouth[1:]
        gx, gz = np.meshgrid(*(np.linspace(-1, 1, 41) * EYE_RADIUS + c for c in (ex, ez)))
        d2, out = (gx - ex) ** 2 + (gz - ez) ** 2, self.almond(gx, gz) >= 1
        ball = self.skin_y(gx, gz) + np.sqrt(np.clip(EYE_RADIUS ** 2 - d2, 0, None))
        self.ball_y = ball[out & (d2 < EYE_RADIUS ** 2)].max() + 0.0003   # hidden outside

    def base(self, theta, phi):
        """(x, y, z, face weight): an ellipsoid, lower face squarer, jaw narrowing."""
        rx, ry, rz, low = self.st.radii
        s, c, front = np.sin(phi), np.cos(phi), np.cos(theta)
        z = np.where(s < 0, low, rz) * s
        n = np.where(s < 0, 2 + (self.st.square - 2) * smoothstep(0, 0.6, front), 2.0)
        square, chin = (1 - np.abs(s) ** n) ** (1 / n), smoothstep(0.01, -low, z)
        back = c * (1.06 - 0.2 * chin)
        y = -ry * front * (back + (square - back) * smoothstep(-0.3, 0.3, front))
        x = rx * np.sin(theta) * np.where(s < 0, square, c) * (1 - self.st.narrow * chin ** 1.3)
        return x, y, z, smoothstep(-0.2, -0.75, y / ry)

    def almond(self, x, z):
        """< 1 inside the eye opening around either eye."""
        ex, ez, ax, az = self.st.eye
        dx = (np.abs(x) - ex) / ax
        shape = np.clip(1 - dx ** 2, 1e-3, None) ** 0.5 * (1 + 0.25 * dx * (dx < 0))
        return np.hypot(dx, (z - ez - 0.15 * az * (1 - dx ** 2)) / (az * shape))

    def relief(self, x, z):
        """Forward push (m) at base (x, z): bumps (x, z, size x, z, height) and a nose."""
        mz, hw, (ex, ez, _, _) = self.mz, self.hw, self.st.eye
        if self.anime:
            bumps = [(0, ez - 0.024, 0.005, 0.008, 0.004), (0, mz + 0.005, 0.04, 0.03, 0.006),
                     (0, mz - 0.022, 0.02, 0.012, 0.002)]
            extra = -smoothstep(1.6, 0.9, self.almond(x, z)) * 0.002
        else:                                         # lips, chin, brows, cheeks, nostrils
            bumps = [(0, mz + 0.0045, 0.85 * hw, 0.0045, 0.0035), (0, mz, hw, 0.0015, -0.0012),
                     (0, mz - 0.005, 0.8 * hw, 0.005, 0.004), (0, mz + 0.008, 0.03, 0.03, 0.004),
                     (0, mz - 0.034, 0.02, 0.014, 0.005), (0, mz - 0.015, 0.02, 0.004, -0.0015),
                     (ex, ez + 0.02, 0.024, 0.008, 0.004), (0.046, ez - 0.025, 0.02, 0.02, 0.004),
                     (0.012, ez - 0.04, 0.006, 0.006, 0.007)]
            tip, width = ez - 0.036, 0.0055 + 0.009 * smoothstep(ez, ez - 0.036, z)
            extra = (0.02 * smoothstep(ez + 0.012, tip, z) ** 1.4 * np.exp(-(x / width) ** 2)
                     * (1 - smoothstep(tip - 0.002, tip - 0.011, z)))
        return extra + sum(h * bump(np.abs(x), z, *b) for *b, h in bumps)

    def surface(self, theta, phi, offset=0.0):
        """(..., 3) points, `offset` out (hair); realistic eye openings behind the eyes."""
        x, y, z, front = self.base(theta, phi)
        y = y - self.relief(x, z) * front
        if self.ball_y is not None and not self.anime:
            d2 = (np.abs(x) - self.st.eye[0]) ** 2 + (z - self.st.eye[1]) ** 2
            ball = self.ball_y - np.sqrt(np.clip(EYE_RADIUS ** 2 - d2, 0, None))
            opening = smoothstep(1.1, 0.9, self.almond(x, z)) * (d2 < EYE_RADIUS ** 2)
            y = y + (np.maximum(y, ball + 0.0015) - y) * opening
        p = np.stack([x, y, z], -1)
        return p * (1 + np.asarray(offset)[..., None] / np.linalg.norm(p, axis=-1, keepdims=True))

    def skin_y(self, x, z):
        """Depth of the face's skin in front of the point (x, z)."""
        phi = np.arcsin(np.clip(z / np.where(z < 0, self.st.radii[3], self.st.radii[2]), -1, 1))
        half = self.base(np.pi / 2, phi)[0]
        return self.surface(np.arcsin(np.clip(x / half, -1, 1)), phi)[..., 1]

    def hair_z(self, theta):
        """Height of the hair's lower edge around the head (the fringe zigzags)."""
        deg = np.degrees(np.abs(theta))
        return np.interp(deg, *zip(*self.st.hairline)) - self.st.bangs * np.abs(
            (deg / 9) % 2 - 1) * smoothstep(50, 20, deg)


class Parts(list):
    """Mesh pieces: (co, faces indexing co, material per face, UVs, jaw weights, tag)."""

    def add(self, co, faces, mat, uv=PLAIN_SKIN, jaw=0.0, tag="part"):
        co = np.reshape(co, (-1, 3))
        self.append((co, faces, np.broadcast_to(mat, len(faces)),
                     np.broadcast_to(uv, (len(co), 2)), np.broadcast_to(jaw, len(co)), tag))


def add_head(parts: Parts, head: Head):
    """The skin cut along the lip line, folding inward into the mouth bag; the jaw's share
    of each vertex (chin and lower lip 1, upper lip 0). Returns the lips' front depth."""
    st, r, hw, mz = head.st, head.ring, head.hw, head.mz
    T, P = np.meshgrid(head.theta, head.phi)
    co, uv = head.surface(T, P).reshape(-1, 3), np.dstack([T / TAU + 0.5, P / np.pi + 0.5])
    idx = np.arange(len(co)).reshape(P.shape)
    cols = np.flatnonzero((np.abs(co[idx[r], 0]) <= hw) & (np.abs(head.theta) < 1.5))
    inner = cols[1:-1]                                        # the mouth corners stay shared
    lower = len(co) + 2 + np.arange(len(inner))               # the lower lip's edge copies
    below = idx.copy()
    below[r, inner] = lower
    faces = grid(idx[r:]) + grid(below[:r + 1]) + grid(idx[0], len(co)) + grid(idx[-1], len(co) + 1)
    co = np.vstack([co, [[0, 0, -st.radii[3]], [0, 0, st.radii[2]]], co[idx[r, inner]]])
    uv = np.vstack([uv.reshape(-1, 2), [[0.5, 0.0], [0.5, 1.0]], uv.reshape(-1, 2)[idx[r, inner]]])
    x, y, z = co.T
    fade = (1 - smoothstep(0.03, 0.065, np.abs(x))) * smoothstep(-0.035, -0.07, y)  # not neck
    g, oval = fade * smoothstep(mz, mz - 0.03, z), (1 - np.clip(x / hw, -1, 1) ** 2) ** 1.2
    jaw = g + (fade - g + 0.1 * np.exp(-((z - mz) / 0.006) ** 2)) * oval
    jaw[idx[r:].ravel()] = g[idx[r:].ravel()]                 # nothing above the cut moves
    parts.add(co, faces, "skin", uv, jaw, tag="skin")
    loop = np.concatenate([idx[r, cols[:1]], idx[r, inner], idx[r, cols[-1:]], lower[::-1]])
    sign = np.concatenate([[0], np.ones(len(inner)), [0], -np.ones(len(inner))])   # bag rings
    u, y0, n = co[loop, 0] / np.abs(co[loop, 0]).max(), co[loop, 1].min(), len(loop)
    rings, jaws = [], []
    for k, (sx, hz, depth) in enumerate([(1.0, 0.1, 0.16), (1.1, 0.6, 0.3), (1.15, 0.7, 0.8),
                                         (1.0, 0.6, 1.4), (0.6, 0.3, 1.8)]):
        x, z = co[loop, 0] * sx, mz + hw * (sign * hz * np.sqrt(1 - u ** 2) - 0.1 * min(k, 2))
        y = np.maximum((co[loop, 1] if k == 0 else y0) + depth * hw, head.skin_y(x, z) + 0.003)
        rings.append(np.stack([x, y, z], -1))
        jaws.append(np.where(sign < 0, (1 - u ** 2) ** (1.2 / (1 + 0.5 * k)), 0.0))
    ring_idx = np.vstack([loop - len(co), np.arange(len(rings) * n).reshape(-1, n)])
    bag = np.vstack(rings + [[[0, y0 + 1.9 * hw, mz - 0.2 * hw]]])
    parts.add(bag, grid(ring_idx) + grid(ring_idx[-1], len(bag) - 1), "mouth",
              jaw=np.concatenate(jaws + [[0.5]]), tag="bag")
    return y0


def add_parts(parts: Parts, head: Head, lip_front: float):
    """Teeth (boxes along an arch), tongue, eyes, ears, neck and the hair cap."""
    st, mz, hw, (ex, ez) = head.st, head.mz, head.hw, head.st.eye[:2]
    front, widths = lip_front + (0.0045 if head.anime else 0.005), [7.5, 6.5, 8.5, 8.5, 6.5, 7.5]
    rows = [(mz + 0.009, mz - 0.0022, front, 0.0, [1], 0.0)] if head.anime else [
        (mz + 0.009, mz - 0.0018, front, 0.0, widths, 0.00015),
        (mz + 0.0005, mz - 0.009, front + 0.0045, 1.0, widths, 0.00015)]
    for top, bottom, y_min, jaw, widths, gap in rows:       # upper (and lower) teeth
        edges = np.cumsum([0] + widths) / sum(widths) * 1.6 * hw - 0.8 * hw
        for xs in zip(edges[:-1] + gap, edges[1:] - gap):
            yf = [max(y_min + 0.5 * x * x / hw,
                      head.skin_y(x, np.linspace(bottom, top, 5)).max() + 0.0025) for x in xs]
            box = [[x, yf[i] + dy, zz] for dy in (0, 0.003) for zz in (bottom, top)
                   for i, x in enumerate(xs)]
            parts.add(box, BOX, "teeth", jaw=jaw, tag="teeth")
    y = max(front + 0.3 * hw, head.skin_y(0.0, mz - 0.012) + 0.004) + 0.5 * hw
    parts.add(*ellipsoid([0, y, mz - 0.35 * hw], [0.7 * hw, 0.5 * hw, 0.17 * hw])[:2], "tongue",
              jaw=0.65, tag="tongue")
    for side in () if head.anime else (-1, 1):
        co, faces, polar = ellipsoid([side * ex, head.ball_y, ez], EYE_RADIUS, 32, 24, True)
        parts.add(co, faces, np.take(["pupil", "iris", "sclera"], np.digitize(polar, [0.17, 0.45])))
        parts.add(*ellipsoid([side * (st.radii[0] - 0.004), 0.008, ez - 0.016],
                             [0.008, 0.016, 0.027], 16, 12)[:2], "skin", tag="ear")
    a, h = np.meshgrid(np.arange(32) / 32 * TAU, np.linspace(0, 1, 8))      # neck: a tube
    co = np.stack([0.052 * np.sin(a), 0.02 + 0.05 * np.cos(a), -0.04 - 0.3 * h], -1)
    parts.add(co, grid(np.arange(a.size).reshape(a.shape)), "skin", tag="neck")
    edge = np.arcsin(np.clip(head.hair_z(head.theta) / st.radii[2], -1, 1))
    t = np.linspace(0, 1, 40)[:-1, None]         # hair: the scalp above the hairline, out
    P = edge + (np.pi / 2 - edge) * t
    T = np.broadcast_to(head.theta, P.shape)
    co = head.surface(T, P, st.hair[0] * (0.25 + 0.75 * smoothstep(0, 0.12, t)) + 0 * P)
    idx, uv = np.arange(P.size).reshape(P.shape), np.dstack([T / TAU + 0.5, P / np.pi + 0.5])
    parts.add(np.vstack([co.reshape(-1, 3), [0, 0, st.radii[2] + st.hair[0]]]),
              grid(idx) + grid(idx[-1], P.size), "skin", np.vstack([uv.reshape(-1, 2), [0.5, 1]]))


def add_shape_keys(obj, head: Head, parts: Parts):
    """The style's shape keys: mixes of moves (N, 3) (round: corners in, lips forward)."""
    co = np.vstack([p[0] for p in parts])
    jaw, tags = (np.concatenate([np.broadcast_to(p[i], len(p[0])) for p in parts]) for i in (4, 5))
    mz, hw, (x, y, z) = head.mz, head.hw, co.T
    lip = np.isin(tags, ["skin", "bag"]) * smoothstep(-0.02, -0.05, y)    # the face only
    band = lip * np.exp(-((z - mz) / 0.016) ** 2) * (1 - smoothstep(hw, hw + 0.03, np.abs(x)))
    close = (lip * np.exp(-(x / (1.3 * hw)) ** 4 - ((z - mz) / 0.011) ** 2))[:, None]
    oval = (1 - np.clip(x / hw, -1, 1) ** 2) ** 1.5
    upper = lip * (jaw == 0) * (z >= mz - 1e-6) * oval * smoothstep(mz + 0.02, mz, z)
    tuck = lip * (jaw > 0) * oval * np.exp(-((z - mz) / 0.008) ** 2)
    moves = {"jaw": jaw[:, None] * head.drop * np.array([0, 0.25, -1.0]),
             "lift": upper[:, None] * [0, 0, 0.1 * head.drop],
             "spread": band[:, None] * np.stack([0.2 * x, 0.08 * x * x / hw, 0.06 * x * x / hw], 1),
             "round": close * np.stack([-0.3 * x, 0 * x - 0.2 * hw, 0 * x], 1),
             "press": close * np.stack([-0.04 * x, 0 * x + 0.04 * hw, 0 * x], 1),
             "tuck": tuck[:, None] * [0, 0.15 * hw, 0.05 * hw],
             "tongue": (tags == "tongue")[:, None] * [0, -0.008, 0.003]}
    obj.shape_key_add(name="Basis", from_mix=False)
    for name, recipe in head.st.keys.items():
        moved = co + sum((w * moves[m] for m, w in recipe.items()), np.zeros_like(co))
        obj.shape_key_add(name=name, from_mix=False).data.foreach_set("co", moved.ravel())


def paint(head: Head, rng) -> np.ndarray:
    """(H, W, 3) sRGB skin on the lat-long UVs (row 0 at the bottom): layers, then hair."""
    (w, h), mz, hw, (ex, ez) = TEXTURE, head.mz, head.hw, head.st.eye[:2]
    T, P = np.meshgrid(np.linspace(-np.pi, np.pi, w + 1)[:-1] + np.pi / w,
                       np.linspace(-np.pi / 2, np.pi / 2, h + 1)[:-1] + np.pi / 2 / h)
    x, y, z, fr = head.base(T, P)
    ax, rho, edge, near = np.abs(x), head.almond(x, z), head.hair_z(T), np.abs(x) < 0.06

    def noise(sigma):
        n = gaussian_filter(rng.normal(size=(h, w)), sigma, mode="wrap")
        return (n / n.std())[..., None]
    if head.anime:          # flat pale skin, blush, the mouth's thin dark line, big eyes
        img = np.ones((h, w, 3)) * [1.0, 0.9, 0.84]
        line = 0.00065 * (0.5 + 0.5 * np.sqrt(np.clip(1 - (x / hw) ** 2, 0, 1)))
        white = near * smoothstep(1.0, 0.94, rho)
        ix, iz = (ax - ex + 0.001) / 0.0085, (z - ez + 0.001) / 0.0108
        tone = smoothstep(0.7, -0.8, iz)[..., None]                 # the iris darker on top
        lash = (z > ez) * smoothstep(0.93, 0.97, rho) * smoothstep(1.32, 1.22, rho) + bump(
            ax, z, ex + 0.017, ez + 0.004, 0.004, 0.0018)                 # upper lash, wing
        shine = [smoothstep(r, 0.8 * r, np.hypot(x - np.sign(x) * ex - dx, z - ez - dz))
                 for dx, dz, r in ((-0.0032, 0.0042, 0.0022), (0.0032, -0.0048, 0.0011))]
        arc = ez + 0.027 + 0.004 * (1 - ((ax - ex) / 0.02) ** 2)
        brow = smoothstep(ex - 0.017, ex - 0.013, ax) * smoothstep(ex + 0.02, ex + 0.016, ax)
        layers = [([0.99, 0.76, 0.76], 0.35 * bump(ax, z, ex + 0.004, ez - 0.016, 0.01, 0.005)),
                  ([0.93, 0.78, 0.76], smoothstep(-0.005, 0, z - edge)),     # fringe shadow
                  ([0.32, 0.13, 0.13], smoothstep(0.0002, -0.0001, np.abs(z - mz) - line)
                   * smoothstep(hw + 0.0008, hw - 0.0004, ax)),               # the mouth line
                  ([0.99, 0.99, 1.0], white),
                  (tone * [0.1, 0.05, 0.09] + (1 - tone) * [0.42, 0.22, 0.3],
                   white * smoothstep(1.05, 0.95, np.hypot(ix, iz))),
                  ([0.05, 0.02, 0.04], white * smoothstep(1.1, 0.9, np.hypot(ix / 0.45, iz / 0.5))),
                  ([1, 1, 1], near * (shine[0] + shine[1])),
                  ([0.12, 0.07, 0.08], near * lash),
                  ([0.35, 0.22, 0.18], brow * smoothstep(0.0009, 0.0005, np.abs(z - arc)))]
    else:                   # skin tone, pores, blush, lips a little redder, freckles, brows
        img = np.ones((h, w, 3)) * [0.87, 0.65, 0.53]
        img *= 1 + (0.03 * noise(40) + 0.02 * noise(5)) * [1, 0.85, 0.85] + 0.025 * noise(0.7)
        red = bump(ax, z, 0.04, ez - 0.03, 0.02, 0.016) + bump(x, z, 0, ez - 0.035, 0.008, 0.008)
        img *= 1 + (fr * red)[..., None] * [0.03, -0.05, -0.04]
        across = np.clip(1 - (x / hw) ** 2, 0, 1)
        top = 0.0088 * across ** 0.6 * (1 - 0.12 * np.exp(-(x / 0.004) ** 2))   # cupid's bow
        lips = np.where(z >= mz, top - (z - mz), 0.0105 * across ** 0.8 - (mz - z))
        cheeks = bump(ax, z, 0.035, ez - 0.025, 0.02, 0.014) + bump(x, z, 0, ez - 0.02, 0.01, 0.015)
        freckles = gaussian_filter((rng.random((h, w)) < 0.004 * cheeks).astype(float), 1.1)
        arc, thick = ez + 0.017 + 0.004 * (1 - ((ax - ex) / 0.022) ** 2), 0.00275 * smoothstep(
            ex + 0.03, ex - 0.016, ax)
        brow = smoothstep(thick, thick - 0.0012, np.abs(z - arc)) * (ax > ex - 0.019)
        layers = [(img * [0.93, 0.78, 0.8], 0.85 * smoothstep(-0.0008, 0.0004, lips) * (ax < hw)),
                  (img * [0.82, 0.72, 0.66], freckles * 6),
                  ([0.22, 0.15, 0.12], 0.7 * (z > ez) * bump(rho, 0, 1.08, 0, 0.09, 1)),  # lashes
                  (img * 0.85, 0.5 * smoothstep(2.2, 1.3, rho)),                   # eye shadow
                  ([0.26, 0.17, 0.12], brow * (0.6 + 0.3 * np.tanh(noise((0.5, 2.5))[..., 0])))]
    for colour, amount in layers:
        img = img + (np.asarray(colour) - img) * np.clip(fr * amount, 0, 1)[..., None]
    hair = (smoothstep(edge - 0.003, edge, z) * (P > -1.2))[..., None]   # not the neck's patch
    strands = 1 + (0.08 if head.anime else 0.3) * noise((5, 0.6))
    return np.clip(img + (np.asarray(head.st.hair[1]) * strands - img) * hair, 0, 1)


def make_object(st: Style, parts: Parts, image):
    """The "Avatar" object: faces, materials (`image` on the skin), UVs, smooth shading."""
    import bmesh
    import bpy

    colours = {"skin": (1, 1, 1), **dict(zip(("mouth", "teeth", "tongue"), st.inside)),
               "sclera": (0.9, 0.89, 0.86), "iris": (0.32, 0.2, 0.12), "pupil": (0.03, 0.02, 0.02)}
    starts = np.cumsum([0] + [len(p[0]) for p in parts])
    faces = [[s + i for i in f] for s, p in zip(starts, parts) for f in p[1]]
    mesh = bpy.data.meshes.new("Avatar")
    mesh.from_pydata(np.vstack([p[0] for p in parts]).tolist(), [], faces)
    for name, srgb in colours.items():
        mat, c = bpy.data.materials.new(f"{st.name}_{name}"), np.asarray(srgb, float)
        mat.diffuse_color = (*np.where(c < 0.04, c / 12.92, ((c + 0.055) / 1.055) ** 2.4), 1)
        tree, bsdf = mat.node_tree, mat.node_tree.nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = mat.diffuse_color      # Workbench shows both
        bsdf.inputs["Emission Color"].default_value = mat.diffuse_color    # anime: flatter
        bsdf.inputs["Emission Strength"].default_value = 0.35 * (st.name == "anime")
        if name == "skin":
            tex = tree.nodes.new("ShaderNodeTexImage")
            tex.image, tree.nodes.active = image, tex
            for socket in ("Base Color", "Emission Color"):
                tree.links.new(tex.outputs["Color"], bsdf.inputs[socket])
        mesh.materials.append(mat)
    mesh.polygons.foreach_set("material_index", [[*colours].index(m) for p in parts for m in p[2]])
    mesh.polygons.foreach_set("use_smooth", [p[5] != "teeth" for p in parts for _ in p[1]])
    uv, sizes = np.vstack([p[3] for p in parts])[np.concatenate(faces)], [len(f) for f in faces]
    first = np.cumsum([0] + sizes[:-1])
    span = np.maximum.reduceat(uv[:, 0], first) - np.minimum.reduceat(uv[:, 0], first)
    uv[:, 0] += np.repeat(span > 0.5, sizes) & (uv[:, 0] < 0.5)   # faces across the back seam
    mesh.uv_layers.new(name="UVMap").data.foreach_set("uv", uv.astype(np.float32).ravel())
    bm = bmesh.new()
    bm.from_mesh(mesh)
    bmesh.ops.recalc_face_normals(bm, faces=bm.faces)
    bm.to_mesh(mesh)
    obj = bpy.data.objects.new("Avatar", mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def main(argv=None) -> int:
    import bpy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build/avatars", help="folder for the .blend files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the skin textures")
    parser.add_argument("--only", choices=("realistic", "anime"), help="build one avatar")
    args = parser.parse_args(argv)
    for st in (st for st in (REALISTIC, ANIME) if args.only in (None, st.name)):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        head, (w, h), path = Head(st), TEXTURE, Path(args.out) / f"{st.name}.blend"
        rgb = paint(head, np.random.default_rng([args.seed, len(st.name)]))
        image = bpy.data.images.new(f"{st.name}_skin", w, h, alpha=False)
        image.pixels.foreach_set(np.dstack([rgb, np.ones((h, w))]).astype(np.float32).ravel())
        image.pack()
        parts = Parts()
        add_parts(parts, head, add_head(parts, head))
        add_shape_keys(obj := make_object(st, parts, image), head, parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        bpy.ops.wm.save_as_mainfile(filepath=str(path.resolve()), compress=True)
        print(f"{path}: {len(obj.data.vertices)} vertices, {len(obj.data.polygons)} faces")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
