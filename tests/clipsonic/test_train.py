import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gm_common.checkpoint import load_checkpoint
from gm_common.cli import compose
from gm_common.errors import CheckpointError, ConfigError
from gm_common.training import build_trainer
from tests.common.resume import CaptureStart, kill_after_checkpoint


def test_checkpoints_and_config(world):
    run_dir = world.root / "diffusion"
    last = run_dir / "checkpoints" / "last.ckpt"
    assert last.is_file() and (run_dir / "checkpoints" / "config.yaml").is_file()
    ck = torch.load(last, weights_only=True)
    assert ck["hyper_parameters"]["cond_dim"] == 32 and ck["global_step"] == 2
    assert set(ck["hyper_parameters"]["model"]) >= {
        "unet",
        "cond_drop_prob",
        "lr",
    }  # the layout of bac9ecd's checkpoints
    for stage in ("clip", "prior", "vocoder"):  # last.ckpt is the latest step, not only the best one
        assert torch.load(world.root / stage / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2


def test_resume_continues_the_checkpoint_not_a_fresh_run(world, tmp_path):
    """A marker written into last.ckpt (weights and optimizer step) is where the resumed run goes on from."""
    from clipsonic import train

    run_dir = tmp_path / "resumed"
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train.run(compose("clipsonic", "train", world.train_overrides("ckpt_path=last", f"run_dir={run_dir}")))
    train.run(compose("clipsonic", "train", world.train_overrides("ckpt_path=auto", f"run_dir={run_dir}")))
    last = run_dir / "checkpoints" / "last.ckpt"
    ck = torch.load(last, weights_only=True)
    ck["state_dict"]["null_cond"] = torch.full_like(ck["state_dict"]["null_cond"], 7.0)
    torch.save(ck, last)
    trainer = train.run(
        compose(
            "clipsonic", "train", world.train_overrides("trainer.max_steps=3", "ckpt_path=last", f"run_dir={run_dir}")
        )
    )
    assert trainer.global_step == 3
    resumed = torch.load(last, weights_only=True)
    assert (resumed["state_dict"]["null_cond"] - 7.0).abs().max() < 0.01  # one small step away from the marker
    assert resumed["lr_schedulers"][0]["last_epoch"] == 3  # warm-up position carried on
    assert next(iter(resumed["optimizer_states"][0]["state"].values()))["step"] == 3


def test_a_run_killed_with_sigkill_resumes_where_it_stopped(world, tmp_path, monkeypatch):
    """SIGKILL a training process once it has saved a last.ckpt past a few steps; ``ckpt_path=last`` then starts
    from exactly that state (step, weights, AdamW moments, warm-up position) and runs only the remaining steps."""
    from clipsonic import train

    run_dir = tmp_path / "killed"
    every_epoch = ["trainer.check_val_every_n_epoch=1", f"run_dir={run_dir}"]  # last.ckpt after each epoch
    cmd = [sys.executable, "-m", "clipsonic.train", *world.train_overrides("trainer.max_steps=100000", *every_epoch)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    last = run_dir / "checkpoints" / "last.ckpt"
    killed = kill_after_checkpoint(cmd, last, 2, timeout=180, cwd=tmp_path, env=env)
    step = killed["global_step"]
    capture = CaptureStart()
    monkeypatch.setattr(train, "build_trainer", lambda *a, **k: build_trainer(*a, **k, extra_callbacks=[capture]))
    train.run(compose("clipsonic", "train", world.train_overrides(f"trainer.max_steps={step + 2}", "ckpt_path=last",
                                                                  *every_epoch)))  # fmt: skip
    start = capture.state  # a fresh run would start at step 0, with empty moments and the initial weights
    assert start["global_step"] == start["scheduler_epoch"] == step and capture.steps_run == 2
    for key, value in killed["state_dict"].items():
        assert torch.equal(start["weights"][key], value), key
    restored, stored = start["optimizer"]["state"], killed["optimizer_states"][0]["state"]
    assert restored.keys() == stored.keys() and len(stored) > 0
    for i in stored:
        assert torch.equal(restored[i]["exp_avg"], stored[i]["exp_avg"]) and float(restored[i]["step"]) == step
    assert load_checkpoint(last)["global_step"] == step + 2


def test_bad_config_keys_are_errors(world):
    from clipsonic import train

    with pytest.raises(Exception, match="max_stepz"):
        compose("clipsonic", "train", world.train_overrides("trainer.max_stepz=3"))
    with pytest.raises(Exception, match="typo"):
        compose("clipsonic", "generate", ["typo=1"])
    with pytest.raises(
        Exception, match="unknown keys \\['dropout'\\]"
    ) as err:  # hydra wraps it in InstantiationException
        train.run(
            compose("clipsonic", "train", world.train_overrides("+model.dropout=0.1", f"run_dir={world.root / 'x'}"))
        )
    assert isinstance(err.value.__cause__, ConfigError)


def test_ddp_cpu_two_processes(world, tmp_path):
    repo = Path(__file__).resolve().parents[2]
    run_dir = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "clipsonic.train", "trainer=ddp_cpu", *world.train_overrides(f"run_dir={run_dir}"),
           "data.num_workers=1", "data.persistent_workers=true"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ck = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ck["global_step"] == 2
    assert proc.stdout.count("weights agree across 2 ranks at step 2") == 1
    # only rank 0 writes checkpoints and logs: the files of a one-process run (plus rank 1's own log)
    files = sorted(
        str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and not p.name.startswith("events.")
    )
    logs = [f for f in files if f.endswith(".log")]  # Hydra's job log and rank 1's (named after the job)
    assert len(logs) == 2 and sum("_ddp_process_1" in f for f in logs) == 1
    assert [f for f in files if not f.startswith(".hydra/") and f not in logs] == [
        "checkpoints/config.yaml",
        "checkpoints/last.ckpt",
        "logs/hparams.yaml",
        "tb/hparams.yaml",
    ]  # 2 steps: no validation, so no best.ckpt or metrics yet


def test_folder_of_real_videos_without_labels(world, tmp_path, capsys):
    """data=folder: any folder of videos (no labels needed); unreadable videos are skipped with a warning."""
    import shutil

    from clipsonic import train

    folder = tmp_path / "videos" / "sub"
    folder.mkdir(parents=True)
    for f in sorted((world.data / "videos").glob("*.mp4"))[:4]:
        shutil.copy(f, folder / f.name)
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    overrides = [o for o in world.train_overrides() if not o.startswith("data.")]
    trainer = train.run(compose("clipsonic", "train", [
        *overrides, "data=folder", f"data.root={tmp_path / 'videos'}", "data.valid_fraction=0.0", "data.mel.n_mels=32",
        "data.mel.frames=32", "data.batch_size=2", "trainer.max_steps=1", f"data.cache_dir={tmp_path / 'cache'}",
        f"run_dir={tmp_path / 'run'}"]))  # fmt: skip
    assert trainer.global_step == 1
    assert "skipping" in capsys.readouterr().out


def test_last_checkpoint_is_latest_step_and_best_kept(world, tmp_path):
    from clipsonic import train_prior

    run_dir = tmp_path / "prior"
    overrides = [
        *world.common(),
        "+trainer.enable_model_summary=false",
        "trainer.max_steps=7",
        "trainer.check_val_every_n_epoch=1",
        "data.batch_size=8",
        "model.hidden=16",
        "model.layers=1",
        f"run_dir={run_dir}",
    ]
    train_prior.run(compose("clipsonic", "train_prior", overrides))
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == ["best.ckpt", "config.yaml", "last.ckpt"]
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 7
