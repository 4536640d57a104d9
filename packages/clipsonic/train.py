"""Train the mel diffusion model on videos: CLIP image embedding of a frame -> log-mel of the audio.

python -m clipsonic.train [model=tiny|paper] [data=synthetic|folder] [trainer=cpu|ddp_cpu|gpu|ddp_gpu]
                          [trainer.max_steps=N] [ckpt_path=last|auto]
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
    """Cache the videos' mels and frame embeddings, then train the diffusion model on them."""
    seed_everything(cfg.seed)
    clip = OmegaConf.to_container(cfg.clip, resolve=True)
    data = instantiate(cfg.data, clip=clip).prepare()
    model = instantiate(cfg.model, mel=data.mel, stats=data.stats, cond_dim=data.cond_dim, clip=clip, _convert_="all")
    folder = run_dir(cfg)
    trainer = build_trainer(cfg.trainer, folder, config=cfg)
    trainer.fit(model, datamodule=data, ckpt_path=resolve_resume(cfg.ckpt_path, folder), weights_only=True)
    return trainer


main = entry_point("clipsonic", "train")(run)

if __name__ == "__main__":
    main()
