"""The default corpus's first conversion: every collection of ``configs/mmt/data/corpus.yaml`` (chorales,
Palestrina, Monteverdi, string quartets) read at MMT's 12 ticks per beat into a fresh, temporary cache, as a fresh
clone's first ``python -m mmt.train`` does. Workers as the data configs set them (``data.convert_workers``: every
core, as many as the files warrant). music21 keeps its own parse cache (pickles in its scratch folder, which a
fresh machine does not have): the script counts those present at the start, so that a run on a warm one shows.

    .venv/bin/python benchmarks/corpus_first_conversion.py [--workers N] [--collections ...] [--limit N]

Prints seconds per collection, the wall time, the CPU time of all processes and the load average; writes
benchmarks/results/corpus_first_conversion.json. Target (issue 16): 10 minutes or less on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from gm_common import corpus
from gm_common.files import atomic_write_text

DEFAULT = ["bach_chorales", "palestrina", "monteverdi", "string_quartets"]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the conversion workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def music21_scratch() -> Path:
    """The folder of music21's parse cache."""
    import music21

    return Path(music21.environment.Environment().getRootTempDir())


def main(argv: list[str] | None = None) -> dict:
    """Convert the collections into a temporary cache; print and write the timings."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", nargs="+", default=DEFAULT)
    ap.add_argument("--limit", type=int, default=None, help="first N files of each collection (a quick check)")
    ap.add_argument("--workers", type=int, default=None, help="conversion processes (default: as the data configs)")
    ap.add_argument("--cache-dir", default=None, help="a new folder to keep (default: temporary)")
    ap.add_argument("--out", default="benchmarks/results/corpus_first_conversion.json")
    args = ap.parse_args(argv)
    load_start, music21_pickles = os.getloadavg(), len(list(music21_scratch().glob("m21-*.p*")))
    rows, t0, c0 = {}, time.perf_counter(), cpu_seconds()
    if args.cache_dir and Path(args.cache_dir).exists():
        raise SystemExit(f"--cache-dir {args.cache_dir} exists: the first conversion needs a new folder")
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or tmp
        for name in args.collections:
            t = time.perf_counter()
            store = corpus.load_collection(name, 12, cache, limit=args.limit, workers=args.workers)
            rows[name] = {"files": len(store) + len(store.skipped), "pieces": len(store), "notes": store.n_notes(),
                          "seconds": round(time.perf_counter() - t, 1)}  # fmt: skip
            print(f"{name:16s} {rows[name]['pieces']:5d} pieces {rows[name]['seconds']:7.1f} s", flush=True)
    wall = time.perf_counter() - t0
    result = {
        "collections": rows,
        "wall_s": round(wall, 1),
        "wall_min": round(wall / 60, 2),
        "cpu_s_all_processes": round(cpu_seconds() - c0, 1),
        "workers": args.workers or "default (data.convert_workers=null)",
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_start": load_start,
        "music21_parse_cache_files_at_start": music21_pickles,
        "load_average_end": os.getloadavg(),
        "machine": platform.machine(),
        "target_min": 10,
        "target_met": wall <= 600 if args.limit is None and args.collections == DEFAULT else None,
    }
    print(f"first conversion: {result['wall_min']:.2f} min wall, {result['cpu_s_all_processes'] / 60:.1f} CPU min")
    atomic_write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
