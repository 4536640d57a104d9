"""Train the diffusion prior (CLIP text embedding -> CLIP image embedding) on the image-caption set.

python -m clipsonic.train_prior [trainer.max_steps=N] [model.hidden=512] [ckpt_path=last|auto]
"""

from __future__ import annotations

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gm_common.checkpoint import resolve_resume
from gm_common.cli import entry_point, run_dir
from gm_common.seed import seed_everything
from gm_common.training import build_trainer


def run(cfg: DictConfig) -> L.Trainer:
    """Embed the caption pairs with CLIP (cached) and train the prior on them."""
    seed_everything(cfg.seed)
    data = instantiate(cfg.data, clip=OmegaConf.to_container(cfg.clip, resolve=True)).prepare()
    model = instantiate(cfg.model, dim=data.dim, _convert_="all")
    folder = run_dir(cfg)
    trainer = build_trainer(cfg.trainer, folder, config=cfg)
    trainer.fit(model, datamodule=data, ckpt_path=resolve_resume(cfg.ckpt_path, folder), weights_only=True)
    return trainer


main = entry_point("clipsonic", "train_prior")(run)

if __name__ == "__main__":
    main()
