"""Evaluate the whole pipeline on held-out factory clips, in four scenarios.

- neutral: the animator's case: the input is the clip's neutral render (mouth at rest);
- dubbed: the input is the render of the character saying other words (clips with a
  `dub` version), run with the default options (so re-voiced: `LipSyncOptions.revoice`
  'auto' sees the lips move);
- dubbed_as_is: the same input with re-voicing off (each frame's own mouth is the
  generator's source), to show what re-voicing brings;
- still: one neutral frame held for the whole clip.
In every scenario the audio is the clip's own speech and the ground truth is its `talking`
render. Each clip's frames go through `lipsync_frames` exactly as a user's would, then:
sync (LSE-D, LSE-C, offset; also of the truth) judged by an independent sync expert (one
the generator was not trained against, `models/judge.safetensors`, when there is one) in
crops framed by the clip's neutral render for output and truth alike, mouth-opening
correlation (the output's inner-lip gap over mouth width from the face
parser's teeth + mouth-interior and lip masks, against the truth's from the factory's
keypoints: the inner lip contour's height; the same parser measure on the truth frames
gives its ceiling), PSNR and SSIM in the
mouth region (the ellipses of `core.pipeline.region` around the input's keypoints and, when
re-voiced, the rest mouth carried into each frame; the same pixels whatever the
composite's mask) against the truth (neutral and dubbed; the still input's head does not
follow the truth's), whether every pixel outside the only place the product may change is
the input's (that region; with a learnt character's bank, the larger `JAW` region),
flicker there against the truth's own, sharpness (the Laplacian's variance there, output
over truth: 1 is as sharp as the render) and motion (mean |output - input| over mean
|truth - input| there: 1 moves as much as the truth). Every measure is also taken of doing nothing (the input as the output), the
baseline a method has to beat.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch

from ..audio import FRONT_END, AudioTiming, load_audio
from ..dataset.plan import held_out_look
from ..dataset.reader import RECIPE, read_manifest
from ..errors import InputError
from ..models import shipped
from ..models.parser import MOUTH_CLASSES
from ..models.sync import SyncExpert
from ..pipeline.character import CharacterState, CharacterTrack
from ..pipeline.crop import crop, crop_boxes
from ..pipeline.models import LipSyncModels
from ..pipeline.run import PipelineOptions, lipsync_frames
from ..preprocess.frames import read_frame
from ..preprocess.keypoints import INNER, KeypointTrack, contour_heights
from ..progress import ProgressFn, no_progress
from ..pipeline.region import JAW, MOUTH, RegionForm, mouth_region_mask
from .metrics import correlation, flicker, motion, psnr, sharpness, ssim, sync_score
from .report import TARGETS, breakdown, summarise, write_report

SCENARIOS = ("neutral", "dubbed", "dubbed_as_is", "still")
INPUT_VERSION = {"neutral": "neutral", "dubbed": "dub", "dubbed_as_is": "dub",
                 "still": "neutral"}
OPEN_CLASSES = (8, 11)           # teeth, mouth interior
STRIP_FRAMES = 8


@dataclass
class Case:
    """One clip in one scenario: F input frames (F, H, W, 3) uint8 with their keypoints,
    the speech, the truth (talking) frames and keypoints, and `framing`: the neutral
    render's keypoints, whose crops the sync and opening measures read (see `evaluate_case`)."""

    clip_id: str
    scenario: str
    fps: float
    frames: np.ndarray
    keypoints: KeypointTrack
    samples: np.ndarray
    truth: np.ndarray
    truth_keypoints: KeypointTrack
    framing: KeypointTrack


def load_case(folder: Path, scenario: str) -> Case | None:
    """The inputs of `scenario` for the clip in `folder` (None: the clip has no such input)."""
    meta = json.loads((folder / "clip.json").read_text())
    if not (folder / "frames.npz").exists():
        return None
    frames = np.load(folder / "frames.npz")
    version = INPUT_VERSION[scenario]
    if version not in meta["versions"]:
        return None
    images = frames[version]
    track = KeypointTrack.load(folder / f"keypoints_{version}.npz")
    if scenario == "still":
        n = len(images)
        images = np.repeat(images[:1], n, axis=0)
        track = KeypointTrack(points=np.repeat(track.points[:1], n, axis=0),
                              visible=np.repeat(track.visible[:1], n, axis=0),
                              boxes=np.repeat(track.boxes[:1], n, axis=0), frames=track.frames)
    return Case(folder.name, scenario, float(meta["fps"]), images, track,
                load_audio(folder / "audio.wav", FRONT_END.sample_rate), frames["talking"],
                KeypointTrack.load(folder / "keypoints_talking.npz"),
                KeypointTrack.load(folder / "keypoints_neutral.npz"))


def evaluate_case(models: LipSyncModels, case: Case, work: Path,
                  options: PipelineOptions, judge: SyncExpert | None = None
                  ) -> tuple[dict, dict, np.ndarray]:
    """Metrics of one case's output, the same metrics of doing nothing (the input as the
    output), and its strip (3 rows: input, output, truth) as (H, W, 3).
    judge: the sync expert for LSE-D/C (default: the models' own).

    Sync and opening read output and truth alike in crops framed by the clip's neutral
    render (`Case.framing`), the framing every network was trained in and one that does not
    follow any speaking mouth; the still input's output, whose head is frozen, in its held
    frame's framing."""
    timing = AudioTiming(fps=case.fps)
    paths = []
    (work / "in").mkdir(parents=True)
    for i, frame in enumerate(case.frames):
        paths.append(work / "in" / f"{i:04d}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    lipsync_frames(paths, [CharacterTrack(case.clip_id, case.keypoints, case.samples)],
                   timing, work / "out", options, models=models)
    out = np.stack([read_frame(work / "out" / p.name) for p in paths])
    state = CharacterState(CharacterTrack(case.clip_id, case.keypoints, case.samples),
                           len(out), timing, models, revoice=options.job.revoice)
    region = _mouth_regions(state, out.shape[1:3])
    allowed = region if models.bank is None else _mouth_regions(state, out.shape[1:3], JAW)
    measure = _Measures(models, case, timing, judge or models.sync, region, allowed)
    return measure(out), measure(case.frames), _strip(case, out)


class _Measures:
    """The measures of a video made from `case` (its output, or its input for "do
    nothing"), against the case's truth, which is measured once."""

    def __init__(self, models: LipSyncModels, case: Case, timing: AudioTiming,
                 judge: SyncExpert, region: np.ndarray, allowed: np.ndarray):
        self.models, self.case, self.timing, self.judge, self.region, self.allowed = \
            models, case, timing, judge, region, allowed
        truth = self._state(case.truth, case.framing)
        self.truth_score = sync_score(judge, _stack(truth.passes, len(case.truth)),
                                      truth.mfcc, timing)
        self.opening_truth = contour_heights(case.truth_keypoints.points[:, 0], INNER)
        self.truth_opening_corr = correlation(
            _parser_opening(models, _stack(truth.crops, len(case.truth))), self.opening_truth)
        self.paired = case.scenario != "still"   # the still input's head does not follow
        self.truth_sharpness = sharpness(case.truth, region)
        self.truth_motion = motion(case.truth, case.frames, region)

    def _state(self, frames: np.ndarray, track: KeypointTrack) -> CharacterState:
        s = CharacterState(CharacterTrack(self.case.clip_id, track, self.case.samples),
                           len(frames), self.timing, self.models, revoice="off")
        for i, frame in enumerate(frames):
            s.add(i, frame)
        return s

    def __call__(self, out: np.ndarray) -> dict:
        case, region, paired, n = self.case, self.region, self.paired, len(out)
        made = self._state(out, case.keypoints if case.scenario == "still" else case.framing)
        score = sync_score(self.judge, _stack(made.passes, n), made.mfcc, self.timing)
        truth = self.truth_score
        return {
            "frames": n,
            "lse_d": score.distance, "lse_c": score.confidence, "offset": score.offset,
            "truth_lse_d": truth.distance, "truth_lse_c": truth.confidence,
            "truth_offset": truth.offset,
            "opening_corr": correlation(_parser_opening(self.models, _stack(made.crops, n)),
                                        self.opening_truth),
            "truth_opening_corr": self.truth_opening_corr,
            "psnr": float(np.nanmean([psnr(o, t, m) for o, t, m in zip(out, case.truth, region)]))
            if paired else float("nan"),
            "ssim": float(np.nanmean([ssim(o, t, m) for o, t, m in zip(out, case.truth, region)]))
            if paired else float("nan"),
            "outside_identical": bool(np.array_equal(out[~self.allowed],
                                                     case.frames[~self.allowed])),
            "flicker": flicker(out, region), "truth_flicker": flicker(case.truth, region),
            "sharpness": sharpness(out, region) / self.truth_sharpness
            if paired else float("nan"),
            "motion": motion(out, case.frames, region) / self.truth_motion
            if paired and self.truth_motion > 0 else float("nan"),
        }


def _stack(per_frame: dict[int, np.ndarray], n: int) -> np.ndarray:
    """Frames 0..n-1 of a `CharacterState` dict (its passes or crops) as one array."""
    return np.stack([per_frame[i] for i in range(n)])


@torch.no_grad()
def _parser_opening(models: LipSyncModels, crops: np.ndarray) -> np.ndarray:
    """(F,) the parser's inner-lip gap over mouth width, crops (F, S, S, 3): the height of
    teeth + mouth interior, summed as probabilities down each column (sub-pixel: a gap
    is a few pixels of a small crop), in the tallest quarter of the mouth's columns, over
    the width of the lips + interior. On the validation truth frames it follows the
    keypoints' (top-to-bottom inner landmark) opening more closely than counted (argmax)
    pixels or the share of interior pixels (figures: docs/experiments.md)."""
    x = torch.from_numpy(crops.transpose(0, 3, 1, 2).astype(np.float32) / 255)
    probs = torch.softmax(models.parser(x.to(models.device))[0], dim=1).cpu().numpy()
    heights = probs[:, list(OPEN_CLASSES)].sum(axis=(1, 2))              # (F, S) per column
    mouth_columns = np.isin(probs.argmax(1), MOUTH_CLASSES).any(axis=1)   # (F, S)
    opening = np.zeros(len(probs))
    for i, (height, columns) in enumerate(zip(heights, mouth_columns)):
        where = np.nonzero(columns)[0]
        if len(where):
            width = where[-1] - where[0] + 1
            opening[i] = np.sort(height)[-max(1, width // 4):].mean() / width
    return opening


def _mouth_regions(state: CharacterState, shape: tuple[int, int],
                   form: RegionForm = MOUTH) -> np.ndarray:
    """(F, H, W) bool: on the frames where the mouth is visible, the regions of `form`
    (`mouth_region_mask` > 0) of the state's `region_points` (the input's keypoints; when
    re-voiced also the rest mouth carried into the frame). `MOUTH`: where the measures
    read; with `JAW` where a learnt character's bank is drawn, where the product may
    change pixels, whatever its matte."""
    regions = np.zeros((state.n_frames, *shape), bool)
    for i in np.flatnonzero(state.visible):
        for points in state.region_points(i):
            regions[i] |= mouth_region_mask(points, shape, form=form) > 0
    return regions


def _strip(case: Case, out: np.ndarray, side: int = 96) -> np.ndarray:
    """Mouth close-ups of STRIP_FRAMES frames: rows input, output, truth."""
    boxes = crop_boxes(case.keypoints.points[:, 0], case.keypoints.visible[:, 0])
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:3] - boxes[:, 0:1]) * 0.8
    wide = np.concatenate([centre - half, centre + half], axis=1)
    picks = np.linspace(0, len(out) - 1, STRIP_FRAMES).astype(int)
    rows = [np.concatenate([crop(images[i], wide[i], side) for i in picks], axis=1)
            for images in (case.frames, out, case.truth)]
    return np.concatenate(rows, axis=0)


def evaluate(data: str | Path, split: str = "test", out: str | Path | None = None,
             models: LipSyncModels | None = None, max_clips: int | None = None,
             options: PipelineOptions = PipelineOptions(),
             progress: ProgressFn = no_progress, judge: str | Path | None = None) -> dict:
    """Evaluate every clip of `split` with full frames in the four scenarios.

    judge: sync expert weights for LSE-D/C (default: the shipped judge, else the models'
    own sync expert, which the generator was trained against; "judge" in the result says
    which). Returns {"split", "clips", "judge", "targets", "scenarios": {scenario:
    {"clips": n, metric: mean, ..., "per_clip": {...}, "by": `breakdown`, "by_do_nothing":
    the same of its input left as it is}}, "do_nothing": the means and per-clip figures
    of the input left as it is (per input: neutral, dubbed, still), "data":
    `data_conditions`}; with `out`, also writes eval.json, report.md and one strip PNG per
    scenario there.
    """
    data = Path(data)
    records = [r for r in read_manifest(data) if r["split"] == split]
    folders = [data / r["clip_id"] for r in records if (data / r["clip_id"] / "frames.npz").exists()]
    folders = folders[:max_clips] if max_clips else folders
    if not folders:
        raise InputError(f"split '{split}' of '{data}' has no clip with full frames "
                         "(frames.npz): held-out clips keep them; make the data set again.")
    by_id = {r["clip_id"]: r for r in records}
    records = {f.name: {**by_id[f.name], "look": look_of(f)} for f in folders}
    models = models or LipSyncModels.load(options.job.device)
    judge_net, judge_name = _judge(models, judge)
    results: dict = {"split": split, "clips": len(folders), "judge": judge_name,
                     "targets": TARGETS, "scenarios": {}, "do_nothing": {}}
    strips, sizes = {}, set()
    total, done = len(folders) * len(SCENARIOS), 0
    as_is = replace(options, job=replace(options.job, revoice="off"))   # dubbed_as_is
    with tempfile.TemporaryDirectory(prefix="lipsync-eval-") as tmp:
        for scenario in SCENARIOS:
            per_clip, unchanged = {}, {}
            for folder in folders:
                done += 1
                progress(done, total, f"{scenario} {folder.name}")
                case = load_case(folder, scenario)
                if case is None:
                    continue
                metrics, unchanged[folder.name], strip = evaluate_case(
                    models, case, Path(tmp) / scenario / folder.name,
                    as_is if scenario == "dubbed_as_is" else options, judge_net)
                per_clip[folder.name] = metrics
                strips.setdefault(scenario, strip)
                sizes.add(case.truth.shape[1:3])
            if per_clip:
                results["scenarios"][scenario] = summarise(per_clip)
                results["scenarios"][scenario]["by"] = breakdown(per_clip, records)
                results["scenarios"][scenario]["by_do_nothing"] = breakdown(unchanged, records)
                if scenario != "dubbed_as_is":      # the same input as dubbed
                    results["do_nothing"][scenario] = summarise(unchanged)
    results["data"] = data_conditions(data, sizes)
    if out is not None:
        write_report(Path(out), results, strips)
    return results


def look_of(folder: Path) -> str:
    """"held-out look" when the clip's character wears a variant training never shows (a
    mouth style, a skin colour, a beard: `plan.HELD_OUT_VARIANTS`), else "trained look"."""
    character = json.loads((folder / "clip.json").read_text())["character"]
    held = held_out_look(character.get("family") or "cartoon", character)
    return "held-out look" if held else "trained look"


def data_conditions(data: Path, sizes: set[tuple[int, int]]) -> dict:
    """What the evaluated clips are: the data set's folder and recipe (seed, options such
    as a set frame rate or resolution, splits; None when it has no recipe) and the clips'
    frame `sizes` (px, (H, W))."""
    recipe = data / RECIPE
    return {"folder": str(data),
            "recipe": json.loads(recipe.read_text()) if recipe.exists() else None,
            "frame_sizes": [[int(h), int(w)] for h, w in sorted(sizes)]}


def _judge(models: LipSyncModels, weights: str | Path | None) -> tuple[SyncExpert, str]:
    """The sync expert that scores LSE-D/C, and how the report names it."""
    from ..models.sync import load_sync_expert

    path = Path(weights) if weights else shipped("judge")
    if weights is None and not path.exists():
        return models.sync, "the generator's own sync expert (not independent)"
    judge = load_sync_expert(path, models.device)
    if (judge.config.size, judge.config.blur_fraction) != (models.size, models.blur_fraction):
        raise InputError(f"the judge '{path}' reads {judge.config.size} px crops blurred "
                         f"{judge.config.blur_fraction}; the models use {models.size} px and "
                         f"{models.blur_fraction}: train the judge on the same passes.")
    return judge, f"independent sync expert {path.name}"
