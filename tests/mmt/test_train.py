import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from gm_common.checkpoint import load_checkpoint
from mmt.model import load_model
from mmt.representation import Encoding

ROOT = Path(__file__).resolve().parents[2]


def test_trained_run_layout(trained_run):
    ckpts = trained_run / "checkpoints"
    assert (ckpts / "last.ckpt").is_file() and (ckpts / "best.ckpt").is_file()
    cfg = yaml.safe_load((ckpts / "config.yaml").read_text())
    assert cfg["model"]["dim"] == 32 and cfg["optim"]["warmup_steps"] == 2
    assert Encoding.load(trained_run / "encoding.json") == Encoding()
    ckpt = load_checkpoint(ckpts / "last.ckpt")  # weights_only=True
    assert ckpt["global_step"] == 3 and ckpt["hyper_parameters"]["encoding"] == Encoding().to_dict()
    assert (trained_run / "logs" / "metrics.csv").read_text().count("val/loss") >= 1
    net, enc, _ = load_model(ckpts / "last.ckpt")
    assert net.dim == 32 and enc == Encoding()


def test_resume_from_last(tmp_path, tiny_train_cfg):
    from mmt.train import train

    train(tiny_train_cfg(tmp_path, steps=1))  # stops mid-epoch
    assert load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] == 1
    train(tiny_train_cfg(tmp_path, steps=4, extra=["ckpt_path=last"]))
    # continued from step 1 (Lightning restarts a mid-epoch resume at the next epoch boundary)
    assert load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] >= 3


def test_ddp_two_cpu_processes(tmp_path, trained_run, tiny_cli_overrides):
    # trained_run has filled the data cache, so both ranks only read it
    run_dir = tmp_path / "ddp"
    overrides = [o for o in tiny_cli_overrides(run_dir, 2) if not o.lstrip("+").startswith("trainer.")]
    cmd = [sys.executable, "-m", "mmt.train", "trainer=ddp_cpu", "trainer.max_steps=2", "trainer.check_val_every_n_epoch=1",
           "+trainer.enable_model_summary=false", *overrides]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpts = run_dir / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["best.ckpt", "config.yaml", "last.ckpt"]
    assert not list(tmp_path.glob("ddp?*")), "a second run folder was created"
    assert load_checkpoint(ckpts / "last.ckpt")["global_step"] == 2
    assert proc.stdout.count("checkpoints:") == 1
    assert proc.stdout.count("weights agree across 2 ranks at step 2") == 1
    # only rank 0 writes checkpoints and outputs: the files of a one-process run, plus rank 1's own log
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith("tb/events.")] == [
        ".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "checkpoints/best.ckpt",
        "checkpoints/config.yaml", "checkpoints/last.ckpt", "encoding.json", "logs/hparams.yaml", "logs/metrics.csv",
        "tb/hparams.yaml", "train.log", "train_ddp_process_1.log"]  # fmt: skip
    assert len([f for f in files if f.startswith("tb/events.")]) == 1
    assert torch.distributed.is_available()


@pytest.mark.parametrize("bad", ["data.max_beat=512"])
def test_bad_config_is_a_clear_error(tmp_path, tiny_train_cfg, bad):
    from gm_common.errors import ConfigError
    from mmt.train import train

    with pytest.raises(ConfigError, match="max_beat"):
        train(tiny_train_cfg(tmp_path, extra=[bad]))


def test_dataloader_workers_are_configurable(tmp_path, tiny_train_cfg):
    from mmt.train import train

    cfg = tiny_train_cfg(tmp_path, steps=2, extra=["data.num_workers=1", "data.persistent_workers=true", "data.pin_memory=false"])
    train(cfg)
    assert load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] == 2
