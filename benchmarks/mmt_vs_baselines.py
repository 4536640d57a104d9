"""MMT against REMI+ and MMM (MidiTok): tokens per note on the test split, and the notes a 1,024-token budget holds.

The test split (8:1:1, seed 0) of the data is encoded by MMT (``encoding.voices`` as given) and the same notes are
tokenised by MidiTok's REMI+ and MMM (see :mod:`mmt.baselines`), without velocity tokens (MMT has none) and with
them (MidiTok's default). Sample length and generation speed at the same budget need the trained baselines (not
yet here).

    .venv/bin/python benchmarks/mmt_vs_baselines.py [--collections bach_chorales string_quartets] [--voices split]

Prints a table with the ratios to MMT and writes benchmarks/results/mmt_vs_baselines.json.
"""

from __future__ import annotations

import argparse
import json

from gm_common.files import atomic_write_text
from mmt.baselines import REPRESENTATIONS, count_tokens, tokenizer
from mmt.data import recorded_split
from mmt.representation import Encoding

BUDGET = 1024


def main() -> None:
    """Count every representation's tokens over the test split, print the table and write the JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--collections", nargs="+", default=["bach_chorales", "string_quartets"])
    ap.add_argument("--limit", type=int, default=None, help="first N files of each collection")
    ap.add_argument("--voices", default="split", choices=["split", "merged"])
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", default="benchmarks/results/mmt_vs_baselines.json")
    args = ap.parse_args()
    encoding = Encoding(voices=args.voices)
    data = {"collections": args.collections, "limit": args.limit, "cache_dir": args.cache_dir}
    pieces = list(recorded_split(data, encoding, "test").values())
    rows = {}
    for name in REPRESENTATIONS:
        for velocities in (False, True) if name != "mmt" else (False,):
            tok = tokenizer(name, velocities) if name != "mmt" else None
            counts = [count_tokens(notes, encoding, tok) for notes in pieces]
            tokens, notes = sum(c[0] for c in counts), sum(c[1] for c in counts)
            key = name + ("+velocity" if velocities else "")
            rows[key] = {"tokens": tokens, "notes": notes, "tokens_per_note": tokens / notes,
                         "notes_per_budget": BUDGET * notes / tokens}  # fmt: skip
    mmt = rows["mmt"]["tokens_per_note"]
    print(f"test split of {', '.join(args.collections)} ({len(pieces)} pieces, voices={args.voices})")
    print(f"{'representation':20s} {'tokens/note':>11s} {'notes in 1,024':>14s} {'x MMT':>6s}")
    for key, row in rows.items():
        row["ratio_to_mmt"] = row["tokens_per_note"] / mmt
        print(f"{key:20s} {row['tokens_per_note']:11.2f} {row['notes_per_budget']:14.0f} {row['ratio_to_mmt']:6.2f}")
    result = {"data": data, "voices": args.voices, "test_pieces": len(pieces), "budget": BUDGET, "rows": rows}
    atomic_write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
