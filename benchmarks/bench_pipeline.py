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
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shot_1080p  # noqa: E402  (the shared shot helper next to this file)
from machine import machine_info, print_machine, usable_cores  # noqa: E402
from pipeline_runs import (bench_networks, child_main, error_text, load_models,  # noqa: E402
                           log, run_child, stage_split)

TARGET_FPS_CPU = 10.0            # end to end, 1080p, CPU
TARGET_PEAK_MB = 2048.0          # max RSS at any length, MiB
BATCHES = (1, 4, 16, 64)
QUEUES_FULL = 100                # frames after which the pipeline's frame queues are full


# ---------------------------------------------------------------- helpers

def failed(results: dict, key: str, exc: BaseException, indent: str = "  ") -> None:
    """Record and print a failed step (the traceback goes to stderr)."""
    traceback.print_exc(file=sys.stderr)
    results[key] = {"error": error_text(exc)}
    print(f"{indent}FAILED: {error_text(exc)}")


def met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def why_not(run: dict) -> str:
    """'FAILED: ...' or 'skipped: ...' for a run without figures."""
    return f"FAILED: {run['error']}" if "error" in run else f"skipped: {run['skipped']}"


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

    results: dict = {"machine": machine_info(args.threads),
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
