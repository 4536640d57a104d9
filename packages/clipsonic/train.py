"""Train the mel diffusion model on videos: CLIP image embedding of a frame -> log-mel of the audio.

    python -m clipsonic.train [model=tiny|paper] [data=synthetic|folder] [trainer=cpu|ddp_cpu|gpu|ddp_gpu]
                              [trainer.max_steps=N] [ckpt_path=last]
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from clipsonic._cli import cli


@cli
def run(cfg: DictConfig):
    from gm_common.checkpoint import resolve_resume
    from gm_common.seed import seed_everything
    from gm_common.training import build_trainer

    from clipsonic.data.dataset import VideoDataModule
    from clipsonic.diffusion import MelDiffusion

    seed_everything(cfg.seed)
    dm = VideoDataModule(cfg.data, cfg.clip).prepare()
    model = MelDiffusion(
        model=OmegaConf.to_container(cfg.model, resolve=True),
        mel=OmegaConf.to_container(cfg.data.mel, resolve=True),
        stats=dm.stats,
        cond_dim=dm.cond_dim,
        clip=OmegaConf.to_container(cfg.clip, resolve=True),
    )
    trainer = build_trainer(cfg.trainer, cfg.run_dir, config=cfg)
    trainer.fit(model, datamodule=dm, ckpt_path=resolve_resume(cfg.ckpt_path, cfg.run_dir), weights_only=True)
    return trainer


@hydra.main(config_path="../../configs/clipsonic", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
