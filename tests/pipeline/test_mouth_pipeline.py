"""Which mouth the pipeline draws, on real rendered frames with the shipped weights: where
the generated pixels are kept, the reference frame, re-voicing, and the drawn colour's
finish (sharpening, colour match, teeth)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from frames_on_disk import OPTIONS, read_outputs, run, write_frames
from lipsync.core.dataset.reader import read_manifest
from lipsync.core.pipeline.character import CharacterTrack
from lipsync.core.pipeline.options import LipSyncOptions
from lipsync.core.pipeline.run import PipelineOptions, lipsync_frames
from lipsync.core.preprocess.frames import read_frame_raw
from lipsync.core.preprocess.keypoints import KeypointTrack


def test_generated_pixels_are_kept_only_near_either_mouth():
    """The input's mouth at one place, the generated one at another: both are kept, grown
    by MOUTH_REACH; the skin between and around them is the input's."""
    import torch

    from lipsync.core.pipeline.finish import MOUTH_REACH, near_mouth

    size = 64
    reach = round(MOUTH_REACH * size)
    skin = torch.zeros(1, 12, size, size)
    skin[:, 1] = 1.0
    given, made = skin.clone(), skin.clone()
    given[:, 1, 20, 20], given[:, 11, 20, 20] = 0.0, 1.0        # input: interior at (20, 20)
    made[:, 1, 40, 44], made[:, 7, 40, 44] = 0.0, 1.0           # output: upper lip at (40, 44)
    near = near_mouth(given, made)[0]
    assert near.shape == (size, size)
    assert near[20 - reach:21 + reach, 20 - reach:21 + reach].eq(1).all()
    assert near[40 - reach:41 + reach, 44 - reach:45 + reach].eq(1).all()
    assert near.sum() == 2 * (2 * reach + 1) ** 2, "nothing else"


def test_the_identity_reference_is_the_most_closed_visible_mouth(clip, models, tmp_path,
                                                                monkeypatch):
    """The generator learnt from neutral references: a shot whose mouth speaks lends it
    the frame whose lips are the most closed, not its first frame; a hidden frame never."""
    from lipsync.core.pipeline.character import CharacterState
    from lipsync.core.preprocess.keypoints import CENTRE, OUTER

    track = clip["track"]
    points, visible = track.points.copy(), track.visible.copy()
    centre = points[:, :, CENTRE:CENTRE + 1]
    for frame, stretch in ((0, 2.0), (3, 0.2), (5, 0.5)):      # open, closed, half closed
        points[frame, :, OUTER] = centre[frame] + (points[frame, :, OUTER] - centre[frame]) * [
            1.0, stretch]
    visible[3] = False                                         # the most closed is hidden
    speaking = KeypointTrack(points=points, visible=visible, boxes=track.boxes,
                             frames=track.frames)
    state = CharacterState(CharacterTrack("hero", speaking, clip["audio"]), track.n_frames,
                           clip["timing"], models)
    assert state.reference_frame() == 5

    used = []
    original = CharacterState.set_reference
    monkeypatch.setattr(CharacterState, "set_reference",
                        lambda self, display, index: used.append(index) or original(
                            self, display, index))
    paths = write_frames(tmp_path / "in", clip["neutral"])
    run(paths, [CharacterTrack("hero", speaking, clip["audio"])], clip["fps"],
        tmp_path / "out", models)
    assert used == [5]


def _state(clip, models, revoice: bool, frames: np.ndarray):
    from lipsync.core.pipeline.character import CharacterState

    state = CharacterState(CharacterTrack("hero", clip["track"], clip["audio"]),
                           len(frames), clip["timing"], models, revoice="on" if revoice else "off")
    rest = state.reference_frame()
    state.set_reference(frames[rest], rest)
    for i, frame in enumerate(frames):
        state.add(i, frame)
    return state, rest


def test_revoicing_draws_every_frame_from_the_rest_mouth(clip, models):
    """Re-voicing: the generator's source (passes, lip contours) of a frame does not
    depend on that frame's own mouth, only on the rest frame's, carried along by the face
    box; the frame's own crop (parser, colour) is still its own. Without it, it does."""
    frames = clip["neutral"]
    scrambled = frames.copy()
    other = 1 if clip["track"].visible[1, 0].all() else 2
    scrambled[other] = 255 - scrambled[other]                  # another mouth (and face)
    for revoice in (True, False):
        (a, rest), (b, _) = (_state(clip, models, revoice, f) for f in (frames, scrambled))
        assert other != rest
        assert np.array_equal(a.passes[other], b.passes[other]) == revoice
        assert np.array_equal(a.points[other], b.points[other])
        assert not np.array_equal(a.crops[other], b.crops[other])
    assert np.array_equal(a.passes[rest], b.passes[rest])




def test_not_revoiced_a_warping_generator_takes_each_frame_as_its_own_reference(clip, models):
    """Not re-voiced, what a frame's warp moves is that frame (its crop and its stored
    pixels, `reference` None), so another rest frame changes nothing of it; re-voiced, the
    rest frame is every frame's reference, and so it is for a mouth that already speaks
    left as it is (re-voicing off)."""
    from lipsync.core.pipeline.character import CharacterState
    from lipsync.core.preprocess.keypoints import CENTRE, OUTER

    assert models.generator.warps
    track = clip["track"]
    points = track.points.copy()
    centre = points[:, :, CENTRE:CENTRE + 1]
    points[::2, :, OUTER] = centre[::2] + (points[::2, :, OUTER] - centre[::2]) * [1.0, 2.0]
    speaking = KeypointTrack(points=points, visible=track.visible, boxes=track.boxes,
                             frames=track.frames)
    assert not CharacterState(CharacterTrack("hero", speaking, clip["audio"]), track.n_frames,
                              clip["timing"], models, revoice="off").own_reference
    frames = clip["neutral"]
    for revoice in (False, True):
        a, rest = _state(clip, models, revoice, frames)
        inverted = frames.copy()
        inverted[rest] = 255 - inverted[rest]                   # another rest frame
        b, _ = _state(clip, models, revoice, inverted)
        assert a.own_reference != revoice
        other = next(i for i in range(len(frames)) if i != rest and a.visible[i])
        made = [s.generate([other], 1)[other].warp for s in (a, b)]
        assert (made[0].reference is None) != revoice
        assert np.array_equal(made[0].flow, made[1].flow) != revoice


def test_a_warping_generators_own_frame_is_kept_over_the_whole_region(tiny_data, clip,
                                                                       models):
    """A mouth at rest is its own reference: the warp moves the frame's own pixels, so the
    whole keypoint region keeps them (a jaw may drop past the parser's face). Re-voiced,
    they are the rest frame's; a moving mouth left as it is, the most closed frame's: only
    the parser's face near the mouth keeps them."""
    from lipsync.core.pipeline.character import CharacterState

    assert models.generator.warps
    record = next(r for r in read_manifest(tiny_data) if r["split"] == "test")
    folder = tiny_data / record["clip_id"]
    talking = (KeypointTrack.load(folder / "keypoints_talking.npz"),
               np.load(folder / "frames.npz")["talking"])
    keeps = {}
    for name, (track, frames), revoice in (
            ("at rest", (clip["track"], clip["neutral"]), "off"),
            ("re-voiced", (clip["track"], clip["neutral"]), "on"),
            ("moving, as it is", talking, "off")):
        state = CharacterState(CharacterTrack("hero", track, clip["audio"]), len(frames),
                               clip["timing"], models, revoice=revoice)
        assert state.own_reference == (name == "at rest")
        rest = state.reference_frame()
        state.set_reference(frames[rest], rest)
        for i, frame in enumerate(frames):
            state.add(i, frame)
        shown = [i for i in range(len(frames)) if state.visible[i]][:4]
        made = state.generate(shown, len(shown))
        keeps[name] = np.stack([made[i].keep for i in shown])
    assert np.array_equal(keeps["at rest"], np.ones_like(keeps["at rest"]))
    for name in ("re-voiced", "moving, as it is"):
        assert keeps[name].min() < 0.5 and keeps[name].max() > 0.9, name


def test_the_rest_box_follows_the_face_box(clip, models):
    """A frame whose face sits 6 px right and 1.5 times as wide as the rest frame's takes
    its source from where its crop box lies relative to its face, mapped into the rest."""
    from lipsync.core.pipeline.character import CharacterState

    track = clip["track"]
    boxes = np.repeat(track.boxes[:1], track.n_frames, axis=0).copy()
    shifted = KeypointTrack(points=track.points, visible=track.visible, boxes=boxes,
                            frames=track.frames)
    state = CharacterState(CharacterTrack("hero", shifted, clip["audio"]), track.n_frames,
                           clip["timing"], models, revoice="on")
    rest = state.reference_frame()
    state.set_reference(clip["neutral"][rest], rest)
    assert np.allclose(state._rest_box(rest), state.boxes[rest])
    other = (rest + 1) % track.n_frames
    face = boxes[rest, 0].copy()
    x0, y0, x1, y1 = face
    boxes[other, 0] = [x0 + 6, y0, x0 + 6 + 1.5 * (x1 - x0), y0 + 1.5 * (y1 - y0)]
    expected = (state.boxes[other].reshape(2, 2) - [x0 + 6, y0]) / 1.5 + [x0, y0]
    assert np.allclose(state._rest_box(other), expected.reshape(4), atol=1e-4)
    boxes[other, 0] = [x0, y0, x0, y1]                          # degenerate: the rest's own
    assert np.array_equal(state._rest_box(other), state.boxes[rest])


def test_revoicing_changes_only_the_mouth_region(clip, models, tmp_path):
    paths = write_frames(tmp_path / "in", clip["neutral"])
    character = CharacterTrack("hero", clip["track"], clip["dub_audio"])
    lipsync_frames(paths, [character], clip["fps"], tmp_path / "plain", OPTIONS, models=models)
    report = lipsync_frames(paths, [character], clip["fps"], tmp_path / "revoiced",
                            replace(OPTIONS, job=replace(OPTIONS.job, revoice=True)),
                            models=models)
    assert report.revoiced == ["hero"] and report.characters == {"hero": len(paths)}
    plain, _ = read_outputs(tmp_path / "plain", paths)
    out, matte = read_outputs(tmp_path / "revoiced", paths)
    inputs = np.stack([read_frame_raw(p) for p in paths])
    assert np.array_equal(out[matte == 0], inputs[matte == 0])
    assert (out != plain).any(), "the source mouth differs"


def test_auto_re_voices_a_speaking_input_and_says_so(tiny_data, clip, models):
    """'auto' re-voices the talking render (its lips move) with a note saying so, not the
    neutral one; 'off' keeps the talking mouth with a note suggesting re-voicing; 'on'
    re-voices without a note."""
    from lipsync.core.pipeline.character import CharacterState

    record = next(r for r in read_manifest(tiny_data) if r["split"] == "test")
    talking = KeypointTrack.load(tiny_data / record["clip_id"] / "keypoints_talking.npz")
    chosen, notes = {}, {}
    for name, track, mode in (("neutral", clip["track"], "auto"),
                              ("talking", talking, "auto"), ("talking", talking, "off"),
                              ("talking", talking, "on")):
        state = CharacterState(CharacterTrack("hero", track, clip["audio"]), track.n_frames,
                               clip["timing"], models, revoice=mode)
        chosen[name, mode] = state.revoice
        notes[name, mode] = [n for n in state.notes if "re-voice" in n]
    assert chosen == {("neutral", "auto"): False, ("talking", "auto"): True,
                      ("talking", "off"): False, ("talking", "on"): True}
    assert notes["neutral", "auto"] == [] and notes["talking", "on"] == []
    assert len(notes["talking", "auto"]) == 1 and "so it was re-voiced" in notes["talking", "auto"][0]
    assert len(notes["talking", "off"]) == 1 and "if the shot already speaks" in notes["talking", "off"][0]


def test_final_quality_sharpens_the_generated_mouth_and_draft_does_not(clip, models, tmp_path,
                                                                      monkeypatch):
    from lipsync.core.pipeline import networks

    calls = []
    original = networks.sharpen
    monkeypatch.setattr(networks, "sharpen", lambda rgb: calls.append(len(rgb)) or original(rgb))
    paths = write_frames(tmp_path / "in", clip["neutral"])
    hero = CharacterTrack("hero", clip["track"], clip["audio"])
    visible = int(clip["track"].visible[:, 0].all(axis=1).sum())
    # a warping generator's crops are sharpened twice: the composite the parser and the
    # colour match read, and the drawn colour that goes into the frame
    per_frame = 2 if models.generator.warps else 1
    for quality, expected in (("draft", 0), ("final", per_frame * visible)):
        calls.clear()
        options = PipelineOptions(LipSyncOptions(device="cpu", batch=4, quality=quality), chunk=5)
        lipsync_frames(paths, [hero], clip["fps"], tmp_path / quality, options, models=models)
        assert sum(calls) == expected, quality


def test_sharpen_keeps_flat_areas_and_steepens_edges():
    import torch

    from lipsync.core.pipeline.finish import SHARPEN_AMOUNT, sharpen

    flat = torch.full((1, 3, 64, 64), 0.4)
    assert torch.allclose(sharpen(flat), flat, atol=1e-6), "edges replicated: no border"
    step = flat.clone()
    step[..., 32:] = 0.6                                   # a vertical edge
    out = sharpen(step)
    assert torch.allclose(out[..., :28], step[..., :28], atol=1e-6)
    assert out[0, 0, 10, 31] < 0.4 - 0.02 * SHARPEN_AMOUNT < 0.6 < out[0, 0, 10, 32]
    assert out.min() >= 0 and out.max() <= 1
    assert sharpen(torch.ones(1, 3, 8, 8)).max() == 1.0, "clamped to [0, 1]"


def test_match_colour_removes_a_cast_where_the_skin_agrees():
    """A uniform cast is removed exactly where the weight is 1, up to the zero-padded
    border too (the weighted blur is normalised by the blurred weight)."""
    import torch

    from lipsync.core.pipeline.finish import match_colour

    g = torch.Generator().manual_seed(1)
    generated = 0.2 + 0.6 * torch.rand(2, 3, 64, 64, generator=g)
    target = generated + torch.tensor([0.1, -0.05, 0.02]).view(1, 3, 1, 1)
    fixed = match_colour(generated, target, torch.ones(2, 1, 64, 64))
    assert torch.allclose(fixed, target, atol=1e-5)
    weight = torch.zeros(2, 1, 64, 64)
    weight[..., :32] = 1                                   # only the left half agrees
    fixed = match_colour(generated, target, weight)
    assert torch.allclose(fixed[..., :8], target[..., :8], atol=1e-4)


def test_drawn_teeth_lose_their_tint_and_keep_their_brightness():
    """Where the parser is sure of teeth, a green-tinted drawn colour keeps TEETH_CHROMA of
    its chroma and all of its luma; where it sees none, the colour is untouched; the
    parser's 64 px probabilities are resampled to a scale-2 generator's 128 px colour."""
    import torch

    from lipsync.core.models.ssim import LUMA
    from lipsync.core.pipeline.finish import TEETH, TEETH_CHROMA, grey_teeth

    colour = torch.tensor([0.72, 0.90, 0.69]).view(1, 3, 1, 1).expand(1, 3, 128, 128)
    probs = torch.zeros(1, 12, 64, 64)
    probs[:, 1] = 1.0                                              # skin everywhere
    probs[:, 1, :, 32:], probs[:, TEETH, :, 32:] = 0.0, 1.0        # teeth on the right half
    grey = grey_teeth(colour, probs)
    weights = torch.tensor(LUMA).view(1, 3, 1, 1)
    luma = (colour * weights).sum(dim=1, keepdim=True)
    assert torch.allclose((grey * weights).sum(dim=1, keepdim=True), luma, atol=1e-6)
    assert torch.equal(grey[..., :60], colour[..., :60])          # no teeth: as it was
    chroma = (colour - luma)[..., 70:].abs().amax()
    assert torch.allclose((grey - luma)[..., 70:].abs().amax(), TEETH_CHROMA * chroma,
                          atol=1e-6)


def test_a_re_voiced_mouth_takes_its_colour_from_the_rest_crop_and_the_skin_from_the_frame():
    """Re-voiced, the input's old mouth (here wide open and dark) must not tint the new lips:
    the colour reference is the rest crop where the generated crop shows mouth, the input
    crop where both show skin; without a rest crop, the input wherever the parts agree."""
    import torch

    from lipsync.core.models.parser import CLASS_NAMES
    from lipsync.core.pipeline.finish import colour_reference, match_colour

    def one_hot(labels):                                   # (S, S) class indices
        return torch.nn.functional.one_hot(labels, len(CLASS_NAMES)).permute(2, 0, 1)[None].float()

    skin, lip, interior = (CLASS_NAMES.index(n) for n in ("skin", "upper lip", "mouth interior"))
    labels = torch.full((32, 32), skin)
    labels[12:20, 8:24] = lip                              # the new mouth, and the rest frame's
    old = torch.full((32, 32), skin)
    old[8:24, 8:24] = interior                             # the input's wide-open mouth
    crops = torch.full((1, 3, 32, 32), 0.6)
    crops[..., 8:24, 8:24] = 0.05                          # dark where the old mouth is open
    rest = torch.full((1, 3, 32, 32), 0.55)
    rest[..., 12:20, 8:24] = 0.7                           # the rest frame's lips
    made, probs, rest_probs = one_hot(labels), one_hot(old), one_hot(labels)
    target, weight = colour_reference(crops, probs, made, rest, rest_probs)
    assert torch.allclose(target[..., 12:20, 8:24], rest[..., 12:20, 8:24])
    assert torch.allclose(target[..., :8, :], crops[..., :8, :])
    assert (weight[..., 12:20, 8:24] == 1).all() and (weight[..., :8, :] == 1).all()
    assert (weight[..., 8:12, 8:24] == 0).all(), "old interior under new skin: no reference"
    generated = torch.full((1, 3, 32, 32), 0.6)
    generated[..., 12:20, 8:24] = 0.7
    fixed = match_colour(generated, target, weight)
    assert (fixed[..., 12:20, 8:24] - 0.7).abs().max() < 0.02, "the new lips keep their colour"
    _, plain_weight = colour_reference(crops, probs, made)
    assert (plain_weight[..., 12:20, 8:24] == 0).all() and (plain_weight[..., :8, :] == 1).all()


def test_a_re_voiced_frame_may_change_the_rest_mouths_region_too(clip, models):
    """Re-voiced, the generated mouth has the rest mouth's size and place, so the region
    where pixels may change also holds the rest mouth carried into the frame by the face
    boxes (at the rest frame itself, its own mouth)."""
    from lipsync.core.pipeline.character import CharacterState

    track = clip["track"]
    states = {mode: CharacterState(CharacterTrack("hero", track, clip["audio"]),
                                   track.n_frames, clip["timing"], models, revoice=mode)
              for mode in ("on", "off")}
    rest = states["on"].reference_frame()
    other = (rest + 3) % track.n_frames
    assert len(states["off"].region_points(other)) == 1
    own, carried = states["on"].region_points(other)
    assert np.array_equal(own, track.points[other, 0])
    here, there = track.boxes[other, 0], track.boxes[rest, 0]
    expected = ((track.points[rest, 0] - there[:2]) * ((here[2] - here[0]) / (there[2] - there[0]))
                + here[:2])
    assert np.allclose(carried, expected, atol=1e-4)
    assert np.allclose(states["on"].region_points(rest)[1], track.points[rest, 0], atol=1e-4)
