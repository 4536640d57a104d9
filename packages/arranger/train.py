"""Train an arranger on a dataset, then test the best checkpoint on full-length test pieces.

python -m arranger.train model=bilstm data=bach
python -m arranger.train model=zone data=quartets          # baselines are fitted, not trained
python -m arranger.train model=lstm ckpt_path=last         # resume
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from arranger.baselines import BASELINES, Baseline
from arranger.data import dataset_stats
from arranger.evaluate import evaluate_arranger
from arranger.lightning import ArrangerData
from arranger.predict import Arranger
from gm_common.checkpoint import load_weights, resolve_resume
from gm_common.cli import entry_point, run_dir
from gm_common.files import atomic_path, atomic_write_text
from gm_common.seed import seed_everything


def fit_baseline(cfg: DictConfig, data: ArrangerData, ckpt_dir: Path) -> None:
    """Fit a baseline on the training split and save it as ``best.ckpt`` (plain data, weights-only loadable)."""
    data.setup("fit")
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    baseline = Baseline(model_cfg["kind"], data.n_parts).fit(data.splits["train"])
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "hyper_parameters": {"model": model_cfg, "dataset": data.spec.as_dict()},
        "baseline_state": baseline.state,
    }
    with atomic_path(ckpt_dir / "best.ckpt") as tmp:
        torch.save(payload, tmp)
    atomic_write_text(ckpt_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))


def fit_network(cfg: DictConfig, data: ArrangerData, folder: Path) -> bool:
    """Train the configured net (resuming ``cfg.ckpt_path``, starting from ``cfg.init_from``'s weights);
    returns whether this process is rank 0."""
    from gm_common.training import build_trainer

    model = OmegaConf.to_container(cfg.model, resolve=True)
    module = instantiate(cfg.train, model=model, dataset=data.spec.as_dict(), _convert_="all")
    if cfg.init_from:  # start from another run's weights (fine-tuning); fresh optimizer
        source = Arranger.from_pretrained(cfg.init_from, expect_dataset=data.spec.name)
        load_weights(module.net, source.net.state_dict(), cfg.init_from)
    hp = module.hparams
    trainer = build_trainer(
        cfg.trainer,
        folder,
        config=cfg,
        monitor=hp.monitor,
        mode="max" if hp.monitor.endswith("acc") else "min",
        early_stopping_patience=hp.patience,
    )
    trainer.fit(module, datamodule=data, ckpt_path=resolve_resume(cfg.ckpt_path, folder), weights_only=True)
    return trainer.is_global_zero


def test_best(data: ArrangerData, folder: Path) -> dict:
    """Test the best checkpoint (else the last) on the full-length test pieces; writes ``test_metrics.json``."""
    data.setup("test")
    ckpt_dir = folder / "checkpoints"
    best = ckpt_dir / "best.ckpt"
    arranger = Arranger.from_checkpoint(
        best if best.is_file() else ckpt_dir / "last.ckpt", expect_dataset=data.spec.name
    )
    result = evaluate_arranger(arranger, data.splits["test"])
    result["data"] = {k: dataset_stats(v) for k, v in data.splits.items()}
    atomic_write_text(folder / "test_metrics.json", json.dumps(result, indent=2))
    print(
        f"[{data.spec.name} / {arranger.name}] test accuracy {100 * result['accuracy']:.2f}% "
        f"(balanced {100 * result['balanced_accuracy']:.2f}%, {result['notes']} notes, {result['pieces']} pieces); "
        f"checkpoint {ckpt_dir}"
    )
    return result


def run(cfg: DictConfig) -> dict:
    """Train (or fit) the configured model; returns the test metrics (or {} when not testing / not rank 0)."""
    seed_everything(cfg.seed)
    folder = run_dir(cfg)
    data = instantiate(cfg.data, seed=cfg.seed, _convert_="all")
    if cfg.model.kind in BASELINES:
        fit_baseline(cfg, data, folder / "checkpoints")
        is_zero = True
    else:
        is_zero = fit_network(cfg, data, folder)
    return test_best(data, folder) if cfg.test and is_zero else {}


main = entry_point("arranger", "train")(run)

if __name__ == "__main__":
    main()
