"""core.mesh.lips on small meshes built in numpy: a face patch with a mouth slit."""

from __future__ import annotations

import numpy as np
import pytest

from lipsync.core.errors import InputError
from lipsync.core.mesh.lips import lips_from_jaw, lips_from_shape_keys
from lipsync.core.mesh.viseme_names import MOUTH, OPEN, classify_shape_key, mouth_shape_keys
from lipsync.core.preprocess.keypoints import select_mouth_landmarks

HALF_MOUTH = 0.5          # the slit runs x in [-0.5, 0.5] on the patch x, z in [-1, 1]


def _patch(n: int = 41, front_y: float = -1.0, half: float = HALF_MOUTH, scale: float = 1.0):
    """A face patch bulging towards -Y, cut along z = 0 for |x| < `half` (the mouth).

    Returns basis (N, 3), edges (E, 2), lower (N,) bool (the vertices below the cut,
    the slit's lower side included) and the slit's lower-side vertex indices.
    """
    basis, edges, copies = _cut_patch(n, front_y, [(n // 2, half)], scale)
    lower = basis[:, 2] < -1e-9
    lower[copies[0]] = True
    return basis, edges, lower, copies[0]


def _cut_patch(n: int, front_y: float, cuts, scale: float = 1.0):
    """The patch of `_patch`, x, z in [-1, 1] on an n x n grid, cut along the grid rows of
    `cuts` ((row, half width) each). Returns basis (N, 3), edges (E, 2) and, per cut, the
    (C,) indices of its lower side (copies of the row's vertices)."""
    xs = np.linspace(-1, 1, n)
    grid = np.arange(n * n).reshape(n, n)            # [row z, column x]
    co = [(x, front_y * (1 - 0.3 * x * x), z) for z in xs for x in xs]
    below = grid.copy()                             # the faces under a cut use its copies
    copies = []
    for row, half in cuts:
        cut = [c for c in range(n) if abs(xs[c]) < half - 1e-9]
        for c in cut:
            below[row, c] = len(co)
            co.append(co[grid[row, c]])
        copies.append(below[row, cut])
    quads = np.array([(grid[r, c], grid[r, c + 1], below[r + 1, c + 1], below[r + 1, c])
                      for r in range(n - 1) for c in range(n - 1)])
    edges = np.unique(np.sort(np.concatenate([quads[:, [i, (i + 1) % 4]] for i in range(4)]),
                              axis=1), axis=0)
    return np.array(co) * scale, edges, copies


def _jaw_open(basis, lower, amount=0.3):
    """Lower face down (and a little back), fading out sideways: an opening jaw."""
    fade = np.clip(1.2 - np.abs(basis[:, 0]), 0, 1)
    d = np.zeros_like(basis)
    d[lower, 2] = -amount * fade[lower]
    d[lower, 1] = 0.1 * amount * fade[lower]
    return d


def _with_teeth(basis, edges, lower):
    """Add a narrower slit patch 0.2 behind the face (teeth), opening with the jaw."""
    tb, te, tl, _ = _patch(n=21, front_y=-0.8, half=0.3)
    tb[:, 0] *= 0.4
    tb[:, 2] *= 0.3
    off = len(basis)
    return (np.concatenate([basis, tb]), np.concatenate([edges, te + off]),
            np.concatenate([lower, tl]))


def _keypoints(basis, idx):
    points = basis[idx][:, [0, 2]] * [1, -1]        # front view: x right, y down
    return points[select_mouth_landmarks(points)]


@pytest.mark.parametrize("name, role", [
    ("jawOpen", OPEN), ("viseme_aa", OPEN), ("viseme_O", OPEN), ("aa", OPEN), ("ou", OPEN),
    ("Fcl_MTH_A", OPEN), ("vrc.v_aa", OPEN), ("open", OPEN), ("MouthOpen", OPEN),
    ("viseme_PP", MOUTH), ("mouthClose", MOUTH), ("mouthSmile_L", MOUTH), ("round", MOUTH),
    ("closed", MOUTH), ("tongue_teeth", MOUTH), ("lip_teeth", MOUTH), ("Fcl_MTH_Close", MOUTH),
    ("blink", None), ("eyeBlinkLeft", None), ("browInnerUp", None), ("Fcl_EYE_Close", None),
    ("Fcl_ALL_Joy", None), ("Fcl_HA_Fung1", None), ("tongueOut", None), ("cheekPuff", None),
    ("viseme_sil", None), ("Basis", None), ("Key 1", None), ("eyeOpen", None)])
def test_shape_key_names(name, role):
    assert classify_shape_key(name) == role


def test_mouth_shape_keys_splits_opening_from_other():
    assert mouth_shape_keys(["Basis", "blink", "jawOpen", "mouthSmile_L", "viseme_aa"]) == \
        (["jawOpen", "viseme_aa"], ["mouthSmile_L"])


def test_lips_of_a_face_patch_from_jaw_open():
    basis, edges, lower, slit = _patch()
    found = lips_from_shape_keys(basis, {"jawOpen": _jaw_open(basis, lower)}, edges)
    assert found is not None and found.source == "shape keys" and found.used == ("jawOpen",)
    np.testing.assert_allclose(found.forward, [0, -1, 0], atol=0.1)
    assert set(slit) <= set(found.indices)                           # the contact line
    _assert_the_patchs_lips(basis, found.indices)


def _assert_the_patchs_lips(basis, indices):
    lips = basis[indices]
    width = 2 * HALF_MOUTH
    assert np.abs(lips[:, 0]).max() <= HALF_MOUTH + 0.1 * width      # no cheeks
    reach = 0.3 * width + 1e-9                                       # 6 rows of the patch
    assert 0.1 * width <= lips[:, 2].max() <= reach                  # upper lip, not the nose
    assert -reach <= lips[:, 2].min() <= -0.1 * width                # lower lip, not the chin
    points = _keypoints(basis, indices)                            # y down
    assert -0.3 * width <= points[3, 1] <= -0.1 * width and abs(points[3, 0]) < 0.1 * width
    assert 0.1 * width <= points[9, 1] <= 0.3 * width and abs(points[9, 0]) < 0.1 * width
    assert points[0, 0] < -0.3 * width and points[6, 0] > 0.3 * width


def test_teeth_behind_the_lips_are_left_out():
    basis, edges, lower, _ = _patch()
    basis, edges, lower = _with_teeth(basis, edges, lower)
    found = lips_from_shape_keys(basis, {"jawOpen": _jaw_open(basis, lower)}, edges)
    assert found is not None and found.indices.max() < 41 * 41 + 41  # none of the teeth


def _sheet(xs, zs, y_behind):
    """A grid sheet over x in `xs`, z in `zs` just behind the patch's surface; (V, 3), (E, 2)."""
    grid = np.arange(len(zs) * len(xs)).reshape(len(zs), len(xs))
    co = np.array([(x, -(1 - 0.3 * x * x) + y_behind, z) for z in zs for x in xs])
    edges = np.concatenate([np.stack([grid[:, :-1].ravel(), grid[:, 1:].ravel()], 1),
                            np.stack([grid[:-1].ravel(), grid[1:].ravel()], 1)])
    return co, edges


def _add(basis, edges, d, part, part_edges, part_d):
    off = len(basis)
    return (np.concatenate([basis, part]), np.concatenate([edges, part_edges + off]),
            np.concatenate([d, part_d]), np.arange(off, off + len(part)))


def test_an_inside_that_stretches_as_the_mouth_opens_is_no_lip():
    """A drawn mouth's inside: a sheet just behind the slit, between its corners, its
    rows pulled apart as the jaw opens (it stretches; the lips move as pieces)."""
    basis, edges, lower, _ = _patch()
    jaw = _jaw_open(basis, lower)
    sheet, sheet_edges = _sheet(np.linspace(-0.4, 0.4, 5), np.linspace(-0.1, 0.1, 11), 0.02)
    pull = np.zeros_like(sheet)
    pull[:, 2] = -0.3 * np.clip(1.2 - np.abs(sheet[:, 0]), 0, 1) * (0.5 - sheet[:, 2] / 0.2)
    basis, edges, d, inside = _add(basis, edges, jaw, sheet, sheet_edges, pull)
    found = lips_from_shape_keys(basis, {"jawOpen": d}, edges)
    assert found is not None and not np.isin(inside, found.indices).any()
    _assert_the_patchs_lips(basis, found.indices)


def test_teeth_just_behind_the_lips_and_narrower_than_the_mouth_are_left_out():
    """Upper and lower teeth rows 0.01 behind the slit (within the lips' front layer), 0.6
    of the mouth wide, the lower row going down with the jaw: they part, but lie between
    the mouth's corners."""
    basis, edges, lower, _ = _patch()
    jaw = _jaw_open(basis, lower)
    parts = []
    for zs, down in ((np.linspace(0.0, 0.1, 3), 0.0), (np.linspace(-0.1, 0.0, 3), -0.3)):
        row, row_edges = _sheet(np.linspace(-0.3, 0.3, 13), zs, 0.01)
        move = np.zeros_like(row)
        move[:, 2] = down * np.clip(1.2 - np.abs(row[:, 0]), 0, 1)
        basis, edges, jaw, idx = _add(basis, edges, jaw, row, row_edges, move)
        parts.append(idx)
    found = lips_from_shape_keys(basis, {"jawOpen": jaw}, edges)
    assert found is not None and not np.isin(np.concatenate(parts), found.indices).any()


def test_blink_is_ignored_and_no_mouth_key_finds_nothing():
    basis, edges, lower, _ = _patch()
    jaw = _jaw_open(basis, lower)
    blink = np.zeros_like(basis)
    blink[basis[:, 2] > 0.6, 2] = -0.2
    both = lips_from_shape_keys(basis, {"blink": blink, "jawOpen": jaw}, edges)
    alone = lips_from_shape_keys(basis, {"jawOpen": jaw}, edges)
    np.testing.assert_array_equal(both.indices, alone.indices)
    assert both.used == ("jawOpen",)
    assert lips_from_shape_keys(basis, {"blink": blink, "Key 1": jaw}, edges) is None
    assert lips_from_shape_keys(basis, {}, edges) is None


def test_a_key_that_parts_nothing_finds_nothing():
    basis, edges, _, _ = _patch()
    still = np.zeros_like(basis)
    assert lips_from_shape_keys(basis, {"jawOpen": still}, edges) is None
    uniform = np.tile([0.0, 0.0, -0.1], (len(basis), 1))           # the whole head moves
    assert lips_from_shape_keys(basis, {"jawOpen": uniform}, edges) is None


def test_jaw_bone_displacement_any_scale_and_orientation():
    basis, edges, lower, slit = _patch(scale=0.01)                 # a 2 cm patch
    turn = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1.0]])         # faces +X now
    basis = basis @ turn.T
    jaw = _jaw_open(basis @ turn, lower, amount=0.003) @ turn.T
    found = lips_from_jaw(basis, jaw, edges, bone="jaw")
    assert found is not None and found.source == "jaw bone" and found.used == ("jaw",)
    np.testing.assert_allclose(found.forward, turn @ [0, -1, 0], atol=0.1)
    assert set(slit) <= set(found.indices)


def test_without_edges_the_band_is_used():
    basis, edges, lower, slit = _patch()
    found = lips_from_shape_keys(basis, {"viseme_aa": _jaw_open(basis, lower)})
    assert found is not None and set(slit) <= set(found.indices)


def test_bad_input_is_an_input_error():
    basis, edges, lower, _ = _patch()
    with pytest.raises(InputError, match="basis"):
        lips_from_shape_keys(basis[:, :2], {"jawOpen": np.zeros((len(basis), 2))})
    with pytest.raises(InputError, match="displacement"):
        lips_from_shape_keys(basis, {"jawOpen": np.zeros((3, 3))})
    with pytest.raises(InputError, match="edges"):
        lips_from_shape_keys(basis, {"jawOpen": _jaw_open(basis, lower)}, edges + len(basis))


@pytest.mark.parametrize("stray_half", [0.1, 0.3])   # before: lips over the chin; none
def test_a_stray_cut_parted_by_one_key_only_does_not_pull_the_lips_away(stray_half):
    """Two keys open the mouth (ARKit's "open" row); one of them also parts a cut under the
    chin (z = -0.6, 2 x `stray_half` wide) and moves the chin below it down and back: the
    lips stay at the mouth, the same as from the clean key alone."""
    n, chin = 41, 8                                  # grid row 8: z = -0.6
    basis, edges, (slit, stray) = _cut_patch(n, -1.0, [(n // 2, HALF_MOUTH), (chin, stray_half)])
    lower = basis[:, 2] < -1e-9
    lower[slit] = True
    jaw = _jaw_open(basis, lower)
    drop = _jaw_open(basis, lower, amount=0.2)
    below_chin = basis[:, 2] < -0.6 - 1e-9
    below_chin[stray] = True
    drop[below_chin, 2] -= 0.25 * np.clip(1 - np.abs(basis[below_chin, 0]) / 0.4, 0, 1)
    drop[below_chin, 1] += 0.2
    keys = {"jawOpen": jaw, "mouthLowerDownLeft": drop}
    found = lips_from_shape_keys(basis, keys, edges, opening=tuple(keys))
    assert found is not None and found.used == ("jawOpen", "mouthLowerDownLeft")
    assert set(slit) <= set(found.indices) and not np.isin(stray, found.indices).any()
    _assert_the_patchs_lips(basis, found.indices)
    alone = lips_from_shape_keys(basis, {"jawOpen": jaw}, edges)
    np.testing.assert_array_equal(found.indices, alone.indices)


def test_without_given_keys_the_viseme_maps_opening_keys_are_used():
    """Oculus keys: the map opens the mouth with viseme_aa alone, so another opener by name
    (viseme_O, here also parting a cut under the chin) is left out; keys that part no mouth
    fall back to those picked by name."""
    n = 41
    basis, edges, (slit, stray) = _cut_patch(n, -1.0, [(n // 2, HALF_MOUTH), (8, 0.3)])
    lower = basis[:, 2] < -1e-9
    lower[slit] = True
    stray_key = np.zeros_like(basis)
    stray_key[basis[:, 2] < -0.6 - 1e-9, 2] = -0.2
    stray_key[stray, 2] = -0.2
    keys = {"viseme_PP": np.zeros_like(basis), "viseme_aa": _jaw_open(basis, lower),
            "viseme_O": _jaw_open(basis, lower, 0.2) + stray_key}
    found = lips_from_shape_keys(basis, keys, edges)
    assert found is not None and found.used == ("viseme_aa",)
    _assert_the_patchs_lips(basis, found.indices)
    keys["viseme_aa"], keys["viseme_O"] = np.zeros_like(basis), _jaw_open(basis, lower, 0.2)
    assert lips_from_shape_keys(basis, keys, edges).used == ("viseme_aa", "viseme_O")
