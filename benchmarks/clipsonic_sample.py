"""Sampling speed vs quality: seconds of audio generated per second of compute for DDPM (1000 steps) vs DDIM
and DPM-Solver (few steps), with classifier-free guidance, and the evaluation metrics at each setting (IQ
queries on the synthetic test split, models from outputs/clipsonic/).

    python benchmarks/clipsonic_sample.py [models=outputs/clipsonic] [per_class=2] [mode=iq] [guidance=3.0]

Prints a table and writes benchmarks/results/clipsonic_sample.json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

SETTINGS = (("ddpm", 1000), ("ddim", 50), ("ddim", 25), ("dpm", 25), ("dpm", 10))


def main() -> None:
    import torch

    from clipsonic.evaluate import Evaluator
    from gm_common.cli import compose
    from gm_common.files import atomic_write_text

    args = dict(a.split("=", 1) for a in sys.argv[1:])
    mode = args.pop("mode", "iq")
    guidance = float(args.pop("guidance", 3.0))
    cfg = compose(
        "clipsonic", "evaluate", [f"per_class={args.pop('per_class', 2)}", *[f"{k}={v}" for k, v in args.items()]]
    )
    ev = Evaluator(cfg)
    rows = []
    for sampler, steps in SETTINGS:
        r = ev.run(mode, guidance, steps, sampler)
        r.pop("correct", None)
        rows.append({"sampler": sampler, "steps": steps, **r})
        print(f"{sampler} {steps}: {r['audio_seconds_per_second']:.3f} audio-s/s", flush=True)
    base = rows[0]["audio_seconds_per_second"]
    for r in rows:
        r["speedup_vs_ddpm1000"] = r["audio_seconds_per_second"] / base
    lines = [
        f"clipsonic sampling ({mode.upper()} queries, guidance {guidance}, {rows[0]['n']} clips of "
        f"{(int(ev.mel['frames']) - 1) * int(ev.mel['hop_length']) / int(ev.mel['sample_rate']):.2f} s, "
        f"torch threads {torch.get_num_threads()})",
        f"{'sampler':<8}{'steps':>6}{'audio-s/s':>11}{'speedup':>9}{'accuracy':>10}{'FAD':>9}{'text-audio':>12}",
    ]
    for r in rows:
        lines.append(
            f"{r['sampler']:<8}{r['steps']:>6}{r['audio_seconds_per_second']:>11.3f}{r['speedup_vs_ddpm1000']:>8.1f}x{r['accuracy']:>10.3f}{r['fad']:>9.3f}{r['text_audio']:>12.2f}"
        )
    print("\n".join(lines))
    out = Path(__file__).resolve().parent / "results" / "clipsonic_sample.json"
    atomic_write_text(
        out,
        json.dumps(
            {"mode": mode, "guidance": guidance, "torch_threads": torch.get_num_threads(), "rows": rows}, indent=1
        ),
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
