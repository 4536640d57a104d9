"""``python -m arranger.demo``: the shipped model by default (nothing trained), or ``ckpt=null`` to train one."""

import pytest

from gm_common.cli import compose
from gm_common.notes import read_midi_tracks
from gm_common.render import fluidsynth_available


def _no_training(*_):
    raise AssertionError("the demo trained a model")


def _check_outputs(paths: dict, out, every_part: bool = True) -> None:
    assert all(p.parent == out and p.is_file() for p in paths.values())
    mixture, _, _ = read_midi_tracks(paths["mixture"])
    arranged, _, _ = read_midi_tracks(paths["midi"])
    assert len(mixture) == 1
    parts = ["Soprano", "Alto", "Tenor", "Bass"]
    names = [t[0] for t in arranged]
    assert names == parts if every_part else names == [p for p in parts if p in names]  # a part may get no note
    assert sum(len(t[3]) for t in arranged) == len(mixture[0][3])  # every note of the mixture got a part
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    assert ("wav" in paths) == fluidsynth_available()


def test_demo_arranges_with_the_shipped_model_and_trains_nothing(tmp_path, monkeypatch, capsys):
    from arranger import demo

    monkeypatch.setattr(demo, "train_lstm", _no_training)
    paths = demo.run(compose("arranger", "demo", [f"out_dir={tmp_path}"]))
    _check_outputs(paths, tmp_path)
    assert not (tmp_path / "model").exists()
    accuracy = float(capsys.readouterr().out.split("note accuracy against Bach's own parts ")[1].split("%")[0])
    assert accuracy > 80  # the shipped BiLSTM, far above chance (25 %)


@pytest.mark.slow  # ~40 s: 15 s of training, then two arrangements
def test_demo_without_a_checkpoint_trains_once_and_reuses_the_model(tmp_path, monkeypatch, capsys):
    from arranger import demo

    overrides = ["ckpt=null", "minutes=0.25", f"out_dir={tmp_path}"]
    _check_outputs(demo.run(compose("arranger", "demo", overrides)), tmp_path, every_part=False)  # 15 s of training
    best = tmp_path / "model" / "checkpoints" / "best.ckpt"
    assert "training an online LSTM" in capsys.readouterr().out and best.is_file()
    trained = best.stat().st_mtime_ns

    monkeypatch.setattr(demo, "train_lstm", _no_training)
    _check_outputs(demo.run(compose("arranger", "demo", overrides)), tmp_path, every_part=False)
    assert f"reusing the model trained by an earlier demo: {best}" in capsys.readouterr().out
    assert best.stat().st_mtime_ns == trained
