"""Corpus conversion speed: the old path (MusPy's MIDI reader, one process) against the new one (symusic
straight into arrays, memory-mapped shards, worker processes), side by side in one run on the same folder of
distinct MIDI files.

The folder is exported once from the embedded corpus into ``<cache>/bench/corpus_midi/``: every Bach chorale and
Monteverdi madrigal and the first Palestrina masses, 500+ different pieces. Each path converts the whole folder
into a fresh cache at 24 ticks per beat: read, quantise, drop empty tracks, write the cache.

    .venv/bin/python benchmarks/corpus_convert.py [--workers 2] [--folder FOLDER_OF_MIDI_FILES]

Prints files/s and notes/s of each path and the ratios; writes benchmarks/results/corpus_convert.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from gm_common import corpus
from gm_common.files import atomic_path, atomic_write_text
from gm_common.notes import tracks_from_music, write_midi

RESOLUTION = 24
EXPORT = (("bach_chorales", None), ("monteverdi", None), ("palestrina", 120))  # (collection, first N files)


def export_folder(folder: Path) -> list[Path]:
    """Write every piece of EXPORT as a MIDI file (once; reused afterwards)."""
    if not (folder / "done").is_file():
        for name, limit in EXPORT:
            pieces = corpus.load_collection(name, RESOLUTION, limit=limit)
            for i in range(len(pieces)):
                piece = pieces[i]
                write_midi(piece.music, folder / (piece.name.replace("/", "__") + ".mid"), overwrite=True)
        (folder / "done").write_text("")
    return sorted(folder.glob("*.mid"))


def old_path(paths: list[Path], cache: Path) -> tuple[int, int]:
    """The conversion before symusic and workers: MusPy's MIDI reader, one file after another, one compressed
    ``.npz`` (what the corpus cache was up to version 2). Returns (files, notes)."""
    import muspy

    notes = []
    for path in paths:
        music = muspy.read_midi(path)
        music.adjust_resolution(RESOLUTION)
        notes += [track for *_, track in tracks_from_music(music) if len(track)]
    with atomic_path(cache / "old.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, notes=np.concatenate(notes), lengths=np.array([len(a) for a in notes]))
    return len(paths), sum(len(a) for a in notes)


def new_path(paths: list[Path], cache: Path, workers: int | None) -> tuple[int, int]:
    """Today's conversion (``gm_common.corpus.load_pieces``). Returns (files, notes)."""
    store = corpus.load_pieces(paths, RESOLUTION, cache, workers=workers)
    return len(store), store.n_notes()


def main() -> None:
    """Export the folder, time both paths, print the table and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="the new path's worker processes (its second row)")
    ap.add_argument("--folder", type=Path, default=None, help="time this folder of MIDI files instead of the export")
    ap.add_argument("--out", default="benchmarks/results/corpus_convert.json")
    args = ap.parse_args()
    if args.folder is None:
        paths = export_folder(corpus.default_cache_dir() / "bench" / "corpus_midi")
    else:
        paths = sorted(args.folder.glob("*.mid"))
    load = os.getloadavg()
    print(f"{len(paths)} MIDI files; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    for reader in ("muspy", "symusic"):  # imported before the clock starts: an import is not a conversion
        importlib.import_module(reader)
    auto = corpus.convert_workers(None, paths)
    paths_to_time = {
        "old: muspy, 1 process": lambda cache: old_path(paths, cache),
        f"new: symusic, {auto} process (auto)": lambda cache: new_path(paths, cache, None),
        f"new: symusic, {args.workers} workers": lambda cache: new_path(paths, cache, args.workers),
    }
    rows = {}
    for name, convert in paths_to_time.items():
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            files, notes = convert(Path(cache))
            seconds = time.perf_counter() - t0
        rows[name] = {"files": files, "notes": notes, "seconds": seconds,
                      "files_per_s": files / seconds, "notes_per_s": notes / seconds}  # fmt: skip
        print(f"{name:<30} {files:5d} files {notes:8d} notes {seconds:7.2f} s "
              f"{files / seconds:8.1f} files/s {notes / seconds:10.0f} notes/s", flush=True)  # fmt: skip
    old = next(iter(rows.values()))
    speedups = {name: row["files_per_s"] / old["files_per_s"] for name, row in list(rows.items())[1:]}
    for name, ratio in speedups.items():
        print(f"speed-up of {name!r} over the old path: {ratio:.1f}x (target >= 20x)")
    result = {
        "benchmark": "corpus_convert",
        "folder_files": len(paths),
        "rows": rows,
        "speedup": speedups,
        "cores": os.cpu_count(),
        "load_average_start": load,
        "load_average_end": os.getloadavg(),
        "machine": platform.processor() or platform.machine(),
    }
    atomic_write_text(args.out, json.dumps(result, indent=1))
    print(f"load average at the end {os.getloadavg()[0]:.2f}; wrote {args.out}")


if __name__ == "__main__":
    main()
