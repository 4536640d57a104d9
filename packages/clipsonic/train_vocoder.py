"""Train the small neural vocoder (:mod:`clipsonic.neural_vocoder`) on the audio of the video set, with the
mel settings of the diffusion model (``data.mel``). Use it with ``vocoder=<run_dir>/checkpoints/last.ckpt``.

    python -m clipsonic.train_vocoder [trainer.max_steps=N] [model.channels=128] [ckpt_path=last|auto]
                                      [model.adversarial=true] [init_vocoder=<a vocoder checkpoint>]

``model.adversarial=true`` trains against multi-period and multi-resolution discriminators (``model.gan``);
``init_vocoder`` starts the generator from a trained one (e.g. fine-tune the non-adversarial vocoder).
"""

from __future__ import annotations

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from clipsonic.vocoder import load_vocoder
from gm_common.checkpoint import resolve_resume
from gm_common.cli import entry_point, run_dir
from gm_common.seed import seed_everything
from gm_common.training import build_trainer


def run(cfg: DictConfig) -> L.Trainer:
    """Cut the videos' audio into segments (cached) and train the vocoder on them."""
    seed_everything(cfg.seed)
    data = instantiate(cfg.data).prepare()
    model = instantiate(
        cfg.model, mel=data.mel, mean=data.mean, std=data.std, log_floor=data.log_floor, _convert_="all"
    )
    if cfg.init_vocoder:
        model.net.load_state_dict(load_vocoder(cfg.init_vocoder, data.mel).net.state_dict())
    trainer_cfg = cfg.trainer
    if not model.automatic_optimization:  # Lightning clips only automatic optimization: the module clips by hand
        model.grad_clip = cfg.trainer.gradient_clip_val
        trainer_cfg = OmegaConf.merge(cfg.trainer, {"gradient_clip_val": None})
    folder = run_dir(cfg)
    trainer = build_trainer(trainer_cfg, folder, config=cfg)
    trainer.fit(model, datamodule=data, ckpt_path=resolve_resume(cfg.ckpt_path, folder), weights_only=True)
    return trainer


main = entry_point("clipsonic", "train_vocoder")(run)

if __name__ == "__main__":
    main()
