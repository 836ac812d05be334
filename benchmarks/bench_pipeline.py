"""Benchmark of the lip-sync pipeline on a 1920x1080 shot: speed, memory, networks, loading.

    python benchmarks/bench_pipeline.py [--quick] [--device all|cpu|cuda] [--threads N]
        [--frames 250] [--lengths 250,1000,5000] [--json FILE] [--cache DIR] [--revoice]

Prints the machine (CPU model, cores, load average, torch threads, GPU), then

1. end to end: seconds per frame and frames/s of `lipsync_frames` on a `--frames`-frame
   1920x1080 PNG shot (PNG out), on the CPU and on CUDA when torch sees a GPU, each run
   in a fresh process with the models loaded beforehand; then where the time goes: the
   pipeline's steps run one after another on the first frames of the same shot in this
   process (read, crop + passes, networks, composite, encode, write);
2. peak memory (VmHWM, the process's max RSS) of the pipeline for each of `--lengths`
   frames, each in a fresh process, to show it stays flat with the shot's length;
3. frames/s of the networks alone (sync expert embeddings + generator + face parser on
   64x64 inputs) by batch size, after warm-up;
4. how long loading the three networks takes.

The shot (see benchmarks/shot_1080p.py) is rendered once, in a subprocess, into `--cache`
and reused: a few distinct Workbench renders of a talking head, mouth closed, played back
and forth (hard links) to any length, with demo/speech.wav looped as its audio.
Each run's output (GBs for 5,000 frames) is deleted once measured. A step that fails is
reported as FAILED with its reason and the others still run; the exit code is then 1.
With --revoice every pipeline run re-voices (`LipSyncOptions.revoice`), to compare its
cost with a plain run's.
Targets printed next to the figures: at least 10 frames/s end to end on the CPU at 1080p;
peak memory under 2 GB at any length.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shot_1080p  # noqa: E402  (the shared shot helper next to this file)
from machine import cpu_model, usable_cores  # noqa: E402

TARGET_FPS_CPU = 10.0            # end to end, 1080p, CPU
TARGET_PEAK_MB = 2048.0          # max RSS at any length, MiB
BATCHES = (1, 4, 16, 64)
QUEUES_FULL = 100                # frames after which the pipeline's frame queues are full


# ---------------------------------------------------------------- machine and helpers

def log(message: str) -> None:
    """Progress for the reader, on stderr (stdout keeps the figures)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def proc_status_mb(field: str) -> float | None:
    """A memory line of /proc/self/status (VmHWM, VmRSS) in MiB, or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return None


def peak_rss_mb() -> float:
    """Max RSS of this process so far, MiB (VmHWM; getrusage where /proc is missing)."""
    hwm = proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    scale = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0   # KiB on Linux, B on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def machine(threads: int) -> dict:
    import cv2
    import torch

    info = {"platform": platform.platform(), "cpu": cpu_model(), "cpus": os.cpu_count(),
            "usable_cpus": usable_cores(), "torch_threads": threads,
            "python": sys.version.split()[0], "torch": torch.__version__,
            "numpy": np.__version__, "opencv": cv2.__version__,
            "opencv_threads": cv2.getNumThreads(), "load_average": list(os.getloadavg()),
            "gpu": None, "cuda": torch.version.cuda}
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["ram_gib"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        info["ram_gib"] = None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = f"{props.name}, {props.total_memory / 2**30:.0f} GiB"
    return info


def print_machine(info: dict) -> None:
    ram = f", {info['ram_gib']} GiB RAM" if info["ram_gib"] else ""
    print(f"machine: {info['platform']}, {info['cpu']}, {info['cpus']} CPUs "
          f"({info['usable_cpus']} usable){ram}")
    print(f"python {info['python']}, torch {info['torch']} (torch threads = "
          f"{info['torch_threads']}), numpy {info['numpy']}, opencv {info['opencv']} "
          f"(cv2 threads = {info['opencv_threads']})")
    gpu = info["gpu"] or "none (torch.cuda.is_available() is False)"
    print(f"GPU: {gpu}" + (f", CUDA {info['cuda']}" if info["gpu"] else ""))
    busy = info["load_average"][0] > 0.25 * info["usable_cpus"]
    print("load average (1, 5, 15 min) at start: "
          + " ".join(f"{v:.2f}" for v in info["load_average"])
          + ("  -- the machine is busy: the timings are disturbed" if busy else ""))


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) < 600 else text[:600] + " ..."


def failed(results: dict, key: str, exc: BaseException, indent: str = "  ") -> None:
    """Record and print a failed step (the traceback goes to stderr)."""
    traceback.print_exc(file=sys.stderr)
    results[key] = {"error": error_text(exc)}
    print(f"{indent}FAILED: {error_text(exc)}")


def sync_device(device) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def why_not(run: dict) -> str:
    """'FAILED: ...' or 'skipped: ...' for a run without figures."""
    return f"FAILED: {run['error']}" if "error" in run else f"skipped: {run['skipped']}"


# ---------------------------------------------------------------- child: one pipeline run

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
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(result_file),
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


# ---------------------------------------------------------------- in-process measurements

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


# ---------------------------------------------------------------- the report

def print_e2e(device: str, run: dict, n_frames: int) -> None:
    if "error" in run or "skipped" in run:
        print(f"  {device:5s} {why_not(run)}")
        return
    fps = run["frames_per_second"]
    target = (f"   target >= {TARGET_FPS_CPU:.0f} frames/s: {met(fps >= TARGET_FPS_CPU)}"
              if device == "cpu" else "")
    print(f"  {device:5s} {n_frames} frames in {run['seconds']:7.1f} s = "
          f"{run['seconds'] / n_frames:6.3f} s/frame = {fps:6.2f} frames/s{target}")
    if "steady_frames_per_second" in run:
        print(f"        first frames written after {run['first_out_s']:.1f} s (set-up: audio "
              "features, reference, first chunks), then "
              f"{run['steady_frames_per_second']:.2f} frames/s")
    gpu = f", GPU peak {run['gpu_peak_mb']:.0f} MiB" if "gpu_peak_mb" in run else ""
    print(f"        peak RSS {run['peak_rss_mb']:.0f} MiB{gpu}; the whole process "
          f"{run['process_wall_s']:.1f} s (imports {run['import_s']:.1f} s, model load "
          f"{run['load_s']:.2f} s); {run['generated']} frames generated, "
          f"{run['passed_through']} passed through")
    for note in run.get("notes", []):
        print(f"        note: {note}")


def print_split(device: str, split: dict, e2e: dict | None, io_threads: int) -> None:
    print(f"  where the time goes on {device} ({split['frames']} frames, the steps one after "
          f"another in one process; set-up {split['setup_s']:.2f} s once per shot):")
    for name, ms in split["ms_per_frame"].items():
        print(f"        {name:40s} {ms:8.1f} ms/frame")
    line = f"        {'sum':40s} {split['sum_ms_per_frame']:8.1f} ms/frame"
    if e2e and "seconds" in e2e:
        steady = e2e.get("steady_frames_per_second")
        line += (f"   (end to end {1000 * e2e['seconds'] / e2e['frames']:.1f} ms/frame"
                 + (f", {1000 / steady:.1f} after the first chunks" if steady else "")
                 + f"; it reads and writes on {io_threads} threads meanwhile)")
    print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: 50 frames, lengths 50,100, short network timings")
    parser.add_argument("--device", default="all", choices=("all", "cpu", "cuda"),
                        help="all: the CPU, and CUDA when torch sees a GPU (default)")
    parser.add_argument("--threads", type=int, default=usable_cores(),
                        help="torch threads (default: all usable cores)")
    parser.add_argument("--frames", type=int, help="frames of the end-to-end shot (250)")
    parser.add_argument("--lengths", help="comma-separated shot lengths for peak memory "
                                          "(default 250,1000,5000)")
    parser.add_argument("--batch", type=int, default=16, help="pipeline batch (16)")
    parser.add_argument("--chunk", type=int, default=16, help="pipeline chunk (16)")
    parser.add_argument("--distinct", type=int, default=25, help="distinct rendered frames")
    parser.add_argument("--cache", type=Path, default=shot_1080p.DEFAULT_CACHE,
                        help="where the rendered shot is kept and reused")
    parser.add_argument("--timeout", type=float, default=7200,
                        help="seconds one pipeline run may take")
    parser.add_argument("--json", type=Path, help="also save the figures as JSON here")
    parser.add_argument("--revoice", action="store_true",
                        help="re-voice in every pipeline run (LipSyncOptions.revoice)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-frames", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.batch < 1 or args.chunk < 1 or args.distinct < 1:
        parser.error("--threads, --batch, --chunk and --distinct must be >= 1")
    args.cache = args.cache.resolve()
    if args.child:
        return child_main(args)

    sys.stdout.reconfigure(line_buffering=True)        # figures appear as they are made
    args.frames = args.frames or (50 if args.quick else 250)
    try:
        lengths = ([int(v) for v in args.lengths.split(",") if v.strip()] if args.lengths
                   else ([50, 100] if args.quick else [250, 1000, 5000]))
    except ValueError:
        parser.error(f"--lengths must be comma-separated integers, got '{args.lengths}'")
    if args.frames < 1 or not lengths or min(lengths) < 1:
        parser.error("--frames and every --lengths value must be >= 1")
    lengths = sorted(set(lengths))

    import torch

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA GPU (torch.cuda.is_available() is "
                     "False); use --device cpu or all")
    devices = (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]) \
        if args.device == "all" else [args.device]

    results: dict = {"machine": machine(args.threads),
                     "settings": {"frames": args.frames, "lengths": lengths, "batch": args.batch,
                                  "chunk": args.chunk, "devices": devices, "quick": args.quick,
                                  "distinct": args.distinct, "cache": str(args.cache)},
                     "targets": {"cpu_frames_per_second": TARGET_FPS_CPU,
                                 "peak_rss_mb": TARGET_PEAK_MB}}
    code = 0
    try:
        code = _run(args, devices, lengths, results)
    except KeyboardInterrupt:
        print("interrupted")
        results["interrupted"] = True
        code = 130
    finally:
        results["load_average_end"] = list(os.getloadavg())
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")
            log(f"figures saved to {args.json}")
    return code


def _run(args: argparse.Namespace, devices: list[str], lengths: list[int],
         results: dict) -> int:
    print_machine(results["machine"])
    runs = args.cache.parent / "runs"
    quick = args.quick

    # The shot (rendered in a subprocess, before any timing).
    shot = None
    log(f"shot: {args.distinct} distinct 1920x1080 Workbench frames in {args.cache} "
        "(rendered once, in a subprocess; a few minutes on 2 cores)")
    try:
        shot = shot_1080p.prepare(args.cache, args.distinct)
        runs.mkdir(parents=True, exist_ok=True)
        for n in sorted(set(lengths) | {args.frames}):
            shot_1080p.frame_paths(args.cache, n)
        results["shot"] = shot
        made = "reused" if shot["reused"] else f"rendered in {shot['render_s']:.0f} s"
        print(f"shot: 1920x1080 PNG, {shot['distinct']} distinct Workbench renders "
              f"({shot['png_mb_per_frame']:.2f} MB each) played back and forth, "
              f"{shot['fps']} fps, mouth {shot['mouth_width_px']:.0f} px wide; "
              f"cache {args.cache} ({made})")
    except Exception as exc:                             # noqa: BLE001  (report, go on)
        print("shot:")
        failed(results, "shot", exc)
    from lipsync.core.pipeline.run import PipelineOptions

    io_threads = PipelineOptions().io_threads
    print(f"pipeline options: batch {args.batch}, chunk {args.chunk}, refine on, "
          f"re-voicing {'on' if args.revoice else 'off'}, {io_threads} io threads; "
          f"torch threads {args.threads}")

    models: dict = {}
    results["load_in_process"] = {}
    for device in devices:
        try:
            models[device], seconds = load_models(device)
            results["load_in_process"][device] = seconds
        except Exception as exc:                         # noqa: BLE001
            print(f"loading the models on {device}:")
            failed(results["load_in_process"], device, exc)

    # 1. End to end.
    print(f"\n1. End to end: {args.frames} frames 1920x1080 PNG in -> PNG out "
          "(lipsync_frames, models loaded first, fresh process per device)")
    e2e: dict = {}
    split: dict = {}
    results["end_to_end"], results["split"] = e2e, split
    if shot is None:
        print("  skipped: no shot (see above)")
    else:
        for device in devices:
            e2e[device] = run_child(args, device, args.frames, runs, shot["png_mb_per_frame"] * 1e6)
            print_e2e(device, e2e[device], args.frames)
            if device not in models:
                continue
            try:
                log(f"steps one after another on {device}")
                split[device] = stage_split(args.cache, min(args.frames, 16 if quick else 40),
                                            models[device], args.batch, runs / "split")
                print_split(device, split[device], e2e[device], io_threads)
            except Exception as exc:                     # noqa: BLE001
                print(f"  where the time goes on {device}:")
                failed(split, device, exc, "        ")

    # 2. Peak memory.
    print(f"\n2. Peak memory (VmHWM = max RSS of a fresh process running the pipeline), "
          f"target < {TARGET_PEAK_MB:.0f} MiB at every length")
    memory: dict = {}
    results["memory"] = memory
    if shot is None:
        print("  skipped: no shot (see above)")
    else:
        for device in devices:
            memory[device] = {}
            for n in lengths:
                run = (e2e[device] if n == args.frames and device in e2e
                       else run_child(args, device, n, runs, shot["png_mb_per_frame"] * 1e6))
                memory[device][str(n)] = run
                if "error" in run or "skipped" in run:
                    print(f"  {device:5s} {n:6d} frames  {why_not(run)}")
                    continue
                after = run.get("rss_after_load_mb")
                print(f"  {device:5s} {n:6d} frames  peak {run['peak_rss_mb']:7.0f} MiB "
                      f"({met(run['peak_rss_mb'] < TARGET_PEAK_MB)})"
                      + (f"  after model load {after:5.0f} MiB" if after else "")
                      + f"  {run['frames_per_second']:6.2f} frames/s")
            peaks = [(int(n), r["peak_rss_mb"]) for n, r in memory[device].items()
                     if "peak_rss_mb" in r and "error" not in r and "skipped" not in r]
            if len(peaks) >= 2:
                (n0, p0), (n1, p1) = peaks[0], peaks[-1]
                verdict = ("flat" if abs(p1 - p0) < 0.1 * p0 + 50 else "grows")
                if n0 < QUEUES_FULL:
                    verdict = (f"shots under {QUEUES_FULL} frames do not fill the pipeline's "
                               "read and write queues yet: compare longer ones")
                print(f"  {device:5s} from {n0} to {n1} frames: {p1 - p0:+.0f} MiB ({verdict})")

    # 3. Networks alone.
    print("\n3. Networks alone: sync expert embeddings + generator + face parser, 64x64, "
          "no_grad, after warm-up, median of the calls (inputs already on the device)")
    print(f"  {'device':6s} {'batch':>5s} {'frames/s':>9s} {'ms/frame':>9s}   "
          "ms/frame each: sync  generator  parser")
    networks: dict = {}
    results["networks"] = networks
    for device in devices:
        if device not in models:
            print(f"  {device:6s} skipped: the models did not load")
            continue
        networks[device] = {}
        for batch in BATCHES:
            log(f"networks alone on {device}, batch {batch}")
            try:
                r = bench_networks(models[device], batch, 0.3 if quick else 2.0)
                networks[device][str(batch)] = r
                each = r["ms_per_frame_each"]
                print(f"  {device:6s} {batch:5d} {r['frames_per_second']:9.1f} "
                      f"{r['ms_per_frame']:9.2f}   {each['sync']:18.2f} {each['generator']:10.2f} "
                      f"{each['parser']:7.2f}")
            except Exception as exc:                     # noqa: BLE001
                print(f"  {device:6s} {batch:5d}")
                failed(networks[device], str(batch), exc, "        ")

    # 4. Model load.
    print("\n4. Model load (sync expert + generator + parser from models/*.safetensors)")
    for device in devices:
        fresh = e2e.get(device, {}).get("load_s")
        here = results["load_in_process"].get(device)
        if isinstance(here, dict):
            print(f"  {device:5s} FAILED: {here['error']}")
            continue
        print(f"  {device:5s} " + (f"{fresh:.2f} s in a fresh process (the end-to-end run); "
                                   if fresh is not None else "")
              + f"{here:.2f} s as the first load in this process")

    # Summary.
    print("\nTargets")
    cpu = e2e.get("cpu", {})
    if "frames_per_second" in cpu:
        fps = cpu["frames_per_second"]
        print(f"  end to end on the CPU at 1080p >= {TARGET_FPS_CPU:.0f} frames/s: "
              f"{fps:.2f} frames/s, {met(fps >= TARGET_FPS_CPU)}")
    else:
        print("  end to end on the CPU: no figure")
    peaks = [r["peak_rss_mb"] for d in memory.values() for r in d.values()
             if "peak_rss_mb" in r and "error" not in r and "skipped" not in r]
    if peaks:
        print(f"  peak memory < {TARGET_PEAK_MB:.0f} MiB at any length: highest "
              f"{max(peaks):.0f} MiB, {met(max(peaks) < TARGET_PEAK_MB)}")
    else:
        print("  peak memory: no figure")
    load = os.getloadavg()
    print("load average (1, 5, 15 min) at end: " + " ".join(f"{v:.2f}" for v in load))

    errors = _errors(results)
    if errors:
        print(f"\n{len(errors)} step(s) failed: " + "; ".join(errors))
        return 1
    return 0


def _errors(results: dict, where: str = "") -> list[str]:
    """'where: error' of every failed step in the results."""
    found = []
    for key, value in results.items():
        if isinstance(value, dict):
            if "error" in value:
                found.append(f"{where}{key}")
            else:
                found.extend(_errors(value, f"{where}{key}/"))
    return found


if __name__ == "__main__":
    sys.exit(main())
