import os
import subprocess
import sys
from pathlib import Path

import torch

from clipsonic._cli import compose


def test_checkpoints_config_and_resume(world, tmp_path):
    from clipsonic import train

    run_dir = world.root / "diffusion"
    last = run_dir / "checkpoints" / "last.ckpt"
    assert last.is_file() and (run_dir / "checkpoints" / "config.yaml").is_file()
    ck = torch.load(last, weights_only=True)
    assert ck["hyper_parameters"]["cond_dim"] == 32 and ck["global_step"] == 2
    for stage in ("clip", "prior"):  # last.ckpt is the latest step, not only the best one
        assert torch.load(world.root / stage / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2
    trainer = train.run(compose("train", world.train_overrides("trainer.max_steps=4", "ckpt_path=last", f"run_dir={tmp_path / 'resumed'}")))
    assert trainer.global_step == 4  # a fresh run: no last.ckpt in a new run dir yet
    trainer = train.run(compose("train", world.train_overrides("trainer.max_steps=6", "ckpt_path=last", f"run_dir={tmp_path / 'resumed'}")))
    assert trainer.global_step == 6  # resumed from step 4
    assert torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6


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
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and not p.name.startswith("events."))
    assert [f for f in files if not f.startswith(".hydra/")] == [
        "checkpoints/config.yaml", "checkpoints/last.ckpt", "logs/hparams.yaml", "tb/hparams.yaml", "train.log",
        "train_ddp_process_1.log"]  # fmt: skip (2 steps: no validation, so no best.ckpt or metrics yet)


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
    trainer = train.run(compose("train", [*overrides, "data=folder", f"data.root={tmp_path / 'videos'}", "data.valid_fraction=0.0",
                                          "data.mel.n_mels=32", "data.mel.frames=32", "data.batch_size=2", "trainer.max_steps=1",
                                          f"data.cache_dir={tmp_path / 'cache'}", f"run_dir={tmp_path / 'run'}"]))
    assert trainer.global_step == 1
    assert "skipping" in capsys.readouterr().out


def test_last_checkpoint_is_latest_step_and_best_kept(world, tmp_path):
    from clipsonic import train_prior

    run_dir = tmp_path / "prior"
    overrides = [*world.common(), "+trainer.enable_model_summary=false", "trainer.max_steps=7", "trainer.check_val_every_n_epoch=1",
                 "batch_size=8", "prior.hidden=16", "prior.layers=1", f"run_dir={run_dir}"]
    train_prior.run(compose("train_prior", overrides))
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == ["best.ckpt", "config.yaml", "last.ckpt"]
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 7
