import json
import subprocess
import sys

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


def test_evaluate_cli(tiny_lstm, cache_dir, tmp_path, repo_root):
    out = tmp_path / "eval"
    cmd = [
        sys.executable,
        "-m",
        "arranger.evaluate",
        f"ckpt={tiny_lstm}",
        f"data.cache_dir={cache_dir}",
        "data.limit=12",
        f"run_dir={out}",
    ]
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert "bach" in results["lstm"] and list(out.glob("confusion_*.png"))
    assert "lstm" in proc.stdout


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
