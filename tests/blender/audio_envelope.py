"""Per-frame loudness envelope of an audio track (pure numpy, no bpy).

Used to drive a simple "mouth open" value from speech, e.g. for the
procedural talking head in the demo and in integration tests.
"""

from __future__ import annotations

import numpy as np


def mouth_open_from_audio(
    samples: np.ndarray,
    sample_rate: int,
    fps: float,
    n_frames: int,
    *,
    smooth_frames: float = 0.7,
    floor_db: float = -35.0,
    gamma: float = 1.5,
) -> np.ndarray:
    """Map audio to a per-frame mouth-open value in [0, 1].

    For each video frame the RMS of the audio samples inside that frame's time
    window is taken, converted to decibels relative to the loudest frame,
    mapped linearly from `floor_db` (-> 0) to 0 dB (-> 1), raised to `gamma`
    (> 1 deepens the dips of closed-mouth consonants), smoothed with a small
    Gaussian (`smooth_frames` is its sigma in frames; 0 disables it) and
    renormalised so that the loudest frame is 1.

    `samples` is mono (n,) or multichannel (n, channels); channels are averaged.
    Frames past the end of the audio get 0. Silence (all zeros) gives all zeros.
    """
    if n_frames <= 0:
        return np.zeros(0, dtype=np.float64)
    if sample_rate <= 0 or fps <= 0:
        raise ValueError("sample_rate and fps must be positive")
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    elif x.ndim != 1:
        raise ValueError("samples must be 1-D (n,) or 2-D (n, channels)")

    # Sample boundaries of each frame window.
    edges = np.round(np.arange(n_frames + 1) * (sample_rate / fps)).astype(np.int64)
    edges = np.clip(edges, 0, x.size)
    # Cumulative sum of squares gives every window's energy in one pass.
    csum = np.concatenate(([0.0], np.cumsum(x * x)))
    energy = csum[edges[1:]] - csum[edges[:-1]]
    counts = edges[1:] - edges[:-1]
    rms = np.zeros(n_frames, dtype=np.float64)
    nz = counts > 0
    rms[nz] = np.sqrt(np.maximum(energy[nz], 0.0) / counts[nz])

    peak = rms.max()
    if peak <= 1e-9:
        return np.zeros(n_frames, dtype=np.float64)
    with np.errstate(divide="ignore"):
        db = 20.0 * np.log10(np.maximum(rms / peak, 1e-12))
    value = np.clip(1.0 - db / floor_db, 0.0, 1.0) ** gamma

    if smooth_frames > 0 and n_frames > 1:
        radius = max(1, int(np.ceil(3 * smooth_frames)))
        t = np.arange(-radius, radius + 1, dtype=np.float64)
        kernel = np.exp(-0.5 * (t / smooth_frames) ** 2)
        kernel /= kernel.sum()
        padded = np.pad(value, radius, mode="edge")
        value = np.convolve(padded, kernel, mode="valid")
        top = value.max()
        if top > 0:
            value = value / top
    return np.clip(value, 0.0, 1.0)
