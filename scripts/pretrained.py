"""Retrain every shipped model with its recorded command, then export it (safetensors + card.json).

    .venv/bin/python scripts/pretrained.py                      # train what is missing, export all (hours)
    .venv/bin/python scripts/pretrained.py --only arranger/bach_lstm
    .venv/bin/python scripts/pretrained.py --export-only        # re-export finished runs

``make pretrained`` calls this. Runs go to ``outputs/pretrained/<pkg>/<name>/``; the shipped files to
``packages/<pkg>/pretrained/<name>/``. Each training run uses one CPU thread, two runs at a time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = Path("outputs/pretrained")


def _arranger(data: str, model: str, minutes: int, extra: list[str]) -> list[list[str]]:
    hh, mm = divmod(minutes - 1, 60)
    return [
        [
            "arranger.train",
            f"model={model}",
            f"data={data}",
            "experiment=cpu30",
            f"trainer.max_time=00:{hh:02d}:{mm:02d}:00",
            f"train.schedule.total_minutes={minutes - 3}",
            "train.patience=null",
            "trainer.progress_refresh_rate=200",
            *extra,
        ]
    ]


# The BiLSTM recipe of issue 5 (dropout 0.5, weight average, best by validation accuracy); the LSTM gets the
# same weight average and selection.
AVERAGE = ["train.ema=0.999", "train.monitor=val/acc"]
RECIPES: dict[str, list[list[str]]] = {
    "arranger/bach_bilstm": _arranger("bach", "bilstm", 30, ["model.dropout=0.5", *AVERAGE]),
    "arranger/bach_lstm": _arranger("bach", "lstm", 20, AVERAGE),
    "arranger/quartets_bilstm": _arranger("quartets", "bilstm", 25, ["model.dropout=0.5", *AVERAGE]),
    "arranger/quartets_lstm": _arranger("quartets", "lstm", 20, AVERAGE),
    "mmt/chorales_quartets": [
        [
            "mmt.train",
            "experiment=bach_tiny",
            "data.collections=[bach_chorales,string_quartets]",
            "trainer.max_steps=2400",
            "+trainer.max_time=00:00:25:00",
            "torch_threads=1",
            "trainer.progress_refresh_rate=200",
        ]
    ],
    "clipsonic/synthetic": [
        ["clipsonic.data.synthesize"],
        ["clipsonic.train_clip", "trainer.progress_refresh_rate=200"],
        ["clipsonic.train_prior", "trainer.progress_refresh_rate=200"],
        ["clipsonic.train", "trainer.progress_refresh_rate=200"],
        ["clipsonic.train_vocoder", "trainer.progress_refresh_rate=200"],
    ],
}


def run_dir_args(name: str) -> list[str]:
    """Where a recipe's run writes: ``run_dir=`` (mmt, arranger) or ``root=`` (clipsonic's four models)."""
    pkg = name.split("/")[0]
    return [f"root={RUNS / name}"] if pkg == "clipsonic" else [f"run_dir={RUNS / name}"]


def train(name: str, log_dir: Path) -> float:
    """Run a recipe's commands (one CPU thread); returns the wall time in minutes."""
    done = RUNS / name / "done"
    if done.is_file():
        print(f"[skip] {name}: trained already", flush=True)
        return float(done.read_text())
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.time()
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name.replace('/', '_')}.log", "a") as log:
        for cmd in RECIPES[name]:
            subprocess.run(
                [sys.executable, "-m", *cmd, *run_dir_args(name)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )
    minutes = (time.time() - t0) / 60
    done.write_text(f"{minutes:.1f}")
    print(f"[done] {name} in {minutes:.1f} min", flush=True)
    return minutes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=sorted(RECIPES), default=sorted(RECIPES))
    ap.add_argument("--parallel", type=int, default=2, help="recipes trained at once (one CPU thread each)")
    ap.add_argument("--export-only", action="store_true")
    args = ap.parse_args()
    if not args.export_only:
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(lambda n: train(n, RUNS / "_logs"), args.only))


if __name__ == "__main__":
    main()
