"""Train an MMT model: ``python -m mmt.train [model=tiny|paper] [experiment=...] [trainer=...]``.

Outputs under ``run_dir`` (default ``outputs/mmt/<run_name>``): ``checkpoints/{best,last}.ckpt`` and the
full resolved ``checkpoints/config.yaml``, ``encoding.json``, CSV and TensorBoard logs. Resume with
``ckpt_path=last run_dir=<the run's folder>``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gm_common.checkpoint import resolve_resume
from gm_common.seed import seed_everything
from gm_common.training import build_trainer
from gm_common.cli import clear_errors
from mmt.model import MMTLightning, count_parameters
from mmt.representation import Encoding

log = logging.getLogger(__name__)


def _run_dir(cfg: DictConfig) -> Path:
    # Under Hydra, its run dir is the truth: DDP child processes get the parent's through an override.
    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(cfg.run_dir)


def train(cfg: DictConfig) -> Path:
    """Train from a composed config; returns the run directory."""
    seed_everything(int(cfg.seed))
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    run_dir = _run_dir(cfg)
    encoding = Encoding(max_beat=int(cfg.encoding.max_beat))
    datamodule = instantiate(cfg.data, _partial_=True)(encoding=encoding)
    plain = OmegaConf.to_container(cfg, resolve=True)
    module = MMTLightning(model=plain["model"], encoding=encoding.to_dict(), optim=plain["optim"], data=plain["data"])
    log.info("model %s: %.2f M parameters", cfg.model.get("name", "?"), count_parameters(module.net) / 1e6)
    patience = cfg.get("early_stopping_patience")
    trainer = build_trainer(cfg.trainer, run_dir, config=cfg, early_stopping_patience=int(patience) if patience else None)
    if trainer.is_global_zero:
        encoding.save(run_dir / "encoding.json")
    ckpt = resolve_resume(cfg.get("ckpt_path"), run_dir)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
    if trainer.is_global_zero:
        print(f"checkpoints: {run_dir / 'checkpoints'}")
    return run_dir


@hydra.main(config_path="../../configs/mmt", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    clear_errors(train)(cfg)


if __name__ == "__main__":
    main()
