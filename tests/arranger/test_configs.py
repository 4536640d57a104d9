"""Every config of every arranger group composes and instantiates (as lightning-hydra-template's test_configs)."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from arranger.baselines import BASELINES, Baseline
from arranger.lightning import ArrangerData, ArrangerModule
from gm_common.cli import compose, config_dir
from gm_common.errors import ConfigError
from gm_common.training import build_trainer

GROUPS = config_dir("arranger")


def names(group: str) -> list[str]:
    return sorted(p.stem for p in (GROUPS / group).glob("*.yaml"))


def build(cfg):
    """The datamodule and the LightningModule (or fitted-baseline object) a train config describes."""
    data = instantiate(cfg.data, seed=cfg.seed, _convert_="all")
    model = OmegaConf.to_container(cfg.model, resolve=True)
    if model["kind"] in BASELINES:
        return data, Baseline(model["kind"], data.n_parts)
    return data, instantiate(cfg.train, model=model, dataset=data.spec.as_dict(), _convert_="all")


def test_every_group_has_configs():
    assert {"data", "model", "experiment", "trainer"} <= {p.name for p in GROUPS.iterdir() if p.is_dir()}
    assert len(names("model")) == 15 and len(names("data")) == 4


@pytest.mark.parametrize("model", names("model"))
def test_model_configs(model):
    data, module = build(compose("arranger", "train", [f"model={model}"]))
    assert isinstance(data, ArrangerData)
    if isinstance(module, ArrangerModule):
        batch = {
            "pitch": torch.full((1, 5), 60),
            "position": torch.zeros(1, 5, dtype=torch.long),
            "beat": torch.arange(5)[None],
            "duration": torch.full((1, 5), 24),
            "time": torch.arange(5)[None] * 24,
            "entry": torch.zeros(1, 5, 4),
            "pitch_hint": torch.zeros(1, 4, 2),
            "mask": torch.ones(1, 5, dtype=bool),
        }
        assert module.eval()(batch).shape == (1, 5, 4)
        assert module.hparams.model["name"] == model  # plain data: weights-only checkpoints
    else:
        assert module.kind == model


@pytest.mark.parametrize("dataset", names("data"))
def test_data_configs(dataset, cache_dir):
    overrides = [f"data={dataset}", f"data.cache_dir={cache_dir}", "data.limit=12"]
    data, _ = build(compose("arranger", "train", overrides))
    assert data.spec.name == dataset and data.batch_size == 16 and data.crop == 500
    if data.spec.source == "folder":  # game, pop: a user's folder of MIDI files, which must be given
        with pytest.raises(ConfigError, match="data.folder"):
            data.setup()
    elif dataset == "bach":  # quartets (slow to convert) is loaded by the benchmarks, not here
        data.setup()
        assert sum(map(len, data.splits.values())) >= 10


@pytest.mark.parametrize("experiment", names("experiment"))
def test_experiment_configs(experiment):
    cfg = compose("arranger", "train", [f"experiment={experiment}", "model=bilstm"])
    data, module = build(cfg)
    if experiment == "cpu30":
        assert module.hparams.schedule["shape"] == "cosine" and data.length_buckets == 8
        assert module.configure_optimizers()["lr_scheduler"]["interval"] == "step"
    else:
        assert data.limit == 12 and module.net.lstms[0].hidden_size == 16


@pytest.mark.parametrize("trainer", names("trainer"))
def test_trainer_configs(trainer, tmp_path):
    cfg = compose("arranger", "train", [f"trainer={trainer}"])
    if cfg.trainer.accelerator == "gpu" and not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="GPU"):
            build_trainer(cfg.trainer, tmp_path)
        return
    assert build_trainer(cfg.trainer, tmp_path).max_steps == 20000


@pytest.mark.parametrize("name", sorted(p.stem for p in GROUPS.glob("*.yaml")))
def test_primary_configs_compose(name):
    cfg = compose("arranger", name)
    assert OmegaConf.to_container(cfg, resolve=True)
    assert Path(cfg.run_dir)
