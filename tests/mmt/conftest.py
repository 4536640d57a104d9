"""Shared fixtures: a small chorale cache, a tiny model trained for a few steps, and the same model shipped
into a temporary ``pretrained`` root (session-wide)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gm_common.cli import compose
from gm_common.pretrained import export_checkpoint, write_card

os.environ.setdefault("OMP_NUM_THREADS", "1")
SHIPPED = "tiny_test"  # test_pipeline.py loads it by this name


def tiny_overrides(cache_dir: Path, run_dir: Path, steps: int = 3) -> list[str]:
    """Overrides of mmt.train for a tiny model on 12 chorales, ``steps`` optimizer steps."""
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


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mmt_cache")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, cache_dir) -> Path:
    from mmt.train import run

    run_dir = tmp_path_factory.mktemp("mmt_run")
    run(compose("mmt", "train", tiny_overrides(cache_dir, run_dir)))
    return run_dir


@pytest.fixture(scope="session")
def infill_run(tmp_path_factory, cache_dir) -> Path:
    """The tiny run of :func:`trained_run` in the infill layout (``data.layout=infill``), 3 steps: a model that adds
    parts."""
    from mmt.train import run

    run_dir = tmp_path_factory.mktemp("mmt_infill_run")
    run(compose("mmt", "train", tiny_overrides(cache_dir, run_dir) + ["data.layout=infill", "data.drop_parts=0.3"]))
    return run_dir


@pytest.fixture(scope="session")
def playing_infill(tmp_path_factory, infill_run) -> Path:
    """The infill run's weights with the type head biased against end-of-song (``.safetensors``), beside its split and
    harmony model as a shipped model's: an untrained model may end a part at once, and the tests of adding a part
    need its notes."""
    from gm_common.checkpoint import load_checkpoint
    from gm_common.pretrained import save_safetensors
    from mmt.data import SPLIT_FILE
    from mmt.harmony import HARMONY_FILE
    from mmt.representation import TYPE_EOS

    ckpt = load_checkpoint(infill_run / "checkpoints" / "last.ckpt")
    state = {k: v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    state["net.head.bias"] = state["net.head.bias"].clone()
    state["net.head.bias"][TYPE_EOS] -= 50.0
    folder = tmp_path_factory.mktemp("playing_infill")
    for name in (SPLIT_FILE, HARMONY_FILE):
        shutil.copy(infill_run / name, folder / name)
    return save_safetensors(folder / "model.safetensors", state, ckpt["hyper_parameters"], half=False)


@pytest.fixture(scope="session")
def pretrained_root(tmp_path_factory, trained_run) -> Path:
    """A ``pretrained`` root holding the trained run as shipped model :data:`SHIPPED` (as scripts/pretrained.py
    exports one: weights under ``net.``, fp16, with the checkpoint's hyper-parameters)."""
    root = tmp_path_factory.mktemp("pretrained")
    export_checkpoint(trained_run / "checkpoints" / "last.ckpt", root / SHIPPED / "model.safetensors", prefix="net.")
    write_card(root / SHIPPED, {"summary": "a tiny MMT trained for 3 steps on 12 chorales (tests)"})
    return root


@pytest.fixture(scope="session")
def tiny_train_cfg(cache_dir):
    """``f(run_dir, steps=3, extra=[])`` -> a composed train config of a tiny, quick run."""

    def make(run_dir: Path, steps: int = 3, extra: list[str] | None = None):
        return compose("mmt", "train", tiny_overrides(cache_dir, run_dir, steps) + list(extra or []))

    return make


@pytest.fixture(scope="session")
def tiny_cli_overrides(cache_dir):
    return lambda run_dir, steps=3: tiny_overrides(cache_dir, run_dir, steps)


@pytest.fixture(scope="session")
def baseline_runs(tmp_path_factory, tiny_train_cfg) -> dict[str, Path]:
    """A tiny run of each baseline (``mmt.train representation=remi_plus|mmm``), 3 steps on the tiny MMT run's data."""
    from mmt.baselines import BASELINES
    from mmt.train import run

    return {
        name: run(tiny_train_cfg(tmp_path_factory.mktemp(name), extra=[f"representation={name}"])) for name in BASELINES
    }
