"""What machine a benchmark ran on (the CPU's model name, the cores this process may use,
the libraries' versions) and this process's memory."""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path


def usable_cores() -> int:
    """Cores this process may run on (its affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


def machine_info(threads: int) -> dict:
    """The machine, the libraries' versions and `threads`, as `print_machine` prints them."""
    import numpy as np
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
