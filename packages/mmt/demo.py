"""``python -m mmt.demo``: one sample in each mode (unconditional, instrument-informed, 4-beat continuation of a
Bach chorale) from the shipped model into ``outputs/demo/mmt/samples``, and where the MIDI / WAV / PNG / CSV files
are; then the model's attention profiles (``mmt.analyze_attention``) into ``outputs/demo/mmt/attention``.
``train=true`` first trains a tiny MMT on the chorales (~2.5 minutes; reused from ``outputs/demo/mmt/model`` by
later demos) and uses it instead."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from gm_common.cli import compose, entry_point
from gm_common.corpus import list_collection
from mmt import analyze_attention, generate, train


def demo_model(cfg: DictConfig) -> str:
    """The model to sample from: the shipped one, or (``train=true``) the demo's own run, trained if missing."""
    if not cfg.train:
        return str(cfg.checkpoint)
    model_dir = Path(cfg.out_dir) / "model"
    if (model_dir / "checkpoints" / "last.ckpt").is_file():
        print(f"reusing the demo model in {model_dir}")
    else:
        print("training a tiny MMT on the Bach chorales (~2.5 minutes) ...")
        train.run(compose("mmt", "train", [*cfg.train_overrides, f"run_dir={model_dir}"]))
    return str(model_dir / "checkpoints" / "last.ckpt")


def run(cfg: DictConfig) -> list[dict[str, str]]:
    """Write one sample per mode; returns the files of each."""
    torch.set_num_threads(1)
    t0 = time.time()
    checkpoint = demo_model(cfg)
    chorale = list_collection("bach_chorales")[-1]
    common = [f"checkpoint={checkpoint}", f"out_dir={Path(cfg.out_dir) / 'samples'}", "overwrite=true",
              f"max_events={cfg.max_events}", "seed=0"]  # fmt: skip
    instruments = ",".join(cfg.instruments)
    written = generate.run(compose("mmt", "generate", common))
    written += generate.run(compose("mmt", "generate", [*common, f"instruments=[{instruments}]"]))
    written += generate.run(compose("mmt", "generate", [*common, f"prompt={chorale}", f"beats={cfg.beats}"]))
    attention = [f"checkpoint={checkpoint}", f"out_dir={Path(cfg.out_dir) / 'attention'}", "overwrite=true",
                 f"n_pieces={cfg.attention_pieces}"]  # fmt: skip
    analyze_attention.run(compose("mmt", "analyze_attention", attention))
    print(f"\nmmt demo done in {time.time() - t0:.0f} s; files:")
    for files in written:
        for kind in ("mid", "wav", "png", "csv"):
            if kind in files:
                print(f"  {kind.upper():4s} {files[kind]}")
    return written


main = entry_point("mmt", "demo")(run)

if __name__ == "__main__":
    main()
