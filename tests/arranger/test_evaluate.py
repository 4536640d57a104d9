import json

import pytest
import torch

from arranger.data import split_examples
from arranger.evaluate import evaluate_arranger, run, run_table
from arranger.predict import Arranger
from gm_common.cli import compose
from gm_common.errors import ConfigError


def test_evaluate_full_length_and_table(tiny_lstm, examples, tmp_path, tiny_train, cache_dir):
    arranger = Arranger.from_checkpoint(tiny_lstm)
    test = split_examples(examples)["test"]
    r = evaluate_arranger(arranger, test)
    assert r["notes"] == sum(len(ex) for ex in test)  # every note, no truncation
    assert set(r) >= {"accuracy", "balanced_accuracy", "soundness", "completeness", "confusion"}
    runs = tmp_path / "runs"
    tiny_train(runs, cache_dir, "zone")
    (runs / "run_zone").rename(runs / "bach_zone")
    data_cfg = compose("arranger", "evaluate", [f"data.cache_dir={cache_dir}", "data.limit=12"]).data
    results = run_table(runs, ["bach"], data_cfg, tmp_path)
    assert "zone" in results and (tmp_path / "confusion_bach_zone.png").is_file()


def test_evaluate_command_keeps_its_results_unless_overwrite(tiny_lstm, cache_dir, tmp_path, monkeypatch, capsys):
    from arranger.evaluate import main
    from tests.common.entry_points import run_main

    out = tmp_path / "eval"
    args = [f"ckpt={tiny_lstm}", f"data.cache_dir={cache_dir}", "data.limit=12", f"run_dir={out}"]
    assert run_main(main, args, monkeypatch, capsys)[0] == 0
    results = json.loads((out / "results.json").read_text())
    assert "bach" in results["lstm"] and list(out.glob("confusion_*.png"))
    before = (out / "results.json").read_bytes()
    status, err = run_main(main, args, monkeypatch, capsys)
    assert (status, err) == (2, f"error: {out / 'results.json'} already exists; pass overwrite=true to replace it\n")
    assert (out / "results.json").read_bytes() == before
    assert run_main(main, [*args, "overwrite=true", "confusion_png=false"], monkeypatch, capsys)[0] == 0


def test_a_table_with_no_runs_is_an_error_that_writes_nothing(tmp_path):
    cfg = compose("arranger", "evaluate", ["table=true", f"runs_root={tmp_path / 'runs'}", f"run_dir={tmp_path / 'e'}"])
    with pytest.raises(ConfigError, match=f"table=true: no runs to evaluate under {tmp_path / 'runs'} "):
        run(cfg)
    assert not (tmp_path / "e").exists()


def test_evaluate_without_a_checkpoint_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="ckpt="):
        run(compose("arranger", "evaluate", [f"run_dir={tmp_path / 'eval'}"]))
    assert not (tmp_path / "eval" / "results.json").exists()


def test_evaluate_device_option(tiny_lstm, cache_dir, tmp_path, monkeypatch):
    overrides = [f"ckpt={tiny_lstm}", f"data.cache_dir={cache_dir}", "data.limit=12", "confusion_png=false"]
    with monkeypatch.context() as m:
        m.setattr(torch.cuda, "is_available", lambda: False)
        with pytest.raises(ConfigError, match="device=cuda asks for a GPU"):
            run(compose("arranger", "evaluate", [*overrides, "device=cuda", f"run_dir={tmp_path / 'gpu'}"]))
    assert not (tmp_path / "gpu").exists()
    with pytest.raises(ConfigError, match="precision"):
        run(compose("arranger", "evaluate", [*overrides, "precision=bf16", f"run_dir={tmp_path / 'bad'}"]))
    assert not (tmp_path / "bad").exists()
    results = {
        d: run(compose("arranger", "evaluate", [*overrides, f"device={d}", f"run_dir={tmp_path / d}"]))
        for d in ("cpu", "auto")
    }
    cpu, auto = results["cpu"]["lstm"]["bach"], results["auto"]["lstm"]["bach"]
    assert cpu["device"] == "cpu" and auto["device"] == ("cuda:0" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        assert cpu["confusion"] == auto["confusion"]
