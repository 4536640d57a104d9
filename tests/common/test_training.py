import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from gm_common.checkpoint import load_checkpoint, resolve_resume
from gm_common.errors import CheckpointError, ConfigError
from gm_common.files import OutputExistsError
from gm_common.training import build_trainer
from tests.common.resume import kill_after_checkpoint

SCRIPT = Path(__file__).with_name("tiny_lightning.py")


def _train(run_dir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--run-dir", str(run_dir), *args], capture_output=True, text=True, timeout=300
    )
    if ok:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_single_cpu_trains_saves_config_and_checkpoints(tmp_path):
    _train(tmp_path, "--trainer", "cpu", "--max-steps", "8")  # one epoch of 8 batches, then validation
    ckpt_dir = tmp_path / "checkpoints"
    assert (ckpt_dir / "last.ckpt").is_file() and (ckpt_dir / "best.ckpt").is_file()
    saved = yaml.safe_load((ckpt_dir / "config.yaml").read_text())
    assert saved["trainer"]["accelerator"] == "cpu" and saved["trainer"]["max_steps"] == 8
    state = load_checkpoint(ckpt_dir / "last.ckpt")  # weights_only=True
    assert state["global_step"] == 8
    assert (tmp_path / "logs" / "metrics.csv").is_file()


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    """SIGKILL a run part-way; the resumed run takes only the remaining steps and ends with the same weights,
    optimizer momentum and learning-rate position as an uninterrupted run of the same seed."""
    killed = tmp_path / "killed"
    cmd = [sys.executable, str(SCRIPT), "--run-dir", str(killed), "--max-steps", "100000"]
    stopped = kill_after_checkpoint(cmd, killed / "checkpoints" / "last.ckpt", 16)["global_step"]
    assert stopped >= 16 and stopped % 8 == 0  # saved after a validation (every epoch of 8 batches)
    total = stopped + 16
    _train(killed, "--max-steps", str(total), "--ckpt-path", "last")
    _train(tmp_path / "straight", "--max-steps", str(total))
    resumed = json.loads((killed / "rank0.json").read_text())
    straight = json.loads((tmp_path / "straight" / "rank0.json").read_text())
    assert resumed["global_step"] == straight["global_step"] == total
    assert resumed["steps_run"] == 16 and straight["steps_run"] == total  # a fresh run would take them all
    assert resumed["checksum"] == pytest.approx(straight["checksum"], rel=1e-6)
    a, b = (load_checkpoint(d / "checkpoints" / "last.ckpt") for d in (killed, tmp_path / "straight"))
    assert a["lr_schedulers"][0]["last_epoch"] == b["lr_schedulers"][0]["last_epoch"] == total
    mom_a, mom_b = (c["optimizer_states"][0]["state"][0]["momentum_buffer"] for c in (a, b))
    assert mom_a.abs().sum() > 0 and (mom_a - mom_b).abs().max() < 1e-5


def test_last_checkpoint_is_the_latest_step_even_without_improvement(tmp_path):
    # lr=0: the validation loss never improves, and training stops mid-epoch at its step limit.
    _train(tmp_path, "--trainer", "cpu", "--max-steps", "20", "--lr", "0")
    assert load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] == 20
    assert load_checkpoint(tmp_path / "checkpoints" / "best.ckpt")["global_step"] == 8


def test_ema_checkpoints_hold_the_average_and_resume_exactly(tmp_path):
    """With trainer.ema_decay the checkpoint's state_dict is the moving average (what export and validation
    use), the raw weights ride along, and a run stopped and resumed ends with the same average as one
    straight run."""
    _train(tmp_path / "a", "--max-steps", "16", "--ema-decay", "0.8")
    first = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.ckpt")
    ema, raw = first["state_dict"], first["current_model_state"]
    assert set(ema) == set(raw) and max(float((ema[k] - raw[k]).abs().max()) for k in ema) > 1e-4
    _train(tmp_path / "a", "--max-steps", "24", "--ema-decay", "0.8", "--ckpt-path", "last")
    _train(tmp_path / "b", "--max-steps", "24", "--ema-decay", "0.8")
    a, b = (load_checkpoint(tmp_path / d / "checkpoints" / "last.ckpt") for d in "ab")
    assert a["global_step"] == b["global_step"] == 24
    for key in ("state_dict", "current_model_state"):
        assert all(torch.allclose(a[key][k], b[key][k], atol=1e-6) for k in a[key])
    with pytest.raises(ConfigError, match="ema_decay"):
        build_trainer({"accelerator": "cpu", "ema_decay": 1.5}, tmp_path / "c")


def test_a_resumed_run_keeps_the_metrics_of_the_runs_before(tmp_path):
    _train(tmp_path, "--max-steps", "8")
    _train(tmp_path, "--max-steps", "16", "--ckpt-path", "last")
    with open(tmp_path / "logs" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows if r.get("train/loss")]
    assert min(steps) < 8 <= max(steps) and len([r for r in rows if r.get("val/loss")]) == 2


def test_ddp_on_cpu_two_processes(tmp_path):
    cache = tmp_path / "cache"
    proc = _train(
        tmp_path, "--trainer", "ddp_cpu", "--max-steps", "4", "--corpus-cache", str(cache)
    )  # 4 batches per rank = one epoch
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world_size"] == 2 and r["global_step"] == 4 for r in ranks)
    # The corpus cache was converted once, by rank 0; rank 1 read it.
    assert [r["parsed"] for r in ranks] == [3, 0] and len(list(cache.glob("pieces-*"))) == 1
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], abs=1e-9)
    assert proc.stdout.count("weights agree across 2 ranks at step 4") == 1
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["best.ckpt", "config.yaml", "last.ckpt"]


def test_ddp_replicas_that_drift_stop_training(tmp_path):
    proc = _train(tmp_path, "--trainer", "ddp_cpu", "--max-steps", "4", "--desync", ok=False)
    assert proc.returncode != 0 and "DDP ranks disagree on the weights at step 4" in proc.stderr


def test_resume_paths(tmp_path):
    assert resolve_resume(None, tmp_path) is None
    with pytest.raises(CheckpointError, match=f"nothing to resume in {tmp_path / 'checkpoints'}"):
        resolve_resume("last", tmp_path)  # asked to resume, nothing there: an error, never a silent fresh run
    assert resolve_resume("auto", tmp_path) is None  # auto: nothing to resume yet, so a fresh run
    (tmp_path / "checkpoints").mkdir()
    torch.save({"state_dict": {}, "global_step": 3}, tmp_path / "checkpoints" / "last.ckpt")
    assert (
        resolve_resume("auto", tmp_path)
        == resolve_resume("last", tmp_path)
        == str(tmp_path / "checkpoints" / "last.ckpt")
    )
    with pytest.raises(OutputExistsError) as err:  # a fresh run would replace the earlier run's checkpoints
        resolve_resume(None, tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'checkpoints'} holds an earlier run's checkpoints (last.ckpt); resume it with ckpt_path=last "
        "(or auto), or train into another run_dir"
    )
    with pytest.raises(CheckpointError, match="not found"):
        resolve_resume(tmp_path / "nope.ckpt", tmp_path)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.ckpt")


class _NotWeights:
    pass


@pytest.mark.parametrize("content", ["truncated", "unsafe"])
def test_a_damaged_or_unsafe_last_checkpoint_is_refused_without_advice_to_load_it_unsafely(tmp_path, content):
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    torch.save({"state_dict": {"w": torch.ones(3)}, "extra": _NotWeights()}, last)
    if content == "truncated":
        last.write_bytes(last.read_bytes()[:50])
    for ckpt_path in ("last", "auto", last):
        with pytest.raises(CheckpointError) as err:
            resolve_resume(ckpt_path, tmp_path)
        assert str(err.value).startswith(f"cannot load checkpoint {last} safely: it is damaged or holds more than")
        assert "weights_only" not in str(err.value)


def test_loader_options():
    from gm_common.training import loader_options

    assert loader_options() == {"num_workers": 0, "pin_memory": False, "persistent_workers": False}  # no CUDA here
    assert loader_options(2, True, True) == {"num_workers": 2, "pin_memory": True, "persistent_workers": True}
    with pytest.raises(ConfigError, match="num_workers"):
        loader_options(-1)
    with pytest.raises(ConfigError, match="pin_memory"):
        loader_options(0, "yes")


def test_a_cpu_time_budget_stops_training(monkeypatch, tmp_path):
    from types import SimpleNamespace

    import gm_common.training as training

    cpu = [100.0]
    monkeypatch.setattr(training.time, "process_time", lambda: cpu[0])
    limit = training.CpuTimeLimit(minutes=1.0)
    trainer = SimpleNamespace(should_stop=False)
    limit.on_train_start(trainer, None)
    cpu[0] += 59.0
    limit.on_train_batch_end(trainer)
    assert not trainer.should_stop
    cpu[0] += 2.0
    limit.on_train_batch_end(trainer)
    assert trainer.should_stop
    built = training.build_trainer({"accelerator": "cpu", "max_steps": 1, "max_cpu_minutes": 0.5}, tmp_path)
    assert [cb.seconds for cb in built.callbacks if isinstance(cb, training.CpuTimeLimit)] == [30.0]
    with pytest.raises(training.ConfigError, match="max_cpu_minutes"):
        training.CpuTimeLimit(0)
