import json
import os
import subprocess
import sys

import pytest
import torch
from hydra.errors import ConfigCompositionException

from arranger.predict import Arranger
from gm_common.checkpoint import load_checkpoint
from gm_common.cli import compose
from gm_common.errors import CheckpointError
from gm_common.files import OutputExistsError
from tests.common.resume import CaptureStart

N_CHORALES = 12


def test_train_writes_weights_only_checkpoint_and_metrics(tiny_lstm):
    ckpt = load_checkpoint(tiny_lstm)  # weights_only=True
    hp = ckpt["hyper_parameters"]
    assert hp["dataset"]["labels"] == ["Soprano", "Alto", "Tenor", "Bass"] and hp["model"]["use_duration"] is True
    run_dir = tiny_lstm.parents[1]
    metrics = json.loads((run_dir / "test_metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["pieces"] >= 1
    assert (run_dir / "checkpoints" / "config.yaml").is_file()
    arranger = Arranger.from_checkpoint(tiny_lstm, expect_dataset="bach")
    assert arranger.online and not arranger.needs_hints


def test_resume_restores_step_optimizer_schedule_and_average(tmp_path, cache_dir, tiny_train, monkeypatch):
    import gm_common.training

    extra = ["train.ema=0.5", "train.schedule={shape:cosine,total_steps:10,warmup_steps:1,floor:0.1}", "test=false"]
    run_dir = tiny_train(tmp_path, cache_dir, "lstm", ["trainer.max_steps=2", *extra])
    saved = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert saved["global_step"] == 2
    capture = CaptureStart()
    build = gm_common.training.build_trainer
    monkeypatch.setattr(gm_common.training, "build_trainer", lambda *a, **k: build(*a, **k, extra_callbacks=[capture]))
    tiny_train(tmp_path, cache_dir, "lstm", ["trainer.max_steps=3", "ckpt_path=last", *extra])
    assert_resumed_from(capture.state, saved)
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 3


def assert_resumed_from(start: dict, saved: dict) -> None:
    """The run started from ``saved``: a fresh run would start at step 0 with an empty optimizer, the schedule at
    0 and the initial weights (and average)."""
    step = saved["global_step"]
    assert step > 0 and start["global_step"] == step and start["scheduler_epoch"] == step
    assert int(start["weights"]["ema_net.n_averaged"]) == step
    for key, value in saved["state_dict"].items():
        assert torch.equal(start["weights"][key], value), key
    restored, stored = start["optimizer"]["state"], saved["optimizer_states"][0]["state"]
    assert restored.keys() == stored.keys() and len(stored) > 0
    for i in stored:
        assert torch.equal(restored[i]["exp_avg"], stored[i]["exp_avg"]) and float(restored[i]["step"]) == step


def test_resume_last_without_a_checkpoint_is_an_error(tmp_path, cache_dir, tiny_train):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        tiny_train(tmp_path, cache_dir, "lstm", ["ckpt_path=last", "test=false"])
    assert not (tmp_path / "run_lstm" / "checkpoints" / "last.ckpt").exists()


def test_a_fresh_run_into_a_run_dir_with_checkpoints_is_an_error(tmp_path, cache_dir, tiny_train):
    run_dir = tiny_train(tmp_path, cache_dir, "lstm", ["trainer.max_steps=1", "test=false"])
    last = run_dir / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    with pytest.raises(OutputExistsError, match="holds an earlier run's checkpoints .*resume it with ckpt_path=last"):
        tiny_train(tmp_path, cache_dir, "lstm", ["trainer.max_steps=2", "test=false"])
    assert last.read_bytes() == before
    tiny_train(tmp_path, cache_dir, "lstm", ["trainer.max_steps=2", "test=false", "ckpt_path=auto"])  # resumes
    assert load_checkpoint(last)["global_step"] == 2


def test_resume_from_a_damaged_last_checkpoint_is_an_error_naming_it(tmp_path, cache_dir, tiny_train):
    last = tmp_path / "run_lstm" / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(CheckpointError) as err:
        tiny_train(tmp_path, cache_dir, "lstm", ["ckpt_path=last", "test=false"])
    assert str(err.value).startswith(f"cannot load checkpoint {last} safely: it is damaged")
    assert "weights_only" not in str(err.value) and last.read_bytes() == b"PK\x03\x04 cut short"


def test_bad_config_keys_are_errors():
    for override in ("train.lrr=1", "model.hiden=3", "data.crops=3", "trainer.max_stepz=1"):
        with pytest.raises(ConfigCompositionException):
            compose("arranger", "train", [override])


def test_baselines_fit_and_test(tmp_path, cache_dir, tiny_train):
    for model in ("zone", "closest_pitch_mono", "most_common"):
        run_dir = tiny_train(tmp_path, cache_dir, model)
        metrics = json.loads((run_dir / "test_metrics.json").read_text())
        assert metrics["model"] == model
    # zone learns something on chorales
    assert json.loads((tmp_path / "run_zone" / "test_metrics.json").read_text())["accuracy"] > 0.5


def test_bilstm_with_hints_trains(tmp_path, cache_dir, tiny_train):
    run_dir = tiny_train(tmp_path, cache_dir, "bilstm_hints", ["trainer.max_steps=2"])
    arranger = Arranger.from_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert arranger.needs_hints and not arranger.online


def test_ddp_cpu_two_processes(tmp_path, cache_dir, repo_root):
    run_dir = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "arranger.train", "trainer=ddp_cpu", "experiment=tiny", f"run_dir={run_dir}",
           f"data.cache_dir={cache_dir}", f"data.limit={N_CHORALES}", "trainer.max_steps=2",
           "trainer.progress_refresh_rate=1000", "data.num_workers=1", "data.persistent_workers=true"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(repo_root / "packages"))
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 2
    assert (run_dir / "test_metrics.json").is_file()
    assert proc.stdout.count("weights agree across 2 ranks at step 2") == 1
    # only rank 0 writes checkpoints and outputs: no second copy of anything (rank 1 keeps its own log)
    files = sorted(
        str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and not p.name.startswith("events.")
    )
    assert [f for f in files if not f.startswith((".hydra/", "logs/", "tb/"))] == [
        "checkpoints/best.ckpt", "checkpoints/config.yaml", "checkpoints/last.ckpt", "test_metrics.json", "train.log",
        "train_ddp_process_1.log"]  # fmt: skip
    assert len(list(run_dir.rglob("metrics.csv"))) == 1


def test_init_from_starts_from_the_source_weights(tmp_path, cache_dir, tiny_train, tiny_lstm):
    # with a learning rate of 0 the run's weights stay exactly where init_from put them
    run_dir = tiny_train(
        tmp_path,
        cache_dir,
        "lstm",
        [
            "model.use_duration=true",
            f"init_from={tiny_lstm}",
            "train.lr=0",
            "train.lr_decay_patience=1",
            "trainer.max_steps=2",
            "test=false",
        ],
    )
    source = load_checkpoint(tiny_lstm)["state_dict"]
    trained = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert trained["global_step"] == 2
    weights = {k: v for k, v in trained["state_dict"].items() if k.startswith("net.")}
    assert weights and all(torch.equal(v, source[k]) for k, v in weights.items())
    fresh = tiny_train(
        tmp_path / "fresh",
        cache_dir,
        "lstm",
        ["model.use_duration=true", "train.lr=0", "trainer.max_steps=1", "test=false"],
    )
    fresh_weights = load_checkpoint(fresh / "checkpoints" / "last.ckpt")["state_dict"]
    assert not torch.equal(fresh_weights["net.out.weight"], source["net.out.weight"])


def test_init_from_another_dataset_is_an_error(tmp_path, cache_dir, tiny_train, tiny_lstm):
    ckpt = torch.load(tiny_lstm, weights_only=True)
    ckpt["hyper_parameters"]["dataset"]["name"] = "quartets"
    other = tmp_path / "quartets.ckpt"
    torch.save(ckpt, other)
    with pytest.raises(CheckpointError, match="quartets"):
        tiny_train(tmp_path, cache_dir, "lstm", ["model.use_duration=true", f"init_from={other}", "test=false"])


def test_cosine_schedule_and_length_buckets(tmp_path, cache_dir, tiny_train):
    run_dir = tiny_train(
        tmp_path,
        cache_dir,
        "transformer_dec",
        [
            "model.d_model=16",
            "model.heads=2",
            "model.ff=32",
            "data.length_buckets=2",
            "train.schedule={shape:cosine,total_steps:3,warmup_steps:1,floor:0.1,total_minutes:5}",
            "test=false",
        ],
    )
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 3
    assert ckpt["lr_schedulers"][0]["last_epoch"] == 3


def test_weight_average_is_what_ships(tmp_path, cache_dir, tiny_train):
    run_dir = tiny_train(
        tmp_path,
        cache_dir,
        "bilstm",
        ["train.ema=0.5", "train.weight_decay=0.01", "train.monitor=val/acc", "trainer.max_steps=3", "test=false"],
    )
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    state = ckpt["state_dict"]
    assert "ema_net.n_averaged" in state and int(state["ema_net.n_averaged"]) == 3
    assert ckpt["optimizer_states"][0]["param_groups"][0]["weight_decay"] == 0.01
    # the average lags the trained weights, and inference loads the average
    key = "lstms.0.weight_ih_l0"
    assert not torch.equal(state[f"net.{key}"], state[f"ema_net.module.{key}"])
    arranger = Arranger.from_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert torch.equal(arranger.net.state_dict()[key], state[f"ema_net.module.{key}"])
    assert "val/acc" in next(iter(k for k in ckpt["callbacks"] if k.startswith("ModelCheckpoint")))
