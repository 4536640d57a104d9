"""Train an arranger on a dataset, then test the best checkpoint on full-length test pieces.

    python -m arranger.train model=bilstm data=bach
    python -m arranger.train model=zone data=quartets          # baselines are fitted, not trained
    python -m arranger.train model=lstm ckpt_path=last         # resume
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from arranger.baselines import BASELINES, Baseline
from gm_common.cli import clear_errors
from arranger.data import dataset_stats, get_spec, load_examples, split_examples
from arranger.evaluate import evaluate_arranger
from arranger.predict import Arranger, net_prefix
from gm_common.checkpoint import load_checkpoint, load_weights, resolve_resume
from gm_common.errors import CheckpointError
from gm_common.files import atomic_path, atomic_write_text
from gm_common.seed import seed_everything

log = logging.getLogger(__name__)


def run_train(cfg: DictConfig) -> dict:
    """Train (or fit) the configured model; returns the test metrics (or {} when not testing / not rank 0)."""
    seed_everything(cfg.seed)
    run_dir = Path(cfg.run_dir)
    spec = get_spec(cfg.data.name)
    examples = load_examples(cfg.data.name, cfg.data.folder, cfg.data.cache_dir, cfg.data.limit)
    splits = split_examples(examples, cfg.data.split_seed)
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    dataset = spec.as_dict()
    ckpt_dir = run_dir / "checkpoints"
    is_zero = True
    if model_cfg["kind"] in BASELINES:
        baseline = Baseline(model_cfg["kind"], len(spec.labels)).fit(splits["train"])
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        payload = {"hyper_parameters": {"model": model_cfg, "dataset": dataset}, "baseline_state": baseline.state}
        with atomic_path(ckpt_dir / "best.ckpt") as tmp:
            torch.save(payload, tmp)
        atomic_write_text(ckpt_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    else:
        from arranger.module import ArrangerData, ArrangerModule
        from gm_common.training import build_trainer, loader_options

        tr = cfg.train
        datamodule = ArrangerData(splits, len(spec.labels), tr.batch_size, tr.crop, tuple(tr.transpose), tr.eval_batch_size, cfg.seed, cfg.data.get("samples_per_epoch"), tr.get("length_buckets") or 0,
                                  loader_options(cfg.data.get("num_workers", 0), cfg.data.get("pin_memory", "auto"), cfg.data.get("persistent_workers", True)))
        schedule = OmegaConf.to_container(tr.schedule, resolve=True) if tr.get("schedule") else None
        module = ArrangerModule(model_cfg, dataset, lr=tr.lr, lr_decay_patience=tr.get("lr_decay_patience"), schedule=schedule,
                                weight_decay=tr.get("weight_decay") or 0.0, ema=tr.get("ema"))
        if cfg.get("init_from"):  # start from another run's weights (fine-tuning); fresh optimizer
            state = load_checkpoint(cfg.init_from)
            if state.get("hyper_parameters", {}).get("dataset", {}).get("name") != spec.name:
                raise CheckpointError(f"{cfg.init_from}: init_from checkpoint is not for dataset {spec.name!r}")
            load_weights(module.net, state["state_dict"], cfg.init_from, prefix=net_prefix(state["state_dict"]))
        monitor = tr.get("monitor") or "val/loss"
        trainer = build_trainer(cfg.trainer, run_dir, config=cfg, monitor=monitor, mode="max" if monitor.endswith("acc") else "min", early_stopping_patience=tr.patience or None)
        trainer.fit(module, datamodule=datamodule, ckpt_path=resolve_resume(cfg.ckpt_path, run_dir), weights_only=True)
        is_zero = trainer.is_global_zero
    if not (cfg.test and is_zero):
        return {}
    best = ckpt_dir / "best.ckpt"
    arranger = Arranger.from_checkpoint(best if best.is_file() else ckpt_dir / "last.ckpt", expect_dataset=spec.name)
    result = evaluate_arranger(arranger, splits["test"])
    result["data"] = {k: dataset_stats(v) for k, v in splits.items()}
    atomic_write_text(run_dir / "test_metrics.json", json.dumps(result, indent=2))
    print(f"[{spec.name} / {arranger.name}] test accuracy {100 * result['accuracy']:.2f}% "
          f"(balanced {100 * result['balanced_accuracy']:.2f}%, {result['notes']} notes, {result['pieces']} pieces); "
          f"checkpoint {ckpt_dir}")
    return result


@hydra.main(config_path="../../configs/arranger", config_name="train", version_base="1.3")
@clear_errors
def main(cfg: DictConfig) -> None:
    run_train(cfg)


if __name__ == "__main__":
    main()
