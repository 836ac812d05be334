"""The source document's ablation (docs/evaluation.md: Ablation): four generators, one per input
variant, same data, expert, seed and budget; prints convergence and held-out metrics.

    python benchmarks/ablation.py --data build/data/factory --out build/ablation \
        [--steps 1500] [--batch 16] [--eval-every 100] [--seed 0] [--device auto]
        [--sync models/sync.safetensors]
"""

from __future__ import annotations

import argparse
import platform
import sys

import torch

from lipsync.core.models import shipped
from lipsync.core.progress import ConsoleProgress
from lipsync.core.train.ablation import format_table, run_ablation
from lipsync.core.train.loop import RunConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sync", default=str(shipped("sync")))
    args = parser.parse_args()
    run = RunConfig(data=args.data, out=args.out, steps=args.steps, batch=args.batch, lr=2e-4,
                    device=args.device, eval_every=args.eval_every, seed=args.seed,
                    command="python " + " ".join(sys.argv))
    bar = ConsoleProgress("ablation")
    summary = run_ablation(run, args.sync, progress=bar, log=lambda m: None)
    bar.close()
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"cuda: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
    print(f"{args.steps} steps, batch {args.batch}, seed {args.seed}, data {args.data}")
    print(format_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
