import os

import pytest
import torch

from gm_common.checkpoint import load_checkpoint, load_model
from gm_common.errors import CheckpointError, ConfigError
from gm_common.pretrained import export_checkpoint, list_pretrained, resolve, save_safetensors, write_card


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _ship(root, name="tiny"):
    net = torch.nn.Linear(3, 2)
    folder = root / name
    save_safetensors(
        folder / "model.safetensors", {f"net.{k}": v for k, v in net.state_dict().items()}, {"model": {"dim": 3}}
    )
    write_card(folder, {"toolkit": "toy", "test": {"accuracy": 0.5}})
    return net


def test_a_shipped_model_loads_by_name_as_fp16_weights(tmp_path):
    net = _ship(tmp_path)
    assert list_pretrained(tmp_path) == {"tiny": {"toolkit": "toy", "test": {"accuracy": 0.5}}}
    path = resolve(tmp_path, "tiny")
    assert path == tmp_path / "tiny" / "model.safetensors"
    loaded, hp = load_model(
        path, lambda hp: torch.nn.Linear(hp["model"]["dim"], 2), "toy", needs=("model",), prefixes=("net.",)
    )
    assert hp == {"model": {"dim": 3}}
    assert loaded.weight.dtype == torch.float32
    assert torch.allclose(loaded.weight, net.weight, atol=1e-3) and not torch.equal(loaded.weight, torch.zeros(2, 3))
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # readable by the group, as any new file


def test_unknown_names_list_the_shipped_ones(tmp_path):
    _ship(tmp_path, "alpha")
    _ship(tmp_path, "beta")
    with pytest.raises(ConfigError, match="unknown pretrained model 'gamma'; shipped: alpha, beta"):
        resolve(tmp_path, "gamma")


def test_paths_resolve_as_user_checkpoints(tmp_path):
    run = tmp_path / "run" / "checkpoints"
    run.mkdir(parents=True)
    torch.save({"state_dict": {}, "hyper_parameters": {}}, run / "last.ckpt")
    assert resolve(tmp_path, tmp_path / "run") == run / "last.ckpt"
    with pytest.raises(CheckpointError, match="not found"):
        resolve(tmp_path, tmp_path / "missing.ckpt")


def test_a_damaged_file_is_a_clear_error(tmp_path):
    _ship(tmp_path)
    path = tmp_path / "tiny" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(path)


def test_export_keeps_only_the_weights_under_a_prefix(tmp_path):
    state = {"net.w": torch.ones(2), "ema_net.module.w": torch.full((2,), 3.0), "ema_net.n_averaged": torch.tensor(5)}
    torch.save(
        {"state_dict": state, "hyper_parameters": {"model": {"kind": "x"}}, "optimizer_states": []}, tmp_path / "a.ckpt"
    )
    out = export_checkpoint(tmp_path / "a.ckpt", tmp_path / "m.safetensors", prefix="ema_net.module.")
    loaded = load_checkpoint(out)
    assert list(loaded["state_dict"]) == ["ema_net.module.w"] and loaded["state_dict"]["ema_net.module.w"].tolist() == [
        3.0,
        3.0,
    ]
    assert loaded["hyper_parameters"] == {"model": {"kind": "x"}}
    with pytest.raises(CheckpointError, match="no weights under"):
        export_checkpoint(tmp_path / "a.ckpt", tmp_path / "n.safetensors", prefix="nope.")
    assert not (tmp_path / "n.safetensors").exists()


def test_the_model_check_names_what_is_missing(tmp_path):
    save_safetensors(tmp_path / "m.safetensors", {"w": torch.ones(1)}, {"other": 1})
    with pytest.raises(CheckpointError, match="not a toy checkpoint .*model"):
        load_model(tmp_path / "m.safetensors", lambda hp: torch.nn.Linear(1, 1), "toy", needs=("model",))
