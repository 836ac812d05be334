"""Speech fitted to video frames: espeak-ng text -> audio samples and per-frame visemes.

`fit_speech` fits one utterance to a shot's frames (the factory's clips); `speak_script`
speaks several lines one after another, each with its own voice, rate and pitch, with a
pause between two (Learn Character: the user's character spoken to); `script_for` draws such
lines, varied, from `sentences`.

Arrays: samples (N,) float32 mono in [-1, 1] at `FRONT_END.sample_rate`, t = 0 at the
start of frame 0, N = timing.n_samples_for(F); visemes (F, 7) float32 in [0, 1], columns
in `VISEMES` order, rows summing to 1; phonemes [[start_s, end_s, symbol], ...].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..audio.frontend import FRONT_END
from ..audio.io import fit_to_frames
from ..audio.timing import AudioTiming
from ..errors import InputError
from .espeak import Phoneme, Utterance, is_available, synthesize
from .sentences import SENTENCES, TRAIN_VOICES
from .visemes import viseme_weights

PAUSE_S = 0.35                 # silence between two lines of a script
RATES_WPM = (140, 200)         # the range a script's lines are spoken at
PITCHES = (35, 65)
INSTALL = ("install espeak-ng (Debian, Ubuntu: sudo apt-get install espeak-ng; Fedora: sudo "
           "dnf install espeak-ng; macOS: brew install espeak-ng; Windows: the espeak-ng "
           "installer from github.com/espeak-ng/espeak-ng/releases), then try again")


@dataclass(frozen=True)
class Line:
    """One line of a script: its text and how it is spoken (espeak-ng voice, words per
    minute 80-450, pitch 0-100)."""

    text: str
    voice: str = "en-us"
    rate_wpm: int = 175
    pitch: int = 50


@dataclass
class SpokenTrack:
    """Speech fitted to `n_frames` frames of `timing` (arrays: the module docstring)."""

    timing: AudioTiming
    samples: np.ndarray
    visemes: np.ndarray
    phonemes: list

    @property
    def n_frames(self) -> int:
        return len(self.visemes)


def require_espeak(what: str = "Learn Character") -> None:
    """InputError saying how to install espeak-ng when its library cannot be loaded."""
    if not is_available():
        raise InputError(f"{what} speaks to the character with espeak-ng, which is not "
                         f"installed on this computer: {INSTALL}.")


def fit_speech(utterance: Utterance, timing: AudioTiming, n_frames: int | None = None,
               max_frames: int | None = None) -> SpokenTrack:
    """`utterance` over `n_frames` frames (default: the frames its audio covers, at most
    `max_frames`): its samples padded or cut, its viseme weights per frame."""
    if n_frames is None:
        n_frames = timing.n_video_frames_for(len(utterance.samples))
        if max_frames is not None:
            n_frames = min(n_frames, max_frames)
    samples, _ = fit_to_frames(utterance.samples, timing, n_frames)
    return SpokenTrack(timing, samples, viseme_weights(utterance.phonemes, timing, n_frames),
                       [[p.start_s, p.end_s, p.symbol] for p in utterance.phonemes])


def speak_script(lines: Sequence[Line], timing: AudioTiming,
                 pause_s: float = PAUSE_S) -> SpokenTrack:
    """Speak `lines` in order with `pause_s` of silence between two (in this process);
    SpeechError (an InputError) when espeak-ng is missing or a line cannot be spoken."""
    if not lines:
        raise InputError("a script needs at least one line to speak.")
    rate = FRONT_END.sample_rate
    parts, phonemes, start = [], [], 0
    for k, line in enumerate(lines):
        spoken = synthesize(line.text, voice=line.voice, rate_wpm=line.rate_wpm,
                            pitch=line.pitch, sample_rate=rate)
        offset = start / rate
        phonemes += [Phoneme(p.start_s + offset, p.end_s + offset, p.symbol)
                     for p in spoken.phonemes]
        gap = np.zeros(int(round(pause_s * rate)) if k + 1 < len(lines) else 0, np.float32)
        parts += [np.asarray(spoken.samples, np.float32), gap]
        start += len(spoken.samples) + len(gap)
    samples = np.concatenate(parts)
    whole = Utterance(samples=samples, sample_rate=rate, phonemes=tuple(phonemes),
                      text=" ".join(line.text for line in lines), voice=lines[0].voice,
                      rate_wpm=lines[0].rate_wpm, pitch=lines[0].pitch)
    return fit_speech(whole, timing)


def script_for(language: str, n_lines: int, seed: int = 0) -> list[Line]:
    """`n_lines` lines in `language` (a key of `SENTENCES`): sentences without repeats
    while they last, each with a voice of the language, a rate within RATES_WPM and a pitch
    within PITCHES drawn from `seed`."""
    if language not in SENTENCES:
        raise InputError(f"language '{language}': the scripts are in "
                         f"{', '.join(SENTENCES)}; choose one of those.")
    if n_lines < 1:
        raise InputError(f"{n_lines} sentences: give at least one.")
    rng = np.random.default_rng(seed)
    texts, voices = SENTENCES[language], TRAIN_VOICES[language]
    order = np.concatenate([rng.permutation(len(texts))
                            for _ in range(-(-n_lines // len(texts)))])[:n_lines]
    return [Line(texts[k], voices[int(rng.integers(len(voices)))],
                 int(rng.integers(RATES_WPM[0], RATES_WPM[1] + 1)),
                 int(rng.integers(PITCHES[0], PITCHES[1] + 1))) for k in order]
