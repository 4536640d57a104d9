"""The clipsonic evaluation table (IQ / ZS / PD: accuracy, FAD, text-audio) on the
synthetic set with the models named by ``models=`` (see packages/clipsonic/README.md).

    python benchmarks/clipsonic_eval.py [models=outputs/clipsonic] [per_class=16] [any evaluate.yaml override]

Prints the tables and writes benchmarks/results/clipsonic_eval.json, with each model's training steps and
wall-clock training minutes (from the first and last timestamps of the run's Hydra log, caching included).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def training_minutes(run_dir: Path) -> float | None:
    """Wall-clock minutes of the runs logged in ``<run_dir>/*.log`` (Hydra appends every run, a resumed one
    too): per run, first to last timestamp (data caching included), summed; a run ends at Lightning's stop line."""
    from datetime import datetime

    total, found, first, last = 0.0, False, None, None
    for log in sorted(Path(run_dir).glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),", line)
            if not m:
                continue
            t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
            first, last = first or t, t
            if "Signaling Trainer to stop" in line or "`Trainer.fit` stopped" in line:
                total, found, first = total + (last - first).total_seconds(), True, None
    if first is not None and last is not None and last > first:  # a run without a stop line (killed)
        total, found = total + (last - first).total_seconds(), True
    return total / 60 if found else None


def main() -> None:
    import torch

    from clipsonic.evaluate import run
    from gm_common.cli import compose
    from gm_common.files import atomic_write_text

    torch.set_num_threads(1)
    overrides = ["per_class=16", "sweep=[]", "overwrite=true", *sys.argv[1:]]  # this script's JSON is the record
    cfg = compose("clipsonic", "evaluate", overrides)
    t0 = time.perf_counter()
    result = run(cfg)
    result["eval_seconds"] = time.perf_counter() - t0
    steps = {}
    root = Path(cfg.models)  # a folder trained with root=<folder> (a shipped name has its steps on its card)
    for name in ("diffusion", "prior", "clip"):
        path = root / name / "checkpoints" / "last.ckpt"
        if path.is_file():
            steps[name] = int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])
    result["training_steps"] = steps
    result["training_minutes"] = {
        name: training_minutes(root / name) for name in ("clip", "prior", "diffusion", "vocoder")
    }
    if result.get("judge_training_seconds") is not None:
        result["training_minutes"]["judge"] = result["judge_training_seconds"] / 60
    parts = [result["training_minutes"].get(k) for k in ("clip", "prior", "diffusion", "judge")]
    if all(v is not None for v in parts):
        result["training_minutes"]["clip+prior+diffusion+judge"] = sum(parts)
    result["note"] = (
        "measured with 1 thread (OMP_NUM_THREADS=1) on a 2-core CPU machine shared with another training job"
    )
    result["torch_threads"] = torch.get_num_threads()
    out = Path(__file__).resolve().parent / "results" / "clipsonic_eval.json"
    atomic_write_text(out, json.dumps(result, indent=1))
    print(f"training steps: {steps}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
