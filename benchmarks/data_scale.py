"""Data larger than memory: a synthetic folder of distinct MIDI files converted, encoded for MMT and read by a
training DataLoader, with the peak memory of the whole run.

Each piece is random (its own seed): 1-4 tracks of General MIDI programs the MMT encoding knows, 80-400 notes
each, written with symusic into ``<cache>/bench/synthetic-<N>/`` (made once, reused). The run converts the
folder into a fresh cache (``gm_common.corpus``, worker processes), encodes it for MMT (``mmt.data``, cached in
memory-mapped shards), then loops a DataLoader over MMT training windows for ``--seconds``.

    .venv/bin/python benchmarks/data_scale.py [--pieces 20000] [--workers N] [--seconds 30]

Prints and writes benchmarks/results/data_scale.json: conversion and encoding time, training samples/s, and
the peak RSS (``ru_maxrss``) of this process and of its largest child (target: under 3 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from gm_common.corpus import convert_workers, default_cache_dir, list_music_files, load_folder
from gm_common.files import atomic_write_text
from mmt.data import MMTDataModule
from mmt.representation import Encoding

PROGRAMS = (0, 4, 24, 32, 33, 40, 41, 42, 48, 56, 60, 65, 68, 71, 73)
TICKS_PER_QUARTER = 480
RSS_TARGET_GB = 3.0


def write_piece(path: Path, seed: int) -> None:
    """One random multitrack MIDI file: distinct for every seed."""
    import symusic

    rng = np.random.default_rng(seed)
    score = symusic.Score(TICKS_PER_QUARTER)
    score.tempos.append(symusic.Tempo(0, float(rng.integers(60, 180))))
    for k in range(int(rng.integers(1, 5))):
        n = int(rng.integers(80, 400))
        step = rng.choice([TICKS_PER_QUARTER // 4, TICKS_PER_QUARTER // 2, TICKS_PER_QUARTER], size=n)
        time_ = np.cumsum(step) - step[0]
        duration = step * rng.integers(1, 3, size=n)
        pitch = np.clip(60 + np.cumsum(rng.integers(-3, 4, size=n)), 24, 100)
        velocity = rng.integers(40, 110, size=n)
        track = symusic.Track(f"track {k}", int(rng.choice(PROGRAMS)), False)
        track.notes = symusic.Note.from_numpy(
            time_.astype(np.int32), duration.astype(np.int32), pitch.astype(np.int8), velocity.astype(np.int8)
        )
        score.tracks.append(track)
    score.dump_midi(str(path))


def synthetic_folder(pieces: int) -> Path:
    """The folder of ``pieces`` random MIDI files, in subfolders of 1,000 (written once, then reused)."""
    folder = default_cache_dir() / "bench" / f"synthetic-{pieces}"
    if not (folder / "done").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        for i in range(pieces):
            sub = folder / f"{i // 1000:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            write_piece(sub / f"piece{i:06d}.mid", seed=i)
        (folder / "done").write_text(str(pieces))
    return folder


def peak_rss_gb() -> dict[str, float]:
    """Peak resident memory so far of this process and of its largest finished child, in GB."""
    return {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,  # KB on Linux
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6,
    }


def main() -> None:
    """Build, convert, encode, train-read; print the figures and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pieces", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=None, help="conversion processes (default: every core)")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the DataLoader loop")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--loader-workers", type=int, default=0, help="DataLoader worker processes")
    ap.add_argument("--out", default="benchmarks/results/data_scale.json")
    args = ap.parse_args()
    load = os.getloadavg()
    t0 = time.perf_counter()
    folder = synthetic_folder(args.pieces)
    files = list_music_files(folder)
    workers = convert_workers(args.workers, files)
    generate_s = time.perf_counter() - t0
    encoding = Encoding(voices="merged")
    with tempfile.TemporaryDirectory(dir=default_cache_dir()) as cache:
        t0 = time.perf_counter()
        store = load_folder(folder, encoding.resolution, cache, workers=args.workers)
        convert_s = time.perf_counter() - t0
        data = MMTDataModule(
            encoding, folder=str(folder), max_beat=64, max_seq_len=1024, batch_size=args.batch_size,
            num_workers=args.loader_workers, cache_dir=cache, convert_workers=args.workers,
        )  # fmt: skip
        t0 = time.perf_counter()
        data.setup()
        encode_s = time.perf_counter() - t0
        samples, batches, t0 = 0, 0, time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            for batch in data.train_dataloader():
                samples, batches = samples + len(batch["x"]), batches + 1
                if time.perf_counter() - t0 >= args.seconds:
                    break
        loop_s = time.perf_counter() - t0
        cache_mb = sum(p.stat().st_size for p in Path(cache).rglob("*") if p.is_file()) / 1e6
        n_notes, n_encoded = store.n_notes(), len(data.pieces)
    rss = peak_rss_gb()
    result = {
        "benchmark": "data_scale",
        "pieces": args.pieces,
        "files": len(files),
        "converted": len(store),
        "encoded": n_encoded,
        "notes": n_notes,
        "generate_s": generate_s,
        "convert_s": convert_s,
        "convert_files_per_s": len(files) / convert_s,
        "convert_workers": workers,
        "encode_s": encode_s,
        "train_samples": samples,
        "train_samples_per_s": samples / loop_s,
        "batch_size": args.batch_size,
        "loader_workers": args.loader_workers,
        "cache_mb": cache_mb,
        "peak_rss_gb": rss,
        "rss_target_gb": RSS_TARGET_GB,
        "rss_ok": max(rss.values()) < RSS_TARGET_GB,
        "cores": len(os.sched_getaffinity(0)),
        "load_average_start": load,
        "load_average_end": os.getloadavg(),
        "machine": platform.processor() or platform.machine(),
    }
    print(f"pieces        {len(files):,} files, {n_notes:,} notes (folder made/found in {generate_s:.1f} s)")
    print(
        f"conversion    {convert_s:8.1f} s  {len(files) / convert_s:8.0f} files/s  {n_notes / convert_s:10.0f} notes/s"
        f"  ({workers} process{'es' if workers > 1 else ''})"
    )
    print(f"MMT encoding  {encode_s:8.1f} s  ({n_encoded:,} pieces kept)")
    print(f"training read {samples / loop_s:8.1f} samples/s ({samples} samples of up to 64 beats in {loop_s:.1f} s)")
    print(f"cache         {cache_mb:8.1f} MB on disk")
    print(f"peak RSS      {rss['self']:.2f} GB (process), {rss['children']:.2f} GB (largest child); target < 3 GB")
    print(f"load average  {load[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end ({result['cores']} cores)")
    atomic_write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
