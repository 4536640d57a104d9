"""Every config of every mmt group composes and instantiates (as lightning-hydra-template's test_configs.py)."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from gm_common.cli import compose, config_dir
from gm_common.errors import ConfigError
from gm_common.training import build_trainer
from mmt.baselines import BaselineLightning, TokenDataModule
from mmt.data import MMTDataModule
from mmt.model import MMTLightning, count_parameters
from mmt.representation import Encoding

GROUPS = ("model", "data", "experiment", "trainer", "representation")
PRIMARY = ("train", "generate", "evaluate", "analyze_attention", "demo")


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir("mmt") / group).glob("*.yaml"))


CASES = [(group, name) for group in GROUPS for name in options(group)]


def test_every_group_has_configs():
    assert all(options(group) for group in GROUPS)


@pytest.mark.parametrize(("group", "name"), CASES, ids=[f"{g}={n}" for g, n in CASES])
def test_train_config_instantiates(group, name, tmp_path):
    overrides = [f"{group}={name}", f"run_dir={tmp_path}", "data.limit=2"]
    if name == "folder":
        overrides.append(f"data.folder={tmp_path}")
    cfg = compose("mmt", "train", overrides)
    encoding = Encoding(max_beat=cfg.encoding.max_beat, voices=cfg.encoding.voices)
    datamodule = instantiate(cfg.data, _partial_=True, _convert_="all")(encoding=encoding)
    module = instantiate(cfg.module, _partial_=True, _convert_="all")(encoding=encoding.to_dict())
    assert count_parameters(module.net) > 0
    if cfg.representation == "mmt":
        assert isinstance(datamodule, MMTDataModule) and isinstance(module, MMTLightning)
        assert datamodule.max_seq_len <= module.net.max_seq_len
        assert set(module.hparams) == {"model", "encoding", "optim", "data"}
    else:  # a baseline: a GPT-2 over MidiTok tokens of the same pieces
        assert isinstance(datamodule, TokenDataModule) and isinstance(module, BaselineLightning)
        assert datamodule.music.max_seq_len <= module.net.config.n_positions
        assert set(module.hparams) == {"model", "encoding", "optim", "data", "representation", "velocities"}
        assert module.hparams["representation"] == name and datamodule.tok.one_token_stream
    # hyper-parameters are plain data (checkpoints load with weights_only=True)
    assert all(type(v) in (dict, str, bool) for v in module.hparams.values())
    if group == "trainer" and "gpu" in name and not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="GPU"):
            build_trainer(cfg.trainer, tmp_path)
    else:
        assert build_trainer(cfg.trainer, tmp_path).max_steps == cfg.trainer.max_steps


def test_the_embedded_corpus_splits_voices_and_the_folder_experiment_keeps_the_papers_classes(tmp_path):
    assert compose("mmt", "train", []).encoding.voices == "split"
    assert compose("mmt", "train", ["experiment=folder", "data.folder=x"]).encoding.voices == "merged"


@pytest.mark.parametrize("name", PRIMARY)
def test_primary_config_composes(name, tmp_path):
    cfg = compose("mmt", name, [])
    assert cfg and Path(config_dir("mmt") / f"{name}.yaml").is_file()
