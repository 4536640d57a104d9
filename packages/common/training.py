"""Build a Lightning Trainer from a Hydra ``trainer`` config, with the project's standard callbacks:
checkpoints (best by the monitored metric + last = latest state, resumable), the full resolved config
saved beside them, CSV and TensorBoard logs, a progress bar, a check that DDP replicas agree, and
optional early stopping and weight averaging (EMA)."""

from __future__ import annotations

import csv
import os
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    EMAWeightAveraging,
    LearningRateMonitor,
    ModelCheckpoint,
    TQDMProgressBar,
)
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.strategies import DDPStrategy
from omegaconf import DictConfig, OmegaConf

from gm_common.errors import ConfigError
from gm_common.files import atomic_write_text


class SaveLast(Callback):
    """Keep ``last.ckpt`` = the latest state (model, optimizer, loops), written after every validation and
    at the end of training (a step or time limit included). Lightning 2.6's ``save_last`` only rewrites
    it when the monitored metric improves, so a resumed run would restart from the best step instead."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._saved_step = -1

    def _save(self, trainer: L.Trainer) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit" or trainer.global_step in (0, self._saved_step):
            return
        self._saved_step = trainer.global_step
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            trainer.save_checkpoint(
                tmp, weights_only=False
            )  # the full state (optimizer, loops); collective call, rank 0 writes
            if trainer.is_global_zero:
                os.replace(tmp, self.path)
        finally:
            if trainer.is_global_zero and tmp.exists():  # a failed write leaves the previous last.ckpt as it was
                tmp.unlink()
        trainer.strategy.barrier("save_last")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer)


class CpuTimeLimit(Callback):
    """Stop training once this process has used ``minutes`` of CPU time (all its threads, counted from
    the start of this fit; a resumed run gets the budget again), the CPU-minutes counterpart of
    Lightning's wall-clock ``max_time``: on a shared machine a run gets the same compute as on a quiet one."""

    def __init__(self, minutes: float):
        if minutes <= 0:
            raise ConfigError(f"trainer.max_cpu_minutes={minutes} must be positive")
        self.seconds = 60.0 * minutes
        self._start = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.process_time()

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if time.process_time() - self._start >= self.seconds:
            trainer.should_stop = True


class ReplicaCheck(Callback):
    """Under DDP, check after every validation and at the end that all ranks hold the same weights (a
    float64 sum and sum of squares of every parameter, gathered from each rank); a replica that drifted
    (rank-dependent code, a skipped all-reduce) stops training with an error instead of a silently wrong
    model. Rank 0 prints ``weights agree across N ranks`` when training ends."""

    def __init__(self, rtol: float = 1e-6):
        self.rtol = rtol

    def _check(self, trainer: L.Trainer, pl_module: L.LightningModule) -> torch.Tensor | None:
        if trainer.world_size < 2 or trainer.sanity_checking or not isinstance(trainer.strategy, DDPStrategy):
            return None  # only DDP keeps full replicas (FSDP ranks hold different shards by design)
        params = [p.detach().double() for p in pl_module.parameters()]
        mine = torch.stack([sum(p.sum() for p in params), sum(p.square().sum() for p in params)])
        every = trainer.strategy.all_gather(mine.to(pl_module.device)).view(trainer.world_size, 2).cpu()
        scale = every.abs().max(dim=0).values.clamp(min=1e-12)
        spread = ((every - every[0]).abs().max(dim=0).values / scale).max()
        if float(spread) > self.rtol:
            raise RuntimeError(
                f"DDP ranks disagree on the weights at step {trainer.global_step}: fingerprints {every.tolist()}"
            )
        return every

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._check(trainer, pl_module) is not None and trainer.is_global_zero:
            print(f"weights agree across {trainer.world_size} ranks at step {trainer.global_step}", flush=True)


class SaveConfig(Callback):
    """Write the run's full resolved config to ``<checkpoints>/config.yaml`` (rank 0 only)."""

    def __init__(self, config: DictConfig | dict, folder: str | Path):
        self.text = OmegaConf.to_yaml(config, resolve=True)
        self.folder = Path(folder)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.is_global_zero:
            atomic_write_text(self.folder / "config.yaml", self.text)


class _KeepingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:  # Lightning's deletes an existing metrics.csv here
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as f:
                self.metrics_keys = sorted(next(csv.reader(f), []))


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSVLogger, except that a resumed run appends to ``metrics.csv`` instead of deleting the
    rows of the runs before it."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(log_dir=self.log_dir)
        return self._experiment


def loader_options(
    num_workers: int = 0, pin_memory: bool | str = "auto", persistent_workers: bool = True
) -> dict[str, Any]:
    """``DataLoader`` keyword arguments from a data config, the same keys in every toolkit: worker
    processes, pinned host memory (``"auto"``: when a CUDA device is present, where it speeds up the copy
    to the GPU) and workers kept between epochs (meaningful only with workers)."""
    if int(num_workers) < 0:
        raise ConfigError(f"data.num_workers={num_workers} must be >= 0")
    if pin_memory not in (True, False, "auto"):
        raise ConfigError(f"data.pin_memory={pin_memory!r} must be true, false or auto")
    pin = torch.cuda.is_available() if pin_memory == "auto" else bool(pin_memory)
    return {
        "num_workers": int(num_workers),
        "pin_memory": pin,
        "persistent_workers": bool(persistent_workers) and int(num_workers) > 0,
    }


def build_trainer(
    trainer_cfg: DictConfig | dict,
    run_dir: str | Path,
    config: DictConfig | dict | None = None,
    monitor: str | None = "val/loss",
    mode: str = "min",
    early_stopping_patience: int | None = None,
    extra_callbacks: list[Callback] | None = None,
) -> L.Trainer:
    """A Trainer whose outputs go under ``run_dir`` (``checkpoints/``, ``logs/``, ``tb/``).

    ``trainer_cfg`` holds Trainer keyword arguments (a ``strategy`` may be a ``_target_`` config), plus
    the project's ``progress_refresh_rate``, ``max_cpu_minutes`` (see ``CpuTimeLimit``) and ``ema_decay``:
    keep an exponential moving average of the weights, which validation, checkpoints' ``state_dict`` and the
    model after training hold (the raw weights travel in the checkpoint for resuming).
    """
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    kwargs: dict[str, Any] = OmegaConf.to_container(OmegaConf.create(trainer_cfg), resolve=True)  # type: ignore[assignment]
    if str(kwargs.get("accelerator", "")).lower() in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError("the trainer asks for a GPU (accelerator=gpu), but torch sees none here; use trainer=cpu")
    if isinstance(kwargs.get("strategy"), dict):
        kwargs["strategy"] = instantiate(kwargs["strategy"])
    callbacks: list[Callback] = [
        ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode=mode, save_top_k=1 if monitor else 0),
        SaveLast(ckpt_dir / "last.ckpt"),
        TQDMProgressBar(refresh_rate=max(1, int(kwargs.pop("progress_refresh_rate", 10)))),
        LearningRateMonitor(logging_interval="step"),
        ReplicaCheck(),
    ]
    if config is not None:
        callbacks.append(SaveConfig(config, ckpt_dir))
    if early_stopping_patience and monitor:
        # Checked after validation (not at epoch end): validation may run mid-epoch, and a run resumed
        # mid-epoch has no validation metric yet at its first epoch end.
        callbacks.append(
            EarlyStopping(
                monitor=monitor,
                mode=mode,
                patience=early_stopping_patience,
                check_on_train_epoch_end=False,
                strict=False,
            )
        )
    if kwargs.get("max_cpu_minutes") is not None:
        callbacks.append(CpuTimeLimit(float(kwargs.pop("max_cpu_minutes"))))
    kwargs.pop("max_cpu_minutes", None)
    ema_decay = kwargs.pop("ema_decay", None)
    if ema_decay is not None:
        if not 0.0 < float(ema_decay) < 1.0:
            raise ConfigError(f"trainer.ema_decay={ema_decay} must lie between 0 and 1")
        # After SaveLast: at the end of training SaveLast must write the raw weights before EMA replaces them.
        callbacks.append(EMAWeightAveraging(decay=float(ema_decay)))
    callbacks += extra_callbacks or []
    loggers = [ResumableCSVLogger(run_dir, name="logs", version=""), TensorBoardLogger(run_dir, name="tb", version="")]
    # config.yaml is written into checkpoints/ first, and a resumed run finds its own checkpoints there.
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    return L.Trainer(default_root_dir=run_dir, callbacks=callbacks, logger=loggers, **kwargs)
