"""The viseme reader's training (`models/visemes.py`): espeak-ng speech, made here, and
the viseme weights the factory derives from its phoneme timings (`viseme_weights`).

Data: `POOL` utterances of the training voices (`sentences.TRAIN_VOICES`, every
language), each a sentence of `sentences.SENTENCES` or, half of the time, 3-12 of its
language's words in a random order (new neighbours for every sound), at a random rate and
pitch, with 0-0.6 s of silence around it. Held out: `HELD_OUT_VOICES` saying every
sentence, never trained on. A step reads `SEGMENT` columns of `batch` utterances, with
noise at a random level (`NOISE_DB`) on half of them.

Loss: the cross-entropy of the predicted weights against the factory's (soft labels).
Held-out measures at 25 frames/s: `opening_corr` (the openness `OPENNESS` of predicted
and true weights, correlated per utterance, then averaged), `weights_mae` and `top_acc`
(the strongest viseme right).
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import torch
from torch.nn import functional as F

from ..audio.frontend import FRONT_END
from ..audio.timing import AudioTiming
from ..mesh.viseme_names import OPENNESS, VISEMES
from ..models.visemes import (MODEL, ReaderConfig, VisemeReader, load_reader, read_visemes,
                              reader_input)
from ..speech.espeak import synthesize
from ..speech.sentences import HELD_OUT_VOICES, SENTENCES, TRAIN_VOICES
from ..speech.visemes import viseme_weights
from .loop import RunConfig

POOL = 6000              # training utterances (made once per run, from the seed)
SEGMENT = 400            # columns a step reads of each utterance (4 s)
RATES = (120, 240)       # words a minute
PITCHES = (0, 100)
SILENCE_S = (0.0, 0.6)   # before and after each utterance
NOISE_DB = (15, 45)      # signal-to-noise ratio of the noisy half, dB
EVAL_FPS = 25            # the held-out measures' frame rate
DATA_TEXT = ("espeak-ng speech made by the trainer (`core/train/visemes.py`): "
             f"{POOL} utterances of the training voices "
             + ", ".join(v for vs in TRAIN_VOICES.values() for v in vs)
             + "; held out: " + ", ".join(v for vs in HELD_OUT_VOICES.values() for v in vs))
COLUMNS = AudioTiming(fps=FRONT_END.feature_rate)   # one "frame" per feature column
OPEN_WEIGHTS = np.array([OPENNESS[v] for v in VISEMES], np.float32)


def _words(language: str) -> list[str]:
    return [w for s in SENTENCES[language] for w in re.findall(r"[^\W\d_]+", s)]


def utterance(rng: np.random.Generator, voices: dict[str, tuple[str, ...]],
              shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A random utterance: samples (N,) float32 at the front end's rate and its viseme
    weights (T, 7) per feature column (T = 1 + N // hop)."""
    language = list(voices)[int(rng.integers(len(voices)))]
    if shuffle and rng.random() < 0.5:
        words = _words(language)
        text = " ".join(words[int(k)] for k in rng.integers(len(words), size=rng.integers(3, 13)))
    else:
        text = SENTENCES[language][int(rng.integers(len(SENTENCES[language])))]
    return speak(text, voices[language][int(rng.integers(len(voices[language])))],
                 int(rng.integers(*RATES)), int(rng.integers(*PITCHES)),
                 rng.uniform(*SILENCE_S, size=2))


def speak(text: str, voice: str, rate: int, pitch: int,
          silence_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`text` spoken with `silence_s` (before, after) seconds around it: (samples, weights
    per column) as `utterance`."""
    spoken = synthesize(text, voice=voice, rate_wpm=rate, pitch=pitch)
    sr = FRONT_END.sample_rate
    before, after = (int(s * sr) for s in silence_s)
    samples = np.concatenate([np.zeros(before, np.float32), spoken.samples.astype(np.float32),
                              np.zeros(after, np.float32)])
    lead = before / sr
    phonemes = [type(p)(p.start_s + lead, p.end_s + lead, p.symbol) for p in spoken.phonemes]
    columns = 1 + len(samples) // FRONT_END.hop_length
    return samples, viseme_weights(phonemes, COLUMNS, columns).astype(np.float32)


def held_out_set(seed: int = 1234) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every sentence of every language spoken by each of its held-out voices."""
    rng = np.random.default_rng(seed)
    return [speak(text, voice, int(rng.integers(*RATES)), int(rng.integers(30, 71)),
                  np.array([0.3, 0.3]))
            for language, voices in HELD_OUT_VOICES.items()
            for voice in voices for text in SENTENCES[language]]


def reader_metrics(reader: VisemeReader, spoken: list[tuple[np.ndarray, np.ndarray]]
                   ) -> dict[str, float]:
    """The held-out measures (module docstring) of `reader` on (samples, column weights)."""
    timing = AudioTiming(fps=EVAL_FPS)
    corr, mae, top, frames = [], [], [], 0
    reader.eval()
    for samples, truth_columns in spoken:
        n = timing.n_video_frames_for(len(samples))
        truth = truth_columns[np.clip(timing.feature_indices(np.arange(n)), 0,
                                      len(truth_columns) - 1)]
        guess = read_visemes(reader, samples, timing, n)
        a, b = guess @ OPEN_WEIGHTS, truth @ OPEN_WEIGHTS
        if a.std() > 0 and b.std() > 0:
            corr.append(float(np.corrcoef(a, b)[0, 1]))
        mae.append(float(np.abs(guess - truth).mean()))
        top.append(float((guess.argmax(1) == truth.argmax(1)).mean()))
        frames += n
    return {"opening_corr": float(np.mean(corr)), "weights_mae": float(np.mean(mae)),
            "top_acc": float(np.mean(top)), "frames": frames}


class VisemeStage:
    name = MODEL
    data_text = DATA_TEXT

    def __init__(self, run: RunConfig, device: torch.device,
                 config: ReaderConfig = ReaderConfig(), pool: int = POOL):
        self.device, self.run, self.config = device, run, config
        pool_rng = np.random.default_rng(run.seed + 1)
        self.pool = [utterance(pool_rng, TRAIN_VOICES) for _ in range(pool)]
        self.held_out = held_out_set()
        self.model = VisemeReader(config).to(device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=run.lr,
                                           weight_decay=1e-4)

    def state(self) -> dict:
        return {"model": self.model, "optimizer": self.optimizer}

    def _segment(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One utterance's `SEGMENT` columns (input (n_mels, L), weights (L, 7)), padded
        with silence when shorter, noisy half of the time."""
        samples, weights = self.pool[int(rng.integers(len(self.pool)))]
        if rng.random() < 0.5:
            power = float(np.mean(samples ** 2)) + 1e-12
            level = power / 10 ** (rng.uniform(*NOISE_DB) / 10)
            samples = samples + rng.normal(0, np.sqrt(level), samples.shape).astype(np.float32)
        mel = reader_input(samples)
        start = int(rng.integers(max(1, mel.shape[1] - SEGMENT + 1)))
        mel, weights = mel[:, start:start + SEGMENT], weights[start:start + SEGMENT]
        pad = SEGMENT - mel.shape[1]
        silent = np.eye(len(VISEMES), dtype=np.float32)[0]
        return (np.pad(mel, ((0, 0), (0, pad)), mode="edge"),
                np.concatenate([weights, np.repeat(silent[None], pad, 0)]))

    def train_step(self, rng: np.random.Generator, step: int) -> dict[str, float]:
        self.model.train()
        mels, targets = zip(*(self._segment(rng) for _ in range(self.run.batch)))
        mel = torch.from_numpy(np.stack(mels)).to(self.device)
        target = torch.from_numpy(np.stack(targets)).permute(0, 2, 1).to(self.device)
        for group in self.optimizer.param_groups:     # cosine to 5 % of the rate
            group["lr"] = self.run.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(
                math.pi * (step - 1) / self.run.steps)))
        loss = -(target * F.log_softmax(self.model(mel), dim=1)).sum(1).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"ce": loss.item()}

    def evaluate(self) -> dict[str, float]:
        return reader_metrics(self.model, self.held_out)

    def export(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu() for k, v in self.model.state_dict().items()}

    def metadata(self) -> dict[str, str]:
        return {"model": self.name, "config": json.dumps(self.config.to_dict())}

    def load(self, path) -> None:
        self.model.load_state_dict(load_reader(path).state_dict())

