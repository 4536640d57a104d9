"""Latency of live arrangement and batch throughput of every arranger model (CPU, one thread by default).

- Streaming: per-note latency of the online models through ``StreamingArranger`` over whole pieces (the
  longest Bach test chorale and a 10,000-note piece), p50 / p99 / max, after a short warm-up: the LSTM
  (3 layers, 128 units; key ``streaming``) and the Transformer decoder (3 layers, d 128, key/value cache;
  key ``streaming_transformer_dec``; its context window slides every 512 notes past 1,024, a one-off
  batched pass that shows in ``max_ms``). Uses outputs/arranger/runs/bach_<model> if trained (latency does
  not depend on weights; otherwise a paper-size net with random weights).
- Batch: notes per second of every model (paper sizes, full-length pieces, no truncation) on the Bach
  test split.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/arranger_latency.py [--threads 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages"))

from arranger.baselines import Baseline  # noqa: E402
from arranger.data import get_spec, load_examples, split_examples  # noqa: E402
from arranger.models import build_net  # noqa: E402
from arranger.predict import Arranger  # noqa: E402
from arranger.streaming import StreamingArranger  # noqa: E402

PAPER_SIZES = {
    "lstm": {"hidden": 128, "layers": 3},
    "lstm_duration": {"hidden": 128, "layers": 3, "use_duration": True},
    "bilstm": {"hidden": 64, "layers": 3},
    "transformer_dec": {"d_model": 128, "layers": 3, "heads": 8, "ff": 256, "window": 1024},
    "transformer_enc": {"d_model": 128, "layers": 3, "heads": 8, "ff": 256, "window": 1024},
    "mlp": {"hidden": 128, "layers": 2, "use_duration": True},
}
KIND = {"lstm_duration": "lstm"}


def make_arranger(name: str, dataset: dict, examples) -> Arranger:
    ckpt = ROOT / "outputs/arranger/runs" / f"bach_{name}" / "checkpoints" / "best.ckpt"
    if ckpt.is_file():
        return Arranger.from_checkpoint(ckpt)
    if name in PAPER_SIZES:
        cfg = {"kind": KIND.get(name, name), "name": name, "dropout": 0.2, **PAPER_SIZES[name]}
        return Arranger(cfg, dataset, net=build_net(cfg, len(dataset["labels"])))
    return Arranger(
        {"kind": name, "name": name}, dataset, baseline=Baseline(name, len(dataset["labels"])).fit(examples)
    )


def stream_latency(arranger: Arranger, notes: np.ndarray, warmup: int = 50) -> dict:
    stream = StreamingArranger(arranger)
    for t, p, d in notes[:warmup, :3]:
        stream.step(int(t), int(p), int(d))
    stream.reset()
    lat = np.empty(len(notes))
    cpu = np.empty(len(notes))
    gc.disable()
    try:
        for i, (t, p, d) in enumerate(notes[:, :3]):
            c0, t0 = time.thread_time(), time.perf_counter()
            stream.step(int(t), int(p), int(d))
            lat[i] = time.perf_counter() - t0
            cpu[i] = time.thread_time() - c0
    finally:
        gc.enable()
    ms = lat * 1e3
    return {
        "notes": len(notes),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "mean_ms": float(ms.mean()),
        # CPU time of the stepping thread: the latency without preemption by other processes
        "cpu_p50_ms": float(np.percentile(cpu * 1e3, 50)),
        "cpu_p99_ms": float(np.percentile(cpu * 1e3, 99)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--models",
        nargs="+",
        default=[
            "most_common",
            "zone",
            "closest_pitch",
            "closest_pitch_mono",
            "mlp",
            "lstm",
            "lstm_duration",
            "transformer_dec",
            "bilstm",
            "transformer_enc",
        ],
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec = get_spec("bach")
    splits = split_examples(load_examples("bach"))
    test = splits["test"]
    dataset = spec.as_dict()
    longest = max(test, key=len).notes
    rng = np.random.default_rng(0)
    n = 10_000
    long_piece = np.stack([np.sort(rng.integers(0, n * 6, n)), rng.integers(36, 84, n), np.full(n, 12)], 1)
    long_piece = long_piece[np.lexsort((-long_piece[:, 1], long_piece[:, 0]))]

    import os

    streams = {}
    for name, label in (
        ("lstm", "lstm (3x128, online)"),
        ("transformer_dec", "transformer_dec (3 layers, d 128, key/value cache)"),
    ):
        arr = make_arranger(name, dataset, splits["train"])
        res = streams[name] = {
            "model": label,
            "trained_checkpoint": (ROOT / f"outputs/arranger/runs/bach_{name}/checkpoints/best.ckpt").is_file(),
            "chorale": stream_latency(arr, longest),
            "long_10k": stream_latency(arr, long_piece),
        }
        print(f"streaming {name} (threads={args.threads}):")
        for key in ("chorale", "long_10k"):
            s = res[key]
            print(
                f"  {key:<8} {s['notes']:>6} notes  p50 {s['p50_ms']:.3f} ms  p99 {s['p99_ms']:.3f} ms  "
                f"max {s['max_ms']:.2f} ms  "
                f"(thread CPU time p50 {s['cpu_p50_ms']:.3f} / p99 {s['cpu_p99_ms']:.3f} ms)"
            )
        res["load_average_1min"] = os.getloadavg()[0]
        print(f"  (1-min load average during the run: {res['load_average_1min']:.2f} on {os.cpu_count()} CPUs)")
    streaming = streams["lstm"]

    rows = {}
    total_notes = sum(len(ex) for ex in test)
    print(f"\nbatch throughput on the Bach test split ({len(test)} pieces, {total_notes} notes, full length):")
    print(f"  {'model':<20}{'notes/s':>12}{'10k-note piece s':>18}")
    for name in args.models:
        arr = make_arranger(name, dataset, splits["train"])
        arr.predict(test[0].notes[:, :3], test[0].notes[:, 3])  # warm-up
        t0 = time.perf_counter()
        for ex in test:
            arr.predict(ex.notes[:, :3], hint_labels=ex.notes[:, 3])
        sec = time.perf_counter() - t0
        t0 = time.perf_counter()
        arr.predict(long_piece, hint_labels=rng.integers(0, 4, n))
        long_sec = time.perf_counter() - t0
        rows[name] = {"notes_per_second": total_notes / sec, "long_10k_seconds": long_sec}
        print(f"  {name:<20}{total_notes / sec:>12.0f}{long_sec:>18.3f}")
    out = ROOT / "benchmarks/results/arranger_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "threads": args.threads,
                "streaming": streaming,
                "streaming_transformer_dec": streams["transformer_dec"],
                "batch": rows,
                "target": "streaming p99 < 0.5 ms per note",
                "note": "1 thread, on a 2-core machine shared with other training jobs (see the thread CPU times)",
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
