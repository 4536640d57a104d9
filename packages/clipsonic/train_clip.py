"""Train the stand-in CLIP on the image-caption set, then export it to ``clip.checkpoint``.

    python -m clipsonic.train_clip [trainer.max_steps=600] [ckpt_path=last]
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from clipsonic._cli import cli


@cli
def run(cfg: DictConfig) -> Path:
    from gm_common.checkpoint import resolve_resume
    from gm_common.errors import ConfigError
    from gm_common.seed import seed_everything
    from gm_common.training import build_trainer

    from clipsonic.clip import ClipModule, caption_loaders, save_clip
    from clipsonic.data.dataset import loader_kwargs

    if not cfg.data.captions_csv:
        raise ConfigError("train_clip needs an image-caption set (data.captions_csv)")
    seed_everything(cfg.seed)
    train_dl, valid_dl = caption_loaders(cfg.data.captions_csv, cfg.valid_fraction, cfg.batch_size, cfg.seed, **loader_kwargs(cfg.data))
    module = ClipModule(cfg.clip.name, OmegaConf.to_container(cfg.clip.model_kwargs, resolve=True), cfg.lr, cfg.weight_decay,
                        learn_logit_scale=bool(cfg.get("learn_logit_scale", True)))
    trainer = build_trainer(cfg.trainer, cfg.run_dir, config=cfg)
    trainer.fit(module, train_dl, valid_dl, ckpt_path=resolve_resume(cfg.ckpt_path, cfg.run_dir), weights_only=True)
    out = Path(cfg.clip.checkpoint)
    if trainer.is_global_zero:
        save_clip(out, module.model, cfg.clip.name, OmegaConf.to_container(cfg.clip.model_kwargs, resolve=True))
        print(f"CLIP exported to {out}")
    return out


@hydra.main(config_path="../../configs/clipsonic", config_name="train_clip", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
