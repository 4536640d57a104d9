"""Train the stand-in CLIP on the image-caption set, then export it to ``clip.checkpoint``.

python -m clipsonic.train_clip [trainer.max_steps=600] [data.batch_size=128] [ckpt_path=last|auto]
"""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from clipsonic.clip import save_clip
from gm_common.checkpoint import resolve_resume
from gm_common.cli import entry_point, run_dir
from gm_common.seed import seed_everything
from gm_common.training import build_trainer


def run(cfg: DictConfig) -> Path:
    """Train CLIP contrastively; returns the exported CLIP file."""
    seed_everything(cfg.seed)
    data = instantiate(cfg.data).prepare()
    module = instantiate(cfg.model, _convert_="all")
    folder = run_dir(cfg)
    trainer = build_trainer(cfg.trainer, folder, config=cfg)
    trainer.fit(module, datamodule=data, ckpt_path=resolve_resume(cfg.ckpt_path, folder), weights_only=True)
    out = Path(cfg.clip.checkpoint)
    if trainer.is_global_zero:
        save_clip(out, module.model, module.hparams.name, module.hparams.model_kwargs)
        print(f"CLIP exported to {out}")
    return out


main = entry_point("clipsonic", "train_clip")(run)

if __name__ == "__main__":
    main()
