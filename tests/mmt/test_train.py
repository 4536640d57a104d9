import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from hydra.errors import ConfigCompositionException

from gm_common.checkpoint import load_checkpoint
from gm_common.errors import CheckpointError, ConfigError
from mmt.model import MMTLightning, load_model
from mmt.representation import Encoding
from mmt.train import run

ROOT = Path(__file__).resolve().parents[2]


def test_trained_run_layout(trained_run):
    ckpts = trained_run / "checkpoints"
    assert (ckpts / "last.ckpt").is_file() and (ckpts / "best.ckpt").is_file()
    cfg = yaml.safe_load((ckpts / "config.yaml").read_text())
    assert cfg["model"]["dim"] == 32 and cfg["optim"]["warmup_steps"] == 2
    assert Encoding.load(trained_run / "encoding.json") == Encoding()
    ckpt = load_checkpoint(ckpts / "last.ckpt")  # weights_only=True
    assert ckpt["global_step"] == 3 and ckpt["hyper_parameters"]["encoding"] == Encoding().to_dict()
    assert (trained_run / "logs" / "metrics.csv").read_text().count("val/loss") >= 1
    net, enc, _ = load_model(ckpts / "last.ckpt")
    assert net.dim == 32 and enc == Encoding()


def _record_restored_state(monkeypatch) -> dict:
    """Make the next run record, as training starts, the state it resumed from (a fresh run: step 0, no moments)."""
    seen: dict = {}

    def on_train_start(self: MMTLightning) -> None:
        optimizer, scheduler = self.optimizers().optimizer, self.lr_schedulers()
        first = next(iter(self.parameters()))
        state = optimizer.state.get(first, {})
        seen.update(
            global_step=self.global_step,
            scheduler_step=scheduler.last_epoch,
            lr=optimizer.param_groups[0]["lr"],
            adam_step=float(state["step"]) if state else 0.0,
            exp_avg=state["exp_avg"].clone() if state else None,
        )

    monkeypatch.setattr(MMTLightning, "on_train_start", on_train_start, raising=False)
    return seen


def _assert_resumed_from(seen: dict, ckpt: dict) -> None:
    """The run started from ``ckpt``'s step, optimizer moments and schedule position."""
    step = ckpt["global_step"]
    saved = ckpt["optimizer_states"][0]
    assert seen["global_step"] == step > 0
    assert seen["scheduler_step"] == ckpt["lr_schedulers"][0]["last_epoch"] == step
    assert seen["lr"] == pytest.approx(saved["param_groups"][0]["lr"])
    assert seen["adam_step"] == float(saved["state"][0]["step"]) == step
    assert torch.equal(seen["exp_avg"], saved["state"][0]["exp_avg"]) and seen["exp_avg"].abs().sum() > 0


def test_resume_restores_step_optimizer_and_schedule(tmp_path, tiny_train_cfg, monkeypatch):
    run(tiny_train_cfg(tmp_path, steps=2))  # stops mid-epoch
    stopped = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    seen = _record_restored_state(monkeypatch)
    run(tiny_train_cfg(tmp_path, steps=4, extra=["ckpt_path=last"]))
    _assert_resumed_from(seen, stopped)
    assert load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] > stopped["global_step"]
    # the same command without a checkpoint starts fresh: what the assertions above rule out
    fresh = _record_restored_state(monkeypatch)
    run(tiny_train_cfg(tmp_path / "fresh", steps=1))
    assert fresh["global_step"] == 0 and fresh["exp_avg"] is None


def test_voices_merged_is_saved_and_a_resume_with_the_other_mapping_is_refused(tmp_path, tiny_train_cfg):
    merged = Encoding(voices="merged")
    run(tiny_train_cfg(tmp_path, steps=1, extra=["encoding.voices=merged"]))
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert load_checkpoint(last)["hyper_parameters"]["encoding"] == merged.to_dict()
    assert Encoding.load(tmp_path / "encoding.json") == merged
    net, enc, _ = load_model(last)
    assert enc == merged and net.vocab_sizes[5] == 65
    with pytest.raises(CheckpointError, match="made with encoding.voices=merged"):
        run(tiny_train_cfg(tmp_path, steps=2, extra=["ckpt_path=last"]))  # the default: split
    assert Encoding.load(tmp_path / "encoding.json") == merged and load_checkpoint(last)["global_step"] == 1


def test_resume_without_a_checkpoint_names_the_folder(tmp_path, tiny_train_cfg):
    with pytest.raises(CheckpointError, match=str(tmp_path / "checkpoints")):
        run(tiny_train_cfg(tmp_path, extra=["ckpt_path=last"]))
    assert not (tmp_path / "checkpoints").exists()


def test_ddp_two_cpu_processes(tmp_path, trained_run, tiny_cli_overrides):
    # trained_run has filled the data cache, so both ranks only read it
    run_dir = tmp_path / "ddp"
    overrides = [o for o in tiny_cli_overrides(run_dir, 2) if not o.lstrip("+").startswith("trainer.")]
    trainer = [
        "trainer=ddp_cpu",
        "trainer.max_steps=2",
        "trainer.check_val_every_n_epoch=1",
        "+trainer.enable_model_summary=false",
    ]
    cmd = [sys.executable, "-m", "mmt.train", *trainer, *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpts = run_dir / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["best.ckpt", "config.yaml", "last.ckpt"]
    assert not list(tmp_path.glob("ddp?*")), "a second run folder was created"
    assert load_checkpoint(ckpts / "last.ckpt")["global_step"] == 2
    assert proc.stdout.count("checkpoints:") == 1
    assert proc.stdout.count("weights agree across 2 ranks at step 2") == 1
    # only rank 0 writes checkpoints and outputs: the files of a one-process run, plus rank 1's own log
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith("tb/events.")] == [
        ".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "checkpoints/best.ckpt",
        "checkpoints/config.yaml", "checkpoints/last.ckpt", "encoding.json", "logs/hparams.yaml", "logs/metrics.csv",
        "split.json", "tb/hparams.yaml", "train.log", "train_ddp_process_1.log"]  # fmt: skip
    assert len([f for f in files if f.startswith("tb/events.")]) == 1
    assert torch.distributed.is_available()


@pytest.mark.parametrize(("bad", "match"), [("data.max_beat=512", "max_beat"), ("+model.dimension=64", "dimension")])
def test_bad_config_is_a_clear_error(tmp_path, tiny_train_cfg, bad, match):
    with pytest.raises(ConfigError, match=match):
        run(tiny_train_cfg(tmp_path, extra=[bad]))


def test_a_misspelt_key_does_not_compose(tmp_path, tiny_train_cfg):
    with pytest.raises(ConfigCompositionException, match="dimm"):
        tiny_train_cfg(tmp_path, extra=["model.dimm=64"])


def test_dataloader_workers_are_configurable(tmp_path, tiny_train_cfg):
    cfg = tiny_train_cfg(
        tmp_path, steps=2, extra=["data.num_workers=1", "data.persistent_workers=true", "data.pin_memory=false"]
    )
    run(cfg)
    assert load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] == 2


def test_a_tiny_infill_run_records_its_layout_and_learns_from_infill_samples(infill_run):
    from mmt.pipeline import MMT

    ckpt = load_checkpoint(infill_run / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 3 and ckpt["hyper_parameters"]["data"]["layout"] == "infill"
    assert ckpt["hyper_parameters"]["data"]["drop_parts"] == 0.3
    assert MMT.from_pretrained(infill_run).layout == "infill" and MMT.from_pretrained(infill_run).adds_parts
    cfg = yaml.safe_load((infill_run / "checkpoints" / "config.yaml").read_text())
    assert cfg["data"]["layout"] == "infill"


def test_the_add_part_experiments_are_corpus_tiny_in_their_layouts():
    from gm_common.cli import compose

    infill, mixed, plain = (compose("mmt", "train", [f"experiment={name}"])
                            for name in ("corpus_tiny_infill", "corpus_tiny_interleave", "corpus_tiny"))  # fmt: skip
    assert (infill.data.layout, plain.data.layout, infill.data.drop_parts) == ("infill", "time", 0.3)
    assert (mixed.data.layout, mixed.data.ahead, mixed.data.drop_parts, mixed.trainer.max_steps) == (
        "interleave", 1, 0.3, 5000)  # fmt: skip
    for key in ("model", "optim", "trainer"):
        assert infill[key] == plain[key]
    assert mixed.model == plain.model
