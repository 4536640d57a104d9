"""Tracks per piece of the embedded corpus under both voice mappings (``encoding.voices=merged|split``).

A piece's tracks are its distinct instrument classes after encoding, over the pieces that training uses (at
least 50 encodable notes). ``merged`` is the paper's mapping (every vocal part one ``voices`` class); ``split``
keeps soprano, alto, tenor, bass and a generic voice apart.

    .venv/bin/python benchmarks/mmt_tracks.py [--palestrina-limit 150] [--cache-dir DIR]

Palestrina's 1,318 Humdrum files take ~5 minutes to convert the first time (2 cores); ``--palestrina-limit`` keeps its
first N files (0: all). Prints a table and writes benchmarks/results/mmt_tracks.json.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from gm_common.files import atomic_write_text
from mmt.data import encoded_dataset
from mmt.representation import Encoding

COLLECTIONS = ("bach_chorales", "palestrina", "monteverdi", "string_quartets")
MODES = ("merged", "split")


def tracks_per_piece(collection: str, voices: str, limit: int | None, cache_dir: str | None) -> list[int]:
    """Number of instrument classes of each usable piece of a collection."""
    source = {"collections": [collection], "folder": None, "limit": limit}
    pieces = encoded_dataset(source, Encoding(voices=voices), cache_dir)
    return [len(np.unique(notes[:, 4])) for notes in pieces.values()]


def summary(counts: list[int]) -> dict:
    """Mean, single-track share and histogram of track counts."""
    return {
        "pieces": len(counts),
        "mean": float(np.mean(counts)),
        "single_track_share": float(np.mean(np.asarray(counts) == 1)),
        "histogram": {str(k): v for k, v in sorted(Counter(counts).items())},
    }


def main() -> None:
    """Measure every collection under both mappings, print the table and write the JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--palestrina-limit", type=int, default=150)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", default="benchmarks/results/mmt_tracks.json")
    args = ap.parse_args()
    results: dict = {"palestrina_limit": args.palestrina_limit or None, "collections": {}}
    header = ("collection", "pieces", "merged", "split", "1-track merged", "1-track split")
    print(f"{header[0]:16s} {header[1]:>6s} {header[2]:>7s} {header[3]:>7s} {header[4]:>15s} {header[5]:>14s}")
    for name in COLLECTIONS:
        limit = (args.palestrina_limit or None) if name == "palestrina" else None
        row = {mode: summary(tracks_per_piece(name, mode, limit, args.cache_dir)) for mode in MODES}
        results["collections"][name] = row
        m, s = row["merged"], row["split"]
        print(f"{name:16s} {m['pieces']:6d} {m['mean']:7.2f} {s['mean']:7.2f} "
              f"{m['single_track_share']:15.1%} {s['single_track_share']:14.1%}")  # fmt: skip
    atomic_write_text(args.out, json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
