"""Corpus conversion speed: the old path (MusPy's MIDI reader, one process) against the new one (symusic,
worker processes), side by side in one run on the same folder of distinct MIDI files.

The folder is exported once from the embedded corpus (every Bach chorale, Monteverdi madrigal and string
quartet movement: 500+ different pieces) into ``outputs/bench/corpus_midi/``. Each path converts the whole
folder into a fresh cache (read, quantise to 24 ticks per beat, encode, write the cache, return the pieces).

    .venv/bin/python benchmarks/corpus_convert.py [--workers N]

Prints files/s and notes/s for both paths and their ratio; writes benchmarks/results/corpus_convert.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import muspy
import numpy as np

from gm_common import corpus
from gm_common.errors import InputFileError
from gm_common.files import atomic_path, atomic_write_text
from gm_common.notes import write_midi

FOLDER = Path("outputs/bench/corpus_midi")
RESOLUTION = 24
COLLECTIONS = ("bach_chorales", "monteverdi", "string_quartets")


def export_folder(folder: Path) -> list[Path]:
    """Write every piece of COLLECTIONS as a MIDI file (once; reused afterwards)."""
    if not (folder / "done").is_file():
        for name in COLLECTIONS:
            for piece in corpus.load_collection(name, RESOLUTION):
                write_midi(piece.music, folder / (piece.name.replace("/", "__") + ".mid"), overwrite=True)
        (folder / "done").write_text("")
    return sorted(folder.glob("*.mid"))


def old_path(paths: list[Path], cache: Path) -> list[corpus.Piece]:
    """The conversion before symusic and workers: MusPy's MIDI reader, one file after another."""
    records = []
    for path in paths:
        music = muspy.read_midi(path)
        music.adjust_resolution(RESOLUTION)
        music.tracks = [t for t in music.tracks if t.notes]
        if not music.tracks:
            raise InputFileError(path, "file contains no notes")
        records.append(corpus._piece_arrays(path.name, music))
    arrays, meta = corpus._encode(records)
    with atomic_path(cache / "old.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return corpus._decode(arrays, meta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=None, help="new path's worker processes (default: every core)")
    ap.add_argument("--out", default="benchmarks/results/corpus_convert.json")
    args = ap.parse_args()
    paths = export_folder(FOLDER)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, convert in (
            ("old: muspy, 1 process", lambda: old_path(paths, Path(tmp))),
            ("new: symusic + workers", lambda: corpus.load_pieces(paths, RESOLUTION, Path(tmp), workers=args.workers)),
        ):
            t0 = time.perf_counter()
            pieces = convert()
            seconds = time.perf_counter() - t0
            notes = sum(len(t.notes) for p in pieces for t in p.music.tracks)
            rows[name] = {
                "files": len(pieces),
                "notes": notes,
                "seconds": seconds,
                "files_per_s": len(pieces) / seconds,
                "notes_per_s": notes / seconds,
            }
            print(
                f"{name:<26} {len(pieces):5d} files {notes:8d} notes {seconds:7.2f} s "
                f"{len(pieces) / seconds:8.1f} files/s {notes / seconds:10.0f} notes/s",
                flush=True,
            )
    old, new = rows.values()
    speedup = new["files_per_s"] / old["files_per_s"]
    print(f"speed-up (new / old): {speedup:.1f}x (target >= 20x)")
    result = {
        "benchmark": "corpus_convert",
        "folder_files": len(paths),
        "rows": rows,
        "speedup": speedup,
        "workers": corpus.convert_workers(args.workers, len(paths)),
        "cores": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    atomic_write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
