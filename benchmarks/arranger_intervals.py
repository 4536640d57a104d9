"""How far each shipped arranger model is from the paper, against how precisely one test split can tell.

Each shipped model is measured on its dataset's test split (seed-0 8:1:1, full-length pieces, as its card), with
a 95 % bootstrap interval over test pieces (``arranger.metrics.piece_interval``): a second set of test pieces
drawn like these would move the figure about that much. The paper's figure comes from another draw of pieces
(and, for the quartets, another corpus: MusicNet), so "inside" says the gap is within one split's precision.

    .venv/bin/python benchmarks/arranger_intervals.py [--models bach_bilstm quartets_bilstm ...]

Prints a table and writes benchmarks/results/arranger_intervals.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages"))
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> dict:
    """Measure the shipped models; returns what it writes."""
    import torch

    from arranger.data import load_examples, split_examples
    from arranger.evaluate import evaluate_arranger
    from arranger.metrics import RESAMPLES
    from arranger.predict import PRETRAINED, Arranger
    from gm_common.files import atomic_write_text
    from gm_common.pretrained import list_pretrained

    cards = list_pretrained(PRETRAINED)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(cards), choices=list(cards), help="shipped models")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "arranger_intervals.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    rows: dict[str, dict] = {}
    tests: dict[str, list] = {}
    print(f"{'model':<22}{'pieces':>7}{'accuracy %':>12}{'95 % interval':>18}{'paper':>8}  paper inside")
    for name in args.models:
        arranger = Arranger.from_pretrained(name, device="cpu")
        dataset = arranger.dataset["name"]
        if dataset not in tests:
            tests[dataset] = split_examples(list(load_examples(dataset)), seed=0)["test"]
        r = evaluate_arranger(arranger, tests[dataset])
        paper = cards[name].get("paper_accuracy_percent")
        lo, hi = (100 * x for x in r["accuracy_ci95"])
        rows[name] = {
            "dataset": dataset,
            "pieces": r["pieces"],
            "notes": r["notes"],
            "accuracy_percent": 100 * r["accuracy"],
            "accuracy_ci95_percent": [lo, hi],
            "paper_percent": paper,
            "paper_inside": None if paper is None else bool(lo <= paper <= hi),
            "card_accuracy_percent": 100 * cards[name]["test"]["accuracy"],
        }
        inside = "-" if paper is None else ("yes" if rows[name]["paper_inside"] else "no")
        print(
            f"{name:<22}{r['pieces']:>7}{100 * r['accuracy']:>12.2f}{f'[{lo:.2f}, {hi:.2f}]':>18}"
            f"{paper if paper is not None else '-':>8}  {inside}"
        )
    result = {
        "settings": {"split": "seed-0 8:1:1 test, full-length pieces", "resamples": RESAMPLES, "interval": "pieces"},
        "models": rows,
    }
    atomic_write_text(Path(args.out), json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
