"""``python -m mmt.demo``: train a tiny MMT on the Bach chorales for ~2.5 minutes (or reuse the one an
earlier demo trained in ``outputs/demo/mmt/model``), then generate one sample in each mode
(unconditional, instrument-informed, 4-beat continuation of a chorale) into ``outputs/demo/mmt/samples``
and print where the MIDI / WAV / PNG / CSV files are."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from gm_common.corpus import list_collection

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "mmt"
OUT = Path("outputs/demo/mmt")


def _compose(name: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(name, overrides=overrides)


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    t0 = time.time()
    model_dir = OUT / "model"
    ckpt = model_dir / "checkpoints" / "last.ckpt"
    if ckpt.is_file():
        print(f"reusing the demo model in {model_dir}")
    else:
        from mmt.train import train

        print("training a tiny MMT on the Bach chorales (~2.5 minutes) ...")
        cfg = _compose(
            "train",
            [
                "experiment=bach_tiny",
                f"run_dir={model_dir}",
                "data.max_seq_len=256",  # short sequences: more steps in the time
                "trainer.max_steps=600",
                "+trainer.max_time=00:00:02:30",
                "trainer.progress_refresh_rate=20",
                "optim.warmup_steps=50",
                "optim.decay_end_steps=600",
                "optim.lr=2e-3",
                "early_stopping_patience=null",
            ],
        )
        train(cfg)
    from mmt.generate import run

    samples = OUT / "samples"
    chorale = list_collection("bach_chorales")[-1]
    common = [f"checkpoint={ckpt}", f"out_dir={samples}", "overwrite=true", "max_events=256", "seed=0"]
    written = run(_compose("generate", common))
    written += run(_compose("generate", common + ["instruments=[voices,organ]"]))
    written += run(_compose("generate", common + [f"prompt={chorale}", "beats=4"]))
    print(f"\nmmt demo done in {time.time() - t0:.0f} s; files:")
    for files in written:
        for kind in ("mid", "wav", "png", "csv"):
            if kind in files:
                print(f"  {kind.upper():4s} {files[kind]}")


if __name__ == "__main__":
    main()
