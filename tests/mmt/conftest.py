"""Shared fixtures: a small chorale cache and a tiny model trained for a few steps (session-wide)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "mmt"
os.environ.setdefault("OMP_NUM_THREADS", "1")


def tiny_overrides(cache_dir: Path, run_dir: Path, steps: int = 3) -> list[str]:
    return [
        "model=tiny",
        "model.dim=32",
        "model.depth=2",
        "model.heads=2",
        "model.max_seq_len=256",
        "data.collections=[bach_chorales]",
        "data.limit=12",
        "data.max_beat=32",
        "data.batch_size=4",
        f"data.cache_dir={cache_dir}",
        f"run_dir={run_dir}",
        f"trainer.max_steps={steps}",
        "trainer.check_val_every_n_epoch=1",
        "trainer.log_every_n_steps=1",
        "+trainer.enable_model_summary=false",
        "optim.warmup_steps=2",
        "optim.decay_end_steps=10",
    ]


def compose_train(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("train", overrides=overrides)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mmt_cache")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, cache_dir) -> Path:
    from mmt.train import train

    run_dir = tmp_path_factory.mktemp("mmt_run")
    train(compose_train(tiny_overrides(cache_dir, run_dir)))
    return run_dir


@pytest.fixture(scope="session")
def tiny_train_cfg(cache_dir):
    """``f(run_dir, steps=3, extra=[])`` -> a composed train config of a tiny, quick run."""

    def make(run_dir: Path, steps: int = 3, extra: list[str] | None = None):
        return compose_train(tiny_overrides(cache_dir, run_dir, steps) + list(extra or []))

    return make


@pytest.fixture(scope="session")
def tiny_cli_overrides(cache_dir):
    return lambda run_dir, steps=3: tiny_overrides(cache_dir, run_dir, steps)
