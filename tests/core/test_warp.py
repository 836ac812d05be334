"""The warping generator's parts (core/models/warp.py) and their use at the frame's own
resolution (core/pipeline/native.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lipsync.core.models.detail import DetailConfig, DetailNet, add_detail
from lipsync.core.models.generator import Generator, GeneratorConfig
from lipsync.core.models.warp import (MAX_FLOW, WarpParts, compose, flow_roughness,
                                      grow_head, split_head, warp)
from lipsync.core.pipeline.crop import uncrop
from lipsync.core.pipeline.native import OWN_CHROMA, NativeWarp, _chroma_of, native_pixels

S = 32


def test_zero_flow_returns_the_image_and_a_flow_of_k_pixels_moves_it_k_pixels():
    image = torch.rand(2, 3, S, S)
    assert torch.equal(warp(image, torch.zeros(2, 2, S, S)), image)
    flow = torch.zeros(2, 2, S, S)
    flow[:, 0] = 3 * 2 / S                          # three crop pixels to the right
    moved = warp(image, flow)
    assert torch.allclose(moved[..., :-3], image[..., 3:], atol=1e-5)


def test_split_head_ranges():
    parts = split_head(torch.randn(4, 6, S, S) * 10)
    assert parts.colour.shape == (4, 3, S, S) and parts.flow.shape == (4, 2, S, S)
    assert parts.blend.shape == (4, 1, S, S)
    assert 0 <= float(parts.colour.min()) and float(parts.colour.max()) <= 1
    assert float(parts.flow.abs().max()) <= MAX_FLOW
    assert 0 <= float(parts.blend.min()) and float(parts.blend.max()) <= 1


def test_compose_takes_the_reference_where_blend_is_one_and_the_colour_where_zero():
    reference, colour = torch.rand(1, 3, S, S), torch.rand(1, 3, S, S)
    blend = torch.zeros(1, 1, S, S)
    blend[..., : S // 2] = 1
    out = compose(WarpParts(colour, torch.zeros(1, 2, S, S), blend), reference)
    assert torch.equal(out[..., : S // 2], reference[..., : S // 2])
    assert torch.equal(out[..., S // 2:], colour[..., S // 2:])


def test_flow_roughness_is_zero_for_a_uniform_flow_and_grows_with_noise():
    assert float(flow_roughness(torch.full((1, 2, S, S), 0.1))) == 0
    smooth = flow_roughness(torch.linspace(0, 0.1, S).expand(1, 2, S, S))
    noisy = flow_roughness(0.1 * torch.rand(1, 2, S, S))
    assert 0 < float(smooth) < float(noisy)


def test_a_head_grown_from_an_rgb_generator_starts_from_its_output():
    """With the blend held shut, the grown warping generator draws what the RGB one drew."""
    torch.manual_seed(0)
    rgb = Generator(GeneratorConfig(size=S)).eval()
    warping = Generator(GeneratorConfig(size=S, output="warp")).eval()
    state = dict(rgb.state_dict())
    head = grow_head({"weight": state["head.weight"], "bias": state["head.bias"]})
    state["head.weight"], state["head.bias"] = head["weight"], head["bias"]
    state["head.bias"][5] = -40.0                   # blend = sigmoid(-40): the colour only
    warping.load_state_dict(state)
    inputs = (torch.rand(2, 4, S, S), torch.rand(2, 1, S, S), torch.rand(2, 3, S, S),
              torch.rand(2, 64), torch.rand(2, 64))
    with torch.no_grad():
        assert torch.allclose(warping(*inputs), rgb(*inputs), atol=1e-6)
        parts = warping.parts(*inputs)
    assert float(parts.flow.abs().max()) == 0       # the flow starts at rest
    with pytest.raises(ValueError, match="no warp parts"):
        rgb.parts(*inputs)


def test_an_unknown_head_is_refused():
    with pytest.raises(ValueError, match="output must be one of"):
        GeneratorConfig(output="flow")


# -- at the frame's own resolution ---------------------------------------------------------

@pytest.fixture
def reference():
    """A 300 x 400 frame of fine noise (texture no 32 px crop can hold)."""
    return np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)


BOX = np.array([100.0, 50.0, 260.0, 210.0], np.float32)     # 160 px side: 5 frame px a crop px
RECT = (110, 60, 250, 200)


def test_a_resting_flow_gives_the_reference_frames_own_pixels(reference):
    still = NativeWarp(np.zeros((S, S, 2), np.float32), np.ones((S, S), np.float32),
                       reference, BOX)
    out = native_pixels(np.zeros((S, S, 3), np.float32), BOX, RECT, still)
    x0, y0, x1, y1 = RECT
    assert out.shape == (y1 - y0, x1 - x0, 3)
    assert np.abs(out * 255 - reference[y0:y1, x0:x1]).max() < 1e-3



def test_a_frame_that_is_its_own_reference_lends_its_stored_pixels(reference):
    """own_reference: the stored frame drawn into (RGBA here) becomes the reference, cut to
    the box and the flow's reach: a resting flow gives its pixels back, and a flow of one
    crop pixel reads the frame's pixels 5 px away, as from the whole frame."""
    from lipsync.core.pipeline.native import own_reference

    raw = np.concatenate([reference, np.full((300, 400, 1), 9, np.uint8)], axis=2)
    still = own_reference(NativeWarp(np.zeros((S, S, 2), np.float32),
                                     np.ones((S, S), np.float32), None, BOX), raw)
    assert still.reference.shape[2] == 3 and still.reference.shape[:2] < raw.shape[:2]
    out = native_pixels(np.zeros((S, S, 3), np.float32), BOX, RECT, still)
    x0, y0, x1, y1 = RECT
    assert np.abs(out * 255 - reference[y0:y1, x0:x1]).max() < 1e-3
    flow = np.zeros((S, S, 2), np.float32)
    flow[..., 1] = -2 / S                           # one crop pixel up: 5 frame px
    parts = NativeWarp(flow, np.ones((S, S), np.float32), None, BOX)
    whole = native_pixels(np.zeros((S, S, 3), np.float32), BOX, RECT,
                          NativeWarp(flow, parts.blend, reference, BOX))
    cut = native_pixels(np.zeros((S, S, 3), np.float32), BOX, RECT, own_reference(parts, raw))
    assert np.abs(cut - whole).max() < 1e-6
    assert np.abs(cut * 255 - reference[y0 - 5:y1 - 5, x0:x1]).max() < 1e-3

def test_a_flow_of_one_crop_pixel_moves_by_the_boxs_pixels(reference):
    """One crop pixel is 160 / 32 = 5 frame pixels; a reference box twice as wide doubles it."""
    flow = np.zeros((S, S, 2), np.float32)
    flow[..., 0] = 2 / S
    moved = NativeWarp(flow, np.ones((S, S), np.float32), reference, BOX)
    out = native_pixels(np.zeros((S, S, 3), np.float32), BOX, (110, 60, 200, 200), moved)
    assert np.abs(out * 255 - reference[60:200, 115:205]).max() < 1e-3
    far = NativeWarp(np.zeros((S, S, 2), np.float32), np.ones((S, S), np.float32),
                     reference, np.array([60.0, 20.0, 380.0, 340.0], np.float32))
    out = native_pixels(np.zeros((S, S, 3), np.float32), BOX, (120, 70, 130, 80), far)
    # frame pixel (120, 70) is crop (4, 4) of BOX -> (4, 4) of the reference box: (100, 60)
    ys, xs = np.mgrid[70:80, 120:130]
    expected = reference[60 + 2 * (ys - 70), 100 + 2 * (xs - 120)]
    assert np.abs(out * 255 - expected).max() < 1e-3


def test_a_shut_blend_gives_the_drawn_colour_and_no_warp_the_resampled_crop(reference):
    colour = np.random.default_rng(1).random((S, S, 3)).astype(np.float32)
    shut = NativeWarp(np.zeros((S, S, 2), np.float32), np.zeros((S, S), np.float32),
                      reference, BOX)
    drawn = np.clip(uncrop(colour, BOX, RECT), 0, 1)
    assert np.allclose(native_pixels(colour, BOX, RECT, shut), drawn, atol=1e-6)
    assert np.allclose(native_pixels(colour, BOX, RECT), drawn, atol=1e-6)


@pytest.mark.parametrize("blend, hue_kept", [(0.95, False), (0.3, True)])
def test_a_faintly_drawn_colour_lends_its_brightness_not_its_hue(blend, hue_kept):
    """A green drawn colour over a grey frame: shown faintly (blend 0.95) the mix stays grey
    but takes the green's brightness; shown mostly (0.3) its green shows."""
    grey = np.full((300, 400, 3), 100, np.uint8)
    green = np.zeros((S, S, 3), np.float32)
    green[..., 1] = 0.9
    parts = NativeWarp(np.zeros((S, S, 2), np.float32), np.full((S, S), blend, np.float32),
                       grey, BOX)
    out = native_pixels(green, BOX, RECT, parts)
    spread = out.max(axis=2) - out.min(axis=2)               # 0 for grey
    luma = out @ np.float32([0.299, 0.587, 0.114])
    mixed = blend * 100 / 255 + (1 - blend) * 0.9 * 0.587    # the plain mix's luma
    assert np.allclose(luma, mixed, atol=2e-3)
    assert spread.max() > 0.1 if hue_kept else spread.max() < 0.03   # the plain mix: 0.045
    assert (blend > OWN_CHROMA) != hue_kept


def test_the_detail_network_changes_the_drawn_colour_only(reference):
    """Where the blend keeps the warped reference, its pixels stay exactly; where it shows
    the drawn colour, that colour is the detail network's, given the crop's scale."""
    torch.manual_seed(0)
    detail = DetailNet(DetailConfig(width=8, dilations=(1, 2))).eval()
    colour = np.random.default_rng(1).random((S, S, 3)).astype(np.float32)
    half = np.ones((S, S), np.float32)
    half[:, S // 2:] = 0                          # the left half moved, the right drawn
    parts = NativeWarp(np.zeros((S, S, 2), np.float32), half, reference, BOX)
    plain = native_pixels(colour, BOX, RECT, parts)
    detailed = native_pixels(colour, BOX, RECT, parts, detail)
    drawn = add_detail(detail, np.clip(uncrop(colour, BOX, RECT), 0, 1), 160 / S)
    split = int(BOX[0] + (BOX[2] - BOX[0]) / 2) - RECT[0]     # frame column of crop S / 2
    near = 12                                   # bicubic reaches 2 crop px = 10 frame px
    assert np.allclose(detailed[:, :split - near], plain[:, :split - near], atol=1e-5)
    assert np.allclose(detailed[:, split + near:], drawn[:, split + near:], atol=1e-5)
    assert np.abs(detailed[:, split + near:] - plain[:, split + near:]).max() > 1e-3
    no_warp = native_pixels(colour, BOX, RECT, None, detail)
    assert np.allclose(no_warp, drawn, atol=1e-6)
    odd = add_detail(detail, np.random.default_rng(2).random((13, 7, 3)).astype(np.float32), 3.0)
    assert odd.shape == (13, 7, 3) and 0 <= odd.min() and odd.max() <= 1


def test_the_detail_network_runs_only_where_drawn_pixels_show_with_the_same_result(reference):
    torch.manual_seed(1)
    detail = DetailNet(DetailConfig(width=8, dilations=(1, 2))).eval()
    colour = np.random.default_rng(3).random((S, S, 3)).astype(np.float32)
    hole = np.ones((S, S), np.float32)
    hole[14:18, 12:20] = 0                        # a small opening in the moved reference
    parts = NativeWarp(np.zeros((S, S, 2), np.float32), hole, reference, BOX)
    shut = NativeWarp(np.zeros((S, S, 2), np.float32), np.zeros((S, S), np.float32),
                      reference, BOX)
    everywhere = native_pixels(colour, BOX, RECT, shut, detail)     # detail over the rect
    blend = np.clip(uncrop(hole, BOX, RECT), 0, 1)[..., None]
    moved = native_pixels(colour, BOX, RECT, NativeWarp(parts.flow, np.ones_like(hole),
                                                        reference, BOX))
    drawn = _chroma_of(moved, everywhere, np.clip((blend - OWN_CHROMA) / (1 - OWN_CHROMA), 0, 1))
    expected = blend * moved + (1 - blend) * drawn
    assert np.allclose(native_pixels(colour, BOX, RECT, parts, detail), expected, atol=1e-5)
