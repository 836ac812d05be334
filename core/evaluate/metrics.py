"""Lip-sync quality measures, as the field reports them.

- `sync_score`: the LSE-D / LSE-C procedure of SyncNet (Chung & Zisserman 2016, as used
  by Wav2Lip's evaluation): for every 5-frame window, the distance between its visual
  embedding and the audio embeddings at offsets -15..+15 frames; averaged over windows,
  the minimum is LSE-D, median minus minimum is LSE-C (confidence), and the offset of the
  minimum is the found offset (0 = in sync). Computed with the project's sync expert.
- `psnr`, `ssim`: image quality inside a mask, images (H, W, 3) uint8.
- `flicker`: mean absolute frame-to-frame change inside a mask.
- `sharpness`: variance of the Laplacian inside a mask; `motion`: mean |a - b| inside it.
- `correlation`: Pearson correlation of two series (nan when either is constant).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..audio import AudioTiming, group_window
from ..models.sync import SyncExpert

MAX_OFFSET = 15


@dataclass(frozen=True)
class SyncScore:
    distance: float        # LSE-D: mean distance at the best offset (lower is better)
    confidence: float      # LSE-C: median minus minimum of the mean distances (higher is better)
    offset: int            # frames; audio at frame t + offset matches video at frame t
    curve: tuple[float, ...]  # mean distance per offset, -MAX_OFFSET .. +MAX_OFFSET


@torch.no_grad()
def sync_score(sync: SyncExpert, passes: np.ndarray, mfcc: np.ndarray, timing: AudioTiming,
               max_offset: int = MAX_OFFSET) -> SyncScore:
    """LSE-D / LSE-C of frames given as passes (F, 4, S, S) float32 with audio MFCC
    (M, T) (columns from the first frame) of the shot's `timing`. Needs F >= G."""
    device = next(sync.parameters()).device
    group = timing.front_end.group_frames
    n = passes.shape[0] - group + 1
    groups = np.stack([passes[i:i + group].reshape(-1, *passes.shape[2:])
                       for i in range(n)])                                   # (n, 4G, S, S)
    visual = sync.embed_visual(torch.from_numpy(groups).to(device))          # (n, D)
    offsets = range(-max_offset, max_offset + 1)
    audio = np.stack([group_window(mfcc, timing, i + k)[None]
                      for k in offsets for i in range(n)])                   # (K*n, 1, M, W)
    embedded = sync.embed_audio(torch.from_numpy(audio).to(device))
    embedded = embedded.view(len(offsets), n, -1)                            # (K, n, D)
    dists = (embedded - visual[None]).norm(dim=2).mean(dim=1).cpu().numpy()  # (K,)
    best = int(dists.argmin())
    return SyncScore(distance=float(dists[best]),
                     confidence=float(np.median(dists) - dists[best]),
                     offset=best - max_offset, curve=tuple(float(d) for d in dists))


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB) of uint8 images (H, W, 3) over the pixels where mask (H, W) > 0."""
    inside = mask > 0
    if not inside.any():
        return float("nan")
    mse = np.mean((a[inside].astype(np.float64) - b[inside]) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03, on the
    luma) of uint8 images (H, W, 3) over the pixels where mask (H, W) > 0."""
    inside = mask > 0
    if not inside.any():
        return float("nan")
    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z):
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(index[inside].mean())


def flicker(frames: np.ndarray, mask: np.ndarray) -> float:
    """Mean |frame-to-frame change| (0-255 units) of frames (F, H, W, 3) inside masks
    (F, H, W) (a pixel counts where both frames' masks are > 0)."""
    both = (mask[1:] > 0) & (mask[:-1] > 0)
    if not both.any():
        return float("nan")
    change = np.abs(np.diff(frames.astype(np.float32), axis=0)).mean(axis=3)
    return float(change[both].mean())


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two series (N,); nan when either is (nearly) constant."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def sharpness(frames: np.ndarray, mask: np.ndarray) -> float:
    """Mean over frames of the variance of the luma's Laplacian (3x3, 0-255 units squared)
    of frames (F, H, W, 3) uint8 inside masks (F, H, W) (pixels where mask > 0); nan when
    no frame has a masked pixel. A blurred mouth reads lower than a sharp one."""
    values = []
    for frame, inside in zip(frames, mask > 0):
        if inside.sum() > 1:
            grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64)
            values.append(cv2.Laplacian(grey, cv2.CV_64F, ksize=1)[inside].var())
    return float(np.mean(values)) if values else float("nan")


def motion(frames: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """Mean |frames - reference| (0-255 units, over the 3 channels) of (F, H, W, 3) videos
    inside masks (F, H, W); nan when no pixel is masked."""
    inside = mask > 0
    if not inside.any():
        return float("nan")
    change = np.abs(frames.astype(np.float32) - reference.astype(np.float32)).mean(axis=3)
    return float(change[inside].mean())
