"""The pipeline runs `bench_pipeline.py` measures: one `lipsync_frames` run in a fresh
process (the child, and its launcher), and in the benchmark's own process the pipeline's
steps one after another, the networks alone and the models' load."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

import shot_1080p
from machine import peak_rss_mb, proc_status_mb

BENCH = Path(__file__).resolve().with_name("bench_pipeline.py")   # the child's entry point


def log(message: str) -> None:
    """Progress for the reader, on stderr (stdout keeps the figures)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) < 600 else text[:600] + " ..."


def sync_device(device) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def child_main(args: argparse.Namespace) -> int:
    """One `lipsync_frames` run in this fresh process; writes its figures to `args.child`."""
    result: dict = {"device": args.device, "frames": args.child_frames}
    code = 0
    try:
        started = time.perf_counter()
        import torch

        from lipsync.core.pipeline.models import LipSyncModels
        from lipsync.core.pipeline.options import LipSyncOptions
        from lipsync.core.pipeline.run import PipelineOptions, lipsync_frames
        from lipsync.core.progress import ConsoleProgress

        torch.set_num_threads(args.threads)
        result["import_s"] = time.perf_counter() - started
        paths, characters, fps = shot_1080p.shot_inputs(args.cache, args.child_frames)
        result["rss_inputs_mb"] = proc_status_mb("VmRSS")
        start = time.perf_counter()
        models = LipSyncModels.load(args.device)
        sync_device(models.device)
        result["load_s"] = time.perf_counter() - start
        result["rss_after_load_mb"] = proc_status_mb("VmRSS")
        options = PipelineOptions(LipSyncOptions(device=args.device, batch=args.batch,
                                                 revoice=args.revoice), chunk=args.chunk)
        bar = ConsoleProgress(f"  {args.device} {args.child_frames} frames")
        first: list[tuple[int, float]] = []

        def progress(done: int, total: int, message: str) -> None:
            if not first:
                first.append((done, time.perf_counter()))
            bar(done, total, message)

        start = time.perf_counter()
        try:
            report = lipsync_frames(paths, characters, fps, args.child_out, options,
                                    models=models, progress=progress)
        finally:
            bar.close()
        end = time.perf_counter()
        if first:
            done, when = first[0]
            result["first_out_s"] = when - start          # audio features, reference, 1st chunk
            if report.frames > done and end > when:
                result["steady_frames_per_second"] = (report.frames - done) / (end - when)
        result.update(seconds=report.seconds, frames_per_second=report.frames_per_second,
                      generated=sum(report.characters.values()),
                      passed_through=len(report.passed_through), notes=report.notes,
                      total_s=time.perf_counter() - started)
        if models.device.type == "cuda":
            result["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    except BaseException as exc:             # report everything, KeyboardInterrupt included
        traceback.print_exc(file=sys.stderr)
        result["error"] = error_text(exc)
        code = 1
    result["peak_rss_mb"] = peak_rss_mb()
    Path(args.child).write_text(json.dumps(result, indent=2))
    return code


def run_child(args: argparse.Namespace, device: str, n_frames: int, runs: Path,
              png_bytes: float) -> dict:
    """`lipsync_frames` on an `n_frames` shot in a fresh process; its output is deleted."""
    out = runs / f"{device}-{n_frames}"
    result_file = runs / f"{device}-{n_frames}.json"
    free = shutil.disk_usage(runs).free
    needed = n_frames * png_bytes * 1.1 + 2**30
    if free < needed:
        return {"device": device, "frames": n_frames,
                "skipped": f"needs about {needed / 1e9:.1f} GB of disk for its output, "
                           f"{free / 1e9:.1f} GB free"}
    _remove_run(out)
    command = [sys.executable, str(BENCH), "--child", str(result_file),
               "--child-frames", str(n_frames), "--child-out", str(out), "--device", device,
               "--threads", str(args.threads), "--cache", str(args.cache),
               "--batch", str(args.batch), "--chunk", str(args.chunk)] + (
                   ["--revoice"] if args.revoice else [])
    log(f"pipeline on {device}, {n_frames} frames, in a fresh process")
    result_file.unlink(missing_ok=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, stdout=sys.stderr, timeout=args.timeout)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = None
    finally:
        _remove_run(out)
    wall = time.perf_counter() - start
    try:
        result = json.loads(result_file.read_text())
        result_file.unlink()
    except (OSError, ValueError):
        result = {"device": device, "frames": n_frames}
    result["process_wall_s"] = wall
    if code is None:
        result.setdefault("error", f"the run took more than --timeout {args.timeout} s")
    elif code != 0 and "error" not in result:
        how = (f"killed by signal {-code}" + (" (out of memory?)" if code == -9 else "")
               if code < 0 else f"exit code {code}")
        result["error"] = f"the pipeline process ended without a result ({how})"
    return result


def _remove_run(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    for partial in out.parent.glob(out.name + ".partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


def load_models(device: str) -> tuple[object, float]:
    from lipsync.core.pipeline.models import LipSyncModels

    start = time.perf_counter()
    models = LipSyncModels.load(device)
    sync_device(models.device)
    return models, time.perf_counter() - start


def stage_split(cache: Path, n_frames: int, models, batch: int, scratch: Path) -> dict:
    """The pipeline's steps one after another on the first `n_frames` frames of the shot:
    ms per frame of each (and the one-off set-up in s)."""
    from lipsync.core.audio import AudioTiming
    from lipsync.core.pipeline.character import CharacterState
    from lipsync.core.pipeline.pixels import to_display
    from lipsync.core.pipeline.composite import composite_mouth
    from lipsync.core.pipeline.run import _encode
    from lipsync.core.preprocess.frames import read_frame_raw

    paths, characters, fps = shot_1080p.shot_inputs(cache, n_frames)
    device = models.device
    ms: dict[str, float] = {}

    def timed(name, fn):
        start = time.perf_counter()
        value = fn()
        sync_device(device)
        ms[name] = (time.perf_counter() - start) * 1000.0 / n_frames
        return value

    start = time.perf_counter()
    state = CharacterState(characters[0], n_frames, AudioTiming(fps=fps), models, refine=True)
    state.set_reference(to_display(read_frame_raw(paths[0])), 0)
    setup_s = time.perf_counter() - start
    raws = timed("read PNG (decode)", lambda: [read_frame_raw(p) for p in paths])
    displays = timed("to display pixels", lambda: [to_display(r) for r in raws])
    timed("crop + passes (blur, gradient)",
          lambda: [state.add(i, d) for i, d in enumerate(displays)])
    state.generate(list(range(min(batch, n_frames))), batch)             # warm-up
    sync_device(device)
    made = timed(f"networks (inputs + 3 nets, batch {batch})",
                 lambda: state.generate(list(range(n_frames)), batch))
    outputs = [r.copy() for r in raws]
    del displays
    timed("composite", lambda: [composite_mouth(o, made[i], None) for i, o in enumerate(outputs)])
    encoded = timed("encode PNG", lambda: [_encode(o, ".png") for o in outputs])
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        timed("write file", lambda: [(scratch / p.name).write_bytes(e)
                                     for p, e in zip(paths, encoded)])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"frames": n_frames, "setup_s": setup_s, "ms_per_frame": ms,
            "sum_ms_per_frame": sum(ms.values()),
            "changed": bool(any((o != r).any() for o, r in zip(outputs[:3], raws[:3])))}


def bench_networks(models, batch: int, min_seconds: float) -> dict:
    """Frames/s of sync embeddings + generator + parser on random 64x64 inputs, and the
    ms per frame of each network timed on its own."""
    import torch

    from lipsync.core.pipeline.finish import KEEP_CLASSES

    device, size = models.device, models.size
    config = models.sync.config
    gen = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.rand(*shape, generator=gen).to(device)

    groups = rand(batch, 4 * config.audio.group_frames, size, size)
    audio = rand(batch, 1, config.audio.n_mfcc, config.audio.window_columns)
    source, heat = rand(batch, 4, size, size), rand(batch, 1, size, size)
    reference, crops = rand(batch, 3, size, size), rand(batch, 3, size, size)
    visemes = (torch.softmax(rand(batch, models.generator.config.visemes), dim=1)
               if models.generator.config.visemes else None)
    large = (rand(batch, 3, 2 * size, 2 * size) if models.generator.config.scale == 2
             else None)                             # a scale-2 generator's reference at 2S
    keep = list(KEEP_CLASSES)
    with torch.no_grad():
        visual, sound = models.sync.embed_visual(groups), models.sync.embed_audio(audio)
        parts = {
            "sync": lambda: (models.sync.embed_visual(groups), models.sync.embed_audio(audio)),
            "generator": lambda: models.generator(source, heat, reference, visual, sound, visemes,
                                                  reference_large=large),
            "parser": lambda: torch.softmax(models.parser(crops)[0], dim=1)[:, keep].sum(1),
        }

        def all_three():
            v, a = models.sync.embed_visual(groups), models.sync.embed_audio(audio)
            models.generator(source, heat, reference, v, a, visemes, reference_large=large)
            torch.softmax(models.parser(crops)[0], dim=1)[:, keep].sum(1)

        def per_frame_ms(fn, seconds):
            """Median ms per frame of calls made for at least `seconds` (and 5 calls)."""
            for _ in range(10 if device.type == "cuda" else 3):          # warm-up
                fn()
            sync_device(device)
            times, begin = [], time.perf_counter()
            while len(times) < 5 or time.perf_counter() - begin < seconds:
                start = time.perf_counter()
                fn()
                sync_device(device)
                times.append(time.perf_counter() - start)
            return float(np.median(times)) * 1000.0 / batch

        total = per_frame_ms(all_three, min_seconds)
        split = {name: per_frame_ms(fn, min_seconds / 3) for name, fn in parts.items()}
    return {"batch": batch, "frames_per_second": 1000.0 / total, "ms_per_frame": total,
            "ms_per_frame_each": split}
