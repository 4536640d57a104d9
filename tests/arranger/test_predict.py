"""Shipped models (issue 15): a model exported as safetensors + card.json is found by name, loads without
unpickling, predicts as its checkpoint does, and ``Arranger.arrange`` returns music without writing files."""

from pathlib import Path

import muspy
import numpy as np
import pytest
import torch

from arranger import Arranger, predict
from arranger.infer import run as infer
from arranger.representation import collate, make_features
from gm_common.checkpoint import load_checkpoint
from gm_common.cli import compose
from gm_common.errors import CheckpointError, ConfigError
from gm_common.pretrained import print_pretrained, write_card


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, tiny_lstm, tiny_train, cache_dir, ship_model) -> Path:
    root = tmp_path_factory.mktemp("pretrained")
    ship_model(root, "bach_lstm", tiny_lstm, half=False)
    ship_model(root, "bach_lstm_half", tiny_lstm)
    averaged = tiny_train(tmp_path_factory.mktemp("ema"), cache_dir, "bilstm", ["train.ema=0.5", "test=false"])
    ship_model(root, "bach_bilstm", averaged / "checkpoints" / "last.ckpt", half=False)
    return root


def test_a_shipped_model_loads_by_name_and_predicts_as_its_checkpoint(shipped, tiny_lstm, examples):
    notes = examples[0].notes[:, :3]
    by_name = Arranger.from_pretrained("bach_lstm", root=shipped)
    assert by_name.dataset["labels"] == ["Soprano", "Alto", "Tenor", "Bass"] and by_name.model_cfg["use_duration"]
    assert np.array_equal(by_name.logits(notes), Arranger.from_checkpoint(tiny_lstm).logits(notes))
    half = Arranger.from_pretrained("bach_lstm_half", root=shipped)
    assert np.allclose(half.logits(notes), by_name.logits(notes), atol=2e-2)


def test_the_weight_average_is_what_ships(shipped, examples):
    arranger = Arranger.from_pretrained("bach_bilstm", root=shipped)
    state = load_checkpoint(shipped / "bach_bilstm" / "model.safetensors")["state_dict"]
    assert all(k.startswith("ema_net.module.") for k in state)
    key = "lstms.0.weight_ih_l0"
    assert torch.equal(arranger.net.state_dict()[key], state[f"ema_net.module.{key}"])


def test_arrange_returns_music_and_writes_nothing(shipped, song, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(song.parent.iterdir())
    arranger = Arranger.from_pretrained("bach_lstm", root=shipped)
    music = arranger.arrange(song)
    assert isinstance(music, muspy.Music) and [t.program for t in music.tracks] == [73, 68, 71, 70, 0]
    assert sum(len(t.notes) for t in music.tracks) == sum(len(t.notes) for t in muspy.read_midi(song).tracks)
    again = arranger.arrange(muspy.read_midi(song), programs=[0, 1, 2, 3])
    assert [t.program for t in again.tracks[:4]] == [0, 1, 2, 3]
    assert [len(t.notes) for t in again.tracks] == [len(t.notes) for t in music.tracks]
    assert sorted(song.parent.iterdir()) == before and not any(tmp_path.iterdir())


def test_unknown_name_lists_the_shipped_ones(shipped):
    with pytest.raises(ConfigError, match="bach_bilstm, bach_lstm, bach_lstm_half"):
        Arranger.from_pretrained("bach_transformer", root=shipped)


def test_damaged_weights_are_a_checkpoint_error(shipped, tmp_path):
    root = tmp_path / "root"
    (root / "broken").mkdir(parents=True)
    data = (shipped / "bach_lstm" / "model.safetensors").read_bytes()
    (root / "broken" / "model.safetensors").write_bytes(data[: len(data) // 2])
    write_card(root / "broken", {"summary": "half a file"})
    with pytest.raises(CheckpointError, match="damaged"):
        Arranger.from_pretrained("broken", root=root)


def test_infer_by_name_lists_models_and_fails_cleanly(shipped, song, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(predict, "PRETRAINED", shipped)
    out = tmp_path / "out"
    assert set(print_pretrained(shipped)) == {"bach_bilstm", "bach_lstm", "bach_lstm_half"}
    assert "bach_lstm_half     tiny test model bach_lstm_half" in capsys.readouterr().out
    assert infer(compose("arranger", "infer", ["list_models=true", f"output_dir={out}"])) == {}
    with pytest.raises(ConfigError, match="shipped: bach_bilstm"):
        infer(compose("arranger", "infer", [f"input={song}", "ckpt=nope", f"output_dir={out}"]))
    (shipped / "bad").mkdir()
    (shipped / "bad" / "model.safetensors").write_bytes(b"garbage")
    write_card(shipped / "bad", {"summary": "garbage"})
    with pytest.raises(CheckpointError):
        infer(compose("arranger", "infer", [f"input={song}", "ckpt=bad", f"output_dir={out}"]))
    assert not out.exists()
    paths = infer(compose("arranger", "infer", [f"input={song}", "ckpt=bach_lstm", f"output_dir={out}"]))
    assert paths["midi"].is_file() and paths["png"].is_file()


def test_the_default_model_is_bach_bilstm():
    assert compose("arranger", "infer").ckpt == "bach_bilstm"
    assert predict.PRETRAINED == Path(predict.__file__).parent / "pretrained"


def test_a_checkpoint_of_the_earlier_layout_loads(tiny_lstm, tmp_path, examples):
    """The shipped models come from commit bac9ecd: no monitor/patience, the schedule under ``name``."""
    ckpt = torch.load(tiny_lstm, weights_only=True)
    keys = ("model", "dataset", "lr", "lr_decay_patience", "weight_decay", "ema")
    ckpt["hyper_parameters"] = {k: ckpt["hyper_parameters"][k] for k in keys}
    ckpt["hyper_parameters"]["schedule"] = {"name": "cosine", "total_steps": 10, "warmup_steps": 1, "floor": 0.01}
    old = tmp_path / "old.ckpt"
    torch.save(ckpt, old)
    notes = examples[0].notes[:, :3]
    assert np.array_equal(
        Arranger.from_checkpoint(old).logits(notes), Arranger.from_checkpoint(tiny_lstm).logits(notes)
    )


def test_device_cpu_and_auto_predict_as_the_net_on_the_cpu(tiny_lstm, examples):
    notes = examples[0].notes[:, :3]
    cpu = Arranger.from_checkpoint(tiny_lstm, device="cpu")
    with torch.inference_mode():  # the prediction as it was before device=: the net called on CPU tensors
        expected = cpu.net(collate([make_features(notes, 4)]))[0].argmax(-1).numpy()
    assert cpu.device == torch.device("cpu") and cpu.autocast is None
    assert np.array_equal(cpu.predict(notes), expected)
    auto = Arranger.from_checkpoint(tiny_lstm, device="auto")
    assert auto.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert {p.device for p in auto.net.parameters()} == {auto.device}
    parts = auto.predict(notes)
    assert isinstance(parts, np.ndarray) and parts.dtype == np.int64
    if auto.device.type == "cpu":
        assert np.array_equal(parts, expected)
    else:
        assert (parts == expected).mean() > 0.99
    mixed = Arranger.from_checkpoint(tiny_lstm, device="cpu", precision="bf16-mixed")
    assert mixed.autocast is None and np.array_equal(mixed.predict(notes), expected)  # no autocast on the CPU


def test_device_errors_come_before_loading(shipped, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError, match="asks for a GPU"):
            Arranger.from_pretrained("bach_lstm", root=shipped, device=device)
    with pytest.raises(ConfigError, match="expected auto, cpu, cuda or cuda:N"):
        Arranger.from_checkpoint(tmp_path / "missing.ckpt", device="gpu")
    with pytest.raises(ConfigError, match="precision='bf16'"):
        Arranger.from_pretrained("bach_lstm", root=shipped, precision="bf16")
