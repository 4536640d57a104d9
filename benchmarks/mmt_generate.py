"""Generation speed of MMT with and without the key/value cache.

Events per second for the tiny and the paper-size model (random weights: speed does not depend on
them), generating up to 1,024 events from a start-of-song prompt with every sampling rule on, for batches
of 1, 8 and 32 with the cache and batch 1 without it (the reference implementation's way: the whole
sequence recomputed at every step); the cache's speed-up is the ratio at batch 1. Rows never stop early.
The tiny model's rates are the best of 3 runs (both ways), the paper-size model's of 1.

    .venv/bin/python benchmarks/mmt_generate.py [--threads 2] [--events 1024] [--quick]

Prints a table and writes benchmarks/results/mmt_generate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from mmt.model import MMTTransformer, count_parameters
from mmt.representation import Encoding
from mmt.sampling import SamplingConfig, generate

MODELS = {
    "tiny": dict(dim=128, depth=3, heads=4, ff_mult=4, dropout=0.1, max_seq_len=1024),
    "paper": dict(dim=512, depth=6, heads=8, ff_mult=4, dropout=0.2, max_seq_len=1024),
}


def rate(net: MMTTransformer, batch: int, events: int, decoding: str, repeats: int = 1) -> float:
    prompt = torch.zeros(batch, 1, 6, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    generate(net, prompt, 16, SamplingConfig(), decoding, g, stop_at_eos=False)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = generate(net, prompt, events, SamplingConfig(), decoding, g, stop_at_eos=False)
        best = min(best, time.perf_counter() - t)
    assert out.shape[1] == events
    return batch * (events - 1) / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--events", type=int, default=1024)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--quick", action="store_true", help="256 events, batches 1 and 8 (a smoke run)")
    ap.add_argument("--out", default="benchmarks/results/mmt_generate.json")
    args = ap.parse_args()
    if args.quick:
        args.events, args.batches = 256, [1, 8]
    torch.set_num_threads(args.threads)
    enc = Encoding(voices="merged")  # the paper's vocabulary
    rows = []
    for name in args.models:
        cfg = MODELS[name]
        torch.manual_seed(0)
        net = MMTTransformer(enc.vocab_sizes, **cfg).eval()
        params = count_parameters(net)
        repeats = 3 if name == "tiny" else 1  # best of 3 where a run takes seconds
        uncached = rate(net, 1, args.events, "recompute", repeats=repeats)
        for b in args.batches:
            cached = rate(net, b, args.events, "cached", repeats=repeats)
            row = {"model": name, "params_M": round(params / 1e6, 2), "batch": b, "events": args.events,
                   "cached_events_per_s": round(cached, 1)}  # fmt: skip
            if b == 1:
                row["uncached_events_per_s"] = round(uncached, 1)
                row["speedup"] = round(cached / uncached, 1)
            rows.append(row)
            print(row, flush=True)
    result = {
        "benchmark": "mmt_generate",
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "load_average_before": os.getloadavg(),
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(
        f"\nMMT generation speed ({args.threads} torch threads, {args.events} events, events/s summed over the batch)"
    )
    print(f"{'model':6s} {'params':>7s} {'batch':>5s} {'cached ev/s':>12s} {'uncached ev/s':>14s} {'speed-up':>9s}")
    for r in rows:
        unc = f"{r['uncached_events_per_s']:14.1f}" if "uncached_events_per_s" in r else f"{'':14s}"
        sp = f"{r['speedup']:8.1f}x" if "speedup" in r else ""
        print(f"{r['model']:6s} {r['params_M']:6.2f}M {r['batch']:5d} {r['cached_events_per_s']:12.1f} {unc} {sp}")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
