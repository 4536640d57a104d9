"""The guidance-scale sweep of the clipsonic README: accuracy, FAD and text-audio score of IQ / ZS / PD at
guidance 1, 3 and 6 (4 queries per class and mode: 32 per mode and scale), with its plot.

    python benchmarks/clipsonic_sweep.py [models=outputs/clipsonic] [per_class=4] [sweep=[1,3,6]] [overrides]

Writes benchmarks/results/clipsonic_sweep.json and benchmarks/results/clipsonic_guidance_sweep.png.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    """Run the evaluation with a sweep into a scratch folder and keep its JSON and plot."""
    import torch

    from clipsonic.evaluate import run
    from gm_common.cli import compose
    from gm_common.files import atomic_write_text

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose("clipsonic", "evaluate", ["per_class=4", "sweep=[1,3,6]", f"out_dir={tmp}", *sys.argv[1:]])
        result = run(cfg)
        result["command"] = "python benchmarks/clipsonic_sweep.py " + " ".join(sys.argv[1:])
        result["torch_threads"] = torch.get_num_threads()
        atomic_write_text(RESULTS / "clipsonic_sweep.json", json.dumps(result, indent=1))
        shutil.copy(Path(tmp) / "guidance_sweep.png", RESULTS / "clipsonic_guidance_sweep.png")
    print(f"wrote {RESULTS / 'clipsonic_sweep.json'} and {RESULTS / 'clipsonic_guidance_sweep.png'}")


if __name__ == "__main__":
    main()
