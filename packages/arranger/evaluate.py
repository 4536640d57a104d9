"""Evaluate arrangers on a dataset's test split at full length; print the paper's Table 2.

python -m arranger.evaluate ckpt=outputs/arranger/runs/bach_lstm/checkpoints/best.ckpt
python -m arranger.evaluate table=true datasets=[bach,quartets]
python -m arranger.evaluate ckpt=bach_bilstm device=cuda precision=bf16-mixed    # default device: auto
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from arranger.data import Example
from arranger.metrics import evaluate_pieces, plot_confusion
from arranger.predict import Arranger
from gm_common.cli import entry_point, run_dir
from gm_common.device import inference_options
from gm_common.errors import ConfigError
from gm_common.files import atomic_write_text, check_writable

# Table 2 order (model names as in configs/arranger/model/).
TABLE_ORDER = [
    "most_common",
    "zone",
    "zone_oracle",
    "closest_pitch",
    "closest_pitch_mono",
    "mlp",
    "lstm",
    "lstm_duration",
    "lstm_entry",
    "transformer_dec",
    "bilstm",
    "bilstm_duration",
    "bilstm_entry",
    "bilstm_hints",
    "transformer_enc",
]


def evaluate_arranger(arranger: Arranger, examples: list[Example]) -> dict:
    """Metrics of one arranger over full-length pieces (hints, when used, come from the true parts)."""
    trues, preds = [], []
    t0 = time.perf_counter()
    for ex in examples:
        labels = ex.notes[:, 3]
        preds.append(arranger.predict(ex.notes[:, :3], hint_labels=labels))
        trues.append(labels)
    seconds = time.perf_counter() - t0
    result = evaluate_pieces(trues, preds, arranger.n_parts)
    result["model"] = arranger.name
    result["dataset"] = arranger.dataset["name"]
    result["device"] = str(arranger.device)
    result["notes_per_second"] = result["notes"] / max(seconds, 1e-9)
    result["longest_piece_notes"] = max(len(ex) for ex in examples)
    return result


def format_table(results: dict[str, dict[str, dict]], datasets: list[str]) -> str:
    """results[model][dataset] -> metrics; one row per model; per dataset: accuracy, balanced accuracy,
    soundness, completeness (%)."""
    models = [m for m in TABLE_ORDER if m in results] + sorted(m for m in results if m not in TABLE_ORDER)
    cols = ("acc", "bal", "snd", "cpl")
    keys = ("accuracy", "balanced_accuracy", "soundness", "completeness")
    w = max(9, max(len(d) for d in datasets) + 5)
    head = f"{'model':<20}" + "".join(f"{d + ' ' + c:>{w}}" for d in datasets for c in cols)
    lines = [head, "-" * len(head)]
    for m in models:
        row = f"{m:<20}"
        for d in datasets:
            r = results[m].get(d)
            row += "".join(f"{100 * r[k]:>{w}.2f}" if r else f"{'-':>{w}}" for k in keys)
        lines.append(row)
    return "\n".join(lines)


def load_split(data_cfg: DictConfig, split: str = "test", name: str | None = None) -> list[Example]:
    """One split of the dataset a data config describes, or of dataset ``name`` with the config's settings."""
    data = instantiate(data_cfg, **({"name": name} if name else {}))
    data.setup()
    return data.splits[split]


def run_table(
    runs_root: str | Path,
    datasets: list[str],
    data_cfg: DictConfig,
    out_dir: Path,
    confusion_png: bool = True,
    device: str = "cpu",
    precision: str = "32-true",
) -> dict:
    """Evaluate every ``<dataset>_*/checkpoints/best.ckpt`` under ``runs_root`` on ``device``:
    results[model][dataset]."""
    results: dict[str, dict[str, dict]] = {}
    for dataset in datasets:
        ckpts = sorted(Path(runs_root).glob(f"{dataset}_*/checkpoints/best.ckpt"))
        if not ckpts:
            continue
        examples = load_split(data_cfg, "test", dataset)
        for ckpt in ckpts:
            arranger = Arranger.from_checkpoint(ckpt, expect_dataset=dataset, device=device, precision=precision)
            r = evaluate_arranger(arranger, examples)
            r["checkpoint"] = str(ckpt)
            results.setdefault(arranger.name, {})[dataset] = r
            if confusion_png:
                plot_confusion(
                    r["confusion"],
                    arranger.dataset["labels"],
                    out_dir / f"confusion_{dataset}_{arranger.name}.png",
                    title=f"{arranger.name} on {dataset} (acc {100 * r['accuracy']:.2f}%)",
                )
    return results


def evaluate_one(cfg: DictConfig, out_dir: Path) -> dict:
    """Evaluate ``cfg.ckpt`` on ``cfg.split`` of ``cfg.data``: results[model][dataset]."""
    arranger = Arranger.from_pretrained(
        cfg.ckpt, expect_dataset=cfg.data.name, device=cfg.device, precision=cfg.precision
    )
    r = evaluate_arranger(arranger, load_split(cfg.data, cfg.split))
    if cfg.confusion_png:
        png = plot_confusion(
            r["confusion"],
            arranger.dataset["labels"],
            out_dir / f"confusion_{cfg.data.name}_{arranger.name}.png",
            title=f"{arranger.name} on {cfg.data.name}",
        )
        print(f"confusion matrix: {png}")
    return {arranger.name: {cfg.data.name: r}}


def run(cfg: DictConfig) -> dict:
    """Evaluate one checkpoint (``ckpt=``) or every run (``table=true``); print the table, write the JSON."""
    if not cfg.table and not cfg.ckpt:
        raise ConfigError("give ckpt=PATH (a checkpoint, run folder or shipped model name), or table=true")
    inference_options(cfg.device, cfg.precision)  # a GPU asked for and not there: an error before any data loads
    check_writable(cfg.out_json, cfg.overwrite)
    out_dir = run_dir(cfg)
    if cfg.table:
        if not any(any(Path(cfg.runs_root).glob(f"{d}_*/checkpoints/best.ckpt")) for d in cfg.datasets):
            raise ConfigError(
                f"table=true: no runs to evaluate under {cfg.runs_root} (<dataset>_<model>/checkpoints/best.ckpt "
                f"for datasets {list(cfg.datasets)}); train some with python -m arranger.train, or set runs_root="
            )
        results = run_table(
            cfg.runs_root, list(cfg.datasets), cfg.data, out_dir, cfg.confusion_png, cfg.device, cfg.precision
        )
        print(format_table(results, list(cfg.datasets)))
    else:
        results = evaluate_one(cfg, out_dir)
        print(format_table(results, [cfg.data.name]))
    atomic_write_text(cfg.out_json, json.dumps(results, indent=2))
    print(f"results: {cfg.out_json}")
    return results


main = entry_point("arranger", "evaluate")(run)

if __name__ == "__main__":
    main()
