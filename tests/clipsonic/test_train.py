
import pytest
import torch

from gm_common.cli import compose
from gm_common.errors import CheckpointError, ConfigError


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
