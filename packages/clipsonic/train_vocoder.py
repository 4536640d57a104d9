"""Train the small neural vocoder (:mod:`clipsonic.neural_vocoder`) on the audio of the video set, with the
mel settings of the diffusion model (``data.mel``). Use it with ``vocoder=<run_dir>/checkpoints/last.ckpt``.

    python -m clipsonic.train_vocoder [trainer.max_steps=N] [vocoder.channels=128] [ckpt_path=last]
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from clipsonic._cli import cli


@cli
def run(cfg: DictConfig):
    import numpy as np
    import torch

    from gm_common.checkpoint import resolve_resume
    from gm_common.errors import InputFileError
    from gm_common.seed import seed_everything
    from gm_common.training import build_trainer

    from clipsonic.data.audio import audio_clips
    from clipsonic.data.dataset import LOG_FLOOR, audio_to_mel, loader_kwargs
    from clipsonic.neural_vocoder import NeuralVocoder

    seed_everything(cfg.seed)
    mel = OmegaConf.to_container(cfg.data.mel, resolve=True)
    splits = audio_clips(cfg.data)
    if "train" not in splits:
        raise InputFileError(cfg.data.videos, "no training videos for the vocoder")
    train = torch.from_numpy(splits["train"])
    valid = torch.from_numpy(splits.get("valid", splits["train"][:8]))
    sample = np.stack([audio_to_mel(a, mel) for a in splits["train"][:64]])
    v = cfg.vocoder
    model = NeuralVocoder(mel=mel, channels=int(v.channels), blocks=int(v.blocks), lr=float(v.lr), mel_weight=float(v.mel_weight),
                          mean=float(sample.mean()), std=float(sample.std()), log_floor=LOG_FLOOR)
    dl = torch.utils.data.DataLoader
    bs = min(int(cfg.batch_size), len(train))
    trainer = build_trainer(cfg.trainer, cfg.run_dir, config=cfg)
    loader = loader_kwargs(cfg.data)
    trainer.fit(model, dl(torch.utils.data.TensorDataset(train), batch_size=bs, shuffle=True, drop_last=True, **loader),
                dl(torch.utils.data.TensorDataset(valid), batch_size=bs, **loader), ckpt_path=resolve_resume(cfg.ckpt_path, cfg.run_dir), weights_only=True)
    return trainer


@hydra.main(config_path="../../configs/clipsonic", config_name="train_vocoder", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
