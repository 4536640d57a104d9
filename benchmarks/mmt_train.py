"""Training throughput and peak memory of MMT (tiny and paper size) on the CPU.

Each model trains for a few steps on full-length synthetic sequences (batch 8 x ``max_seq_len`` events,
Adam, gradient clipping, as in training) in its own process, so that the peak resident memory
(``ru_maxrss``) belongs to that model alone.

    .venv/bin/python benchmarks/mmt_train.py [--threads 2] [--steps 5] [--seq-len 1024]

Prints a table and writes benchmarks/results/mmt_train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

MODELS = {
    "tiny": dict(dim=128, depth=3, heads=4, ff_mult=4, dropout=0.1, max_seq_len=1024),
    "paper": dict(dim=512, depth=6, heads=8, ff_mult=4, dropout=0.2, max_seq_len=1024),
}


def one(name: str, steps: int, batch: int, seq_len: int, threads: int) -> dict:
    import torch

    from mmt.model import MMTTransformer, count_parameters, sequence_loss
    from mmt.representation import Encoding

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    enc = Encoding(voices="merged")  # the paper's vocabulary
    net = MMTTransformer(enc.vocab_sizes, **MODELS[name]).train()
    opt = torch.optim.Adam(net.parameters(), lr=5e-4)
    x = torch.stack([torch.randint(0, v, (batch, seq_len + 1)) for v in enc.vocab_sizes], dim=-1)
    inp, tgt = x[:, :-1], x[:, 1:]

    def step():
        opt.zero_grad(set_to_none=True)
        loss, _ = sequence_loss(net, inp, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t
    return {
        "model": name,
        "params_M": round(count_parameters(net) / 1e6, 2),
        "batch": batch,
        "seq_len": seq_len,
        "steps": steps,
        "s_per_step": round(dt / steps, 3),
        "train_events_per_s": round(batch * seq_len * steps / dt, 1),
        "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--one", choices=list(MODELS))
    ap.add_argument("--out", default="benchmarks/results/mmt_train.json")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps, args.batch, args.seq_len, args.threads)))
        return
    rows = []
    for name in MODELS:
        cmd = [sys.executable, __file__, "--one", name, "--steps", str(args.steps), "--batch", str(args.batch),
               "--seq-len", str(args.seq_len), "--threads", str(args.threads)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    result = {"benchmark": "mmt_train", "threads": args.threads, "cpu_count": os.cpu_count(),
              "load_average_before": os.getloadavg(), "rows": rows}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"\nMMT training on the CPU ({args.threads} torch threads, batch {args.batch} x {args.seq_len} events)")
    print(f"{'model':6s} {'params':>7s} {'s/step':>7s} {'train events/s':>15s} {'peak RSS MB':>12s}")
    for r in rows:
        cells = f"{r['s_per_step']:7.3f} {r['train_events_per_s']:15.1f} {r['peak_rss_MB']:12.1f}"
        print(f"{r['model']:6s} {r['params_M']:6.2f}M {cells}")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
