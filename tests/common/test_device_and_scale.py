import pytest
import torch

from gm_common.cli import compose
from gm_common.device import autocast_dtype, resolve_device
from gm_common.errors import ConfigError

TRAIN_CONFIGS = [
    ("mmt", "train"),
    ("arranger", "train"),
    ("clipsonic", "train"),
    ("clipsonic", "train_clip"),
    ("clipsonic", "train_prior"),
    ("clipsonic", "train_vocoder"),
]


def test_device_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("gpu0")
    assert autocast_dtype(torch.device("cpu"), "bf16-mixed") is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_asking_for_a_missing_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="torch sees none here"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="torch sees none here"):
        resolve_device("cuda:1")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_a_gpu_trainer_without_a_gpu_fails_before_writing(tmp_path):
    from gm_common.training import build_trainer

    cfg = compose("mmt", "train", ["trainer=gpu"])
    with pytest.raises(ConfigError, match="accelerator=gpu"):
        build_trainer(cfg.trainer, tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("pkg, name", TRAIN_CONFIGS)
def test_slurm_launcher_composes_for_every_training_entry(pkg, name):
    cfg = compose(
        pkg,
        name,
        ["+launcher=slurm", "run_dir=/shared/runs/exp1", "trainer=ddp_gpu", "trainer.num_nodes=2", "trainer.devices=8"],
        hydra=True,
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 8, 8)
    assert cfg.hydra.sweep.dir == "/shared/runs/exp1" and launcher.max_num_timeout > 0
    assert cfg.trainer.num_nodes * cfg.trainer.devices == launcher.nodes * launcher.tasks_per_node


def test_fsdp_config_builds_lightnings_fsdp_strategy():
    from hydra.utils import instantiate
    from lightning.pytorch.strategies import FSDPStrategy

    cfg = compose("mmt", "train", ["trainer=fsdp_gpu"])
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "bf16-mixed"
    assert isinstance(instantiate(cfg.trainer.strategy), FSDPStrategy)
