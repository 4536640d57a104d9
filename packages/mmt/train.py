"""Train an MMT model: ``python -m mmt.train [model=tiny|paper] [experiment=...] [trainer=...]``.

Outputs under ``run_dir`` (default ``outputs/mmt/<run_name>``): ``checkpoints/{best,last}.ckpt`` and the
full resolved ``checkpoints/config.yaml``, ``encoding.json``, ``split.json`` (the pieces of each split), CSV and
TensorBoard logs; a model that adds parts also gets ``harmony.safetensors``, its sampler's harmony model fit on the
training split (:mod:`mmt.harmony`). Resume with ``ckpt_path=last run_dir=<the run's folder>`` (or
``ckpt_path=auto``: resume if there is a checkpoint).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from gm_common.checkpoint import load_checkpoint, resolve_resume
from gm_common.cli import entry_point, run_dir
from gm_common.seed import seed_everything
from gm_common.training import build_trainer
from mmt.data import PART_LAYOUTS, SPLIT_FILE, MMTDataModule, RecordSplit
from mmt.harmony import HARMONY_FILE, fit_harmony, save_harmony
from mmt.model import checkpoint_encoding, count_parameters
from mmt.representation import Encoding

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> Path:
    """Train from a composed config; returns the run directory."""
    seed_everything(int(cfg.seed))
    if cfg.torch_threads:
        torch.set_num_threads(int(cfg.torch_threads))
    folder = run_dir(cfg)
    encoding = Encoding(max_beat=int(cfg.encoding.max_beat), voices=str(cfg.encoding.voices))
    ckpt = resolve_resume(cfg.ckpt_path, folder)
    if ckpt:  # a run resumes with the encoding it was started with
        checkpoint_encoding(load_checkpoint(ckpt)["hyper_parameters"], ckpt, encoding)
    # built outside instantiate so that a ConfigError they raise reaches the user as it is
    datamodule = instantiate(cfg.data, _partial_=True, _convert_="all")(encoding=encoding)
    module = instantiate(cfg.module, _partial_=True, _convert_="all")(encoding=encoding.to_dict())
    log.info("model %s: %.2f M parameters", cfg.model.name, count_parameters(module.net) / 1e6)
    patience = cfg.early_stopping_patience
    trainer = build_trainer(
        cfg.trainer, folder, config=cfg, early_stopping_patience=int(patience) if patience else None,
        extra_callbacks=[RecordSplit(folder / SPLIT_FILE)],
    )
    if trainer.is_global_zero:
        encoding.save(folder / "encoding.json")
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
    adds_parts = isinstance(datamodule, MMTDataModule) and datamodule.layout in PART_LAYOUTS  # (not a baseline's)
    if trainer.is_global_zero and adds_parts:  # the harmony model its sampler uses (mmt.harmony)
        weights, notes = fit_harmony(datamodule.pieces.select(datamodule.splits["train"]), encoding)
        save_harmony(folder / HARMONY_FILE, weights, notes, "train")
    if trainer.is_global_zero:
        print(f"checkpoints: {folder / 'checkpoints'}")
    return folder


main = entry_point("mmt", "train")(run)

if __name__ == "__main__":
    main()
