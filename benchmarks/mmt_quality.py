"""Quality of a trained MMT on its test split, per mode: the paper's Table 3 (pitch-class entropy, scale and groove
consistency on the first 64 beats) and structure as a listener hears it (length and longest silence in beats,
notes per beat, polyphony, tracks per bar), samples beside the test pieces as the model sees them (in instrument
mode those with exactly its instruments; ``mmt.evaluate.compare``), under the default sampling and the paper's.

Modes: unconditional; instrument-informed with S, A, T, B (the corpus' commonest set) and with violin, viola, cello
(a rare one: 9 of the 1,818 pieces are string quartets); 4-beat continuation of test pieces. Targets (issue 30):
a silence over 8 beats in at most 5 % of samples and over 32 in none, notes per beat and polyphony within 15 % of
the truth's, Table 3 within its bounds.

    .venv/bin/python benchmarks/mmt_quality.py                              # the shipped default, 64 per mode
    .venv/bin/python benchmarks/mmt_quality.py --checkpoint outputs/mmt/<run> --samplings default

Writes benchmarks/results/mmt_quality.json.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from gm_common.files import atomic_write_text
from mmt.data import recorded_split
from mmt.evaluate import TARGETS, compare, format_table, generate_samples, mode_truth
from mmt.pipeline import MMT
from mmt.sampling import PRESETS

MODES = {  # name: (mode, instruments)
    "unconditional": ("unconditional", None),
    "instrument (S, A, T, B)": ("instrument", ["soprano", "alto", "tenor", "bass"]),
    "instrument (violin, viola, cello)": ("instrument", ["violin", "viola", "cello"]),
    "continuation (4 beats)": ("continuation", None),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="corpus_tiny", help="a shipped model's name or a run folder")
    ap.add_argument("--n", type=int, default=64, help="samples per mode")
    ap.add_argument("--samplings", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/mmt_quality.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    mmt = MMT.from_pretrained(args.checkpoint)
    rows = mmt.net.max_seq_len
    pieces = list(recorded_split(mmt.hyper_parameters["data"], mmt.encoding, "test", mmt.source).values())
    results: dict[str, dict] = {}
    for sampling in args.samplings:
        results[sampling] = {}
        for name in args.modes:
            mode, instruments = MODES[name]
            samples = generate_samples(mmt, mode, args.n, PRESETS[sampling], args.seed, rows, 16, instruments, 4,
                                       pieces)  # fmt: skip
            truth = mode_truth(pieces, mode, instruments, mmt.encoding, rows)
            r = compare(samples, truth) | {"max_beats": 64, "instruments": instruments}
            results[sampling][name] = r
            print(f"\n== {args.checkpoint}, sampling={sampling}, {name}: {args.n} samples, {len(truth)} test pieces")
            print(format_table(r), flush=True)
    met = {s: {m: r["all_targets_met"] for m, r in modes.items()} for s, modes in results.items()}
    print("\nall targets met: " + "; ".join(f"{s}: " + ", ".join(f"{m} {'yes' if ok else 'NO'}" for m, ok in v.items())
                                            for s, v in met.items()))  # fmt: skip
    result = {
        "benchmark": "mmt_quality", "checkpoint": args.checkpoint, "split": "test", "n_test_pieces": len(pieces),
        "n_per_mode": args.n, "max_events": rows, "seed": args.seed, "results": results, "targets": TARGETS,
        "all_targets_met": met, "seconds": round(time.time() - t0, 1), "threads": args.threads,
    }  # fmt: skip
    atomic_write_text(args.out, json.dumps(result, indent=1))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
