"""Reproducible speech: each synthesis in a fresh process.

espeak-ng keeps synthesis state between calls in one process (the same text spoken twice
can differ by a few samples and in waveform), while the first call of a fresh process is
always the same. The data factory promises "same seed, same files", so it speaks every
sentence through :func:`synthesize_isolated` (one process start per call).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from ..audio.frontend import FRONT_END
from .espeak import Phoneme, SpeechError, Utterance


def synthesize_isolated(text: str, voice: str = "en-us", rate_wpm: int = 175, pitch: int = 50,
                        sample_rate: int = FRONT_END.sample_rate) -> Utterance:
    """:func:`~.espeak.synthesize` in a fresh Python process: the same arguments always
    give the same samples and phonemes. Raises SpeechError as `synthesize` does."""
    args = {"text": text, "voice": voice, "rate_wpm": rate_wpm, "pitch": pitch,
            "sample_rate": sample_rate}
    with tempfile.TemporaryDirectory(prefix="lipsync-speech-") as tmp:
        result = os.path.join(tmp, "speech.npz")
        code = (f"import importlib; importlib.import_module({__name__!r})._child("
                f"{json.dumps(args)!r}, {result!r})")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, timeout=120)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise SpeechError(f"speech synthesis failed in its worker process: {last}")
        data = np.load(result)
        samples = data["samples"]
        samples.setflags(write=False)
        phonemes = tuple(Phoneme(float(s), float(e), str(sym))
                         for (s, e), sym in zip(data["times"], data["symbols"]))
    return Utterance(samples=samples, sample_rate=sample_rate, phonemes=phonemes, text=text,
                     voice=voice, rate_wpm=rate_wpm, pitch=pitch)


def _child(args_json: str, result: str) -> None:
    """Child-process side: synthesise and write samples and phonemes to `result` (npz)."""
    from .espeak import synthesize

    utterance = synthesize(**json.loads(args_json))
    times = np.array([[p.start_s, p.end_s] for p in utterance.phonemes], np.float64)
    symbols = np.array([p.symbol for p in utterance.phonemes])
    np.savez(result, samples=utterance.samples, times=times.reshape(-1, 2), symbols=symbols)
