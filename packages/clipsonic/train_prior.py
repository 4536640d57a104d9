"""Train the diffusion prior (CLIP text embedding -> CLIP image embedding) on the image-caption set.

    python -m clipsonic.train_prior [trainer.max_steps=N] [ckpt_path=last]
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from clipsonic._cli import cli


@cli
def run(cfg: DictConfig):
    import torch

    from gm_common.checkpoint import resolve_resume
    from gm_common.errors import ConfigError
    from gm_common.seed import seed_everything
    from gm_common.training import build_trainer

    from clipsonic.clip import load_clip, split_indices
    from clipsonic.data.dataset import _file_key, loader_kwargs
    from clipsonic.prior import DiffusionPrior, caption_embeddings

    if not cfg.data.captions_csv:
        raise ConfigError("train_prior needs an image-caption set (data.captions_csv)")
    seed_everything(cfg.seed)
    clip = load_clip(cfg.clip)
    text, image, _ = caption_embeddings(cfg.data.captions_csv, clip, _file_key(Path(cfg.clip.checkpoint)), cfg.data.cache_dir)
    tr, va = split_indices(len(text), cfg.valid_fraction, cfg.seed)
    t, i = torch.from_numpy(text), torch.from_numpy(image)
    dl = torch.utils.data.DataLoader
    loader = loader_kwargs(cfg.data)
    train = dl(torch.utils.data.TensorDataset(t[tr], i[tr]), batch_size=min(cfg.batch_size, len(tr)), shuffle=True, drop_last=True, **loader)
    valid = dl(torch.utils.data.TensorDataset(t[va], i[va]), batch_size=cfg.batch_size, **loader)
    model = DiffusionPrior(dim=int(text.shape[1]), hidden=cfg.prior.hidden, layers=cfg.prior.layers, num_train_timesteps=cfg.prior.num_train_timesteps, lr=cfg.prior.lr)
    trainer = build_trainer(cfg.trainer, cfg.run_dir, config=cfg)
    trainer.fit(model, train, valid, ckpt_path=resolve_resume(cfg.ckpt_path, cfg.run_dir), weights_only=True)
    return trainer


@hydra.main(config_path="../../configs/clipsonic", config_name="train_prior", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
