"""The clipsonic evaluation table (IQ / ZS / PD: accuracy, FAD, text-audio) and a guidance-scale sweep, on the
synthetic set with the models trained under outputs/clipsonic/ (see packages/clipsonic/README.md).

    python benchmarks/clipsonic_eval.py [per_class=8] [sweep=[1,2,3,5]] [any evaluate.yaml override]

Prints the tables and writes benchmarks/results/clipsonic_eval.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    import torch

    from gm_common.files import atomic_write_text

    from clipsonic._cli import compose
    from clipsonic.evaluate import run

    overrides = ["per_class=8", "sweep=[1.0,2.0,3.0,5.0]", *sys.argv[1:]]
    cfg = compose("evaluate", overrides)
    t0 = time.perf_counter()
    result = run.__wrapped__(cfg)
    result["eval_seconds"] = time.perf_counter() - t0
    steps = {}
    for name, path in (("diffusion", cfg.diffusion_ckpt), ("prior", cfg.prior_ckpt), ("clip", Path(cfg.root) / "clip" / "checkpoints" / "last.ckpt")):
        if Path(path).is_file():
            steps[name] = int(torch.load(path, map_location="cpu", weights_only=True).get("global_step", -1))
    result["training_steps"] = steps
    result["torch_threads"] = torch.get_num_threads()
    out = Path(__file__).resolve().parent / "results" / "clipsonic_eval.json"
    atomic_write_text(out, json.dumps(result, indent=1))
    print(f"training steps: {steps}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
