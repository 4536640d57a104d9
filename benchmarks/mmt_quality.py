"""Quality of a tiny MMT trained on the CPU, as the paper's Table 3: pitch-class entropy, scale and groove
consistency (and tracks per sample) of 50 unconditioned samples beside the test split of the run's data.
Targets: within 0.25 (entropy) and 5 points (consistencies) of the ground truth.

    .venv/bin/python benchmarks/mmt_quality.py [--minutes 26]          # train on the chorales, then evaluate
    .venv/bin/python benchmarks/mmt_quality.py --run outputs/mmt/<run>  # evaluate a trained run only
    .venv/bin/python benchmarks/mmt_quality.py --run outputs/pretrained/mmt/corpus_tiny   # the shipped default

Writes benchmarks/results/mmt_quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from gm_common.checkpoint import load_checkpoint
from gm_common.files import atomic_write_text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", help="an existing training run folder (skip training)")
    ap.add_argument("--minutes", type=float, default=26.0)
    ap.add_argument("--n-samples", type=int, default=50)
    ap.add_argument("--out", default="benchmarks/results/mmt_quality.json")
    args = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = Path(args.run) if args.run else Path(f"outputs/mmt/quality-{time.strftime('%Y%m%d-%H%M%S')}")
    train_s = None
    if not args.run:
        m = int(args.minutes)
        t = time.time()
        train = [
            "experiment=bach_tiny",
            f"run_dir={run}",
            "trainer.max_steps=1800",
            f"+trainer.max_time=00:00:{m:02d}:00",
        ]
        subprocess.run([sys.executable, "-m", "mmt.train", *train, "torch_threads=1"], check=True, env=env)
        train_s = time.time() - t
    ev = run / "evaluate.json"
    if not ev.exists():
        subprocess.run([sys.executable, "-m", "mmt.evaluate", f"checkpoint={run}", f"n_samples={args.n_samples}",
                        "batch_size=25", f"out={ev}", "torch_threads=1"], check=True, env=env)  # fmt: skip
    result = json.loads(ev.read_text())
    last = load_checkpoint(run / "checkpoints" / "last.ckpt")
    d = result["differences"]
    result.update({
        "benchmark": "mmt_quality",
        "run": str(run),
        "train_steps": int(last["global_step"]),
        "train_seconds": train_s,
        "targets": {"pitch_class_entropy": 0.25, "scale_consistency": 5.0, "groove_consistency": 5.0},
        "within_targets": abs(d["pitch_class_entropy"]) <= 0.25 and abs(d["scale_consistency"]) <= 5
        and abs(d["groove_consistency"]) <= 5,
    })  # fmt: skip
    atomic_write_text(args.out, json.dumps(result, indent=1))
    from mmt.evaluate import format_table

    print(format_table(result))
    print(f"train steps {result['train_steps']}; within targets: {result['within_targets']} -> {args.out}")


if __name__ == "__main__":
    main()
