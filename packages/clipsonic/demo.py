"""The clipsonic demo: text-to-audio in ZS and PD mode with the shipped everyday models (seconds), or, with
``train=true``, with models trained here first on a small world of coloured shapes (a few minutes on 2 CPU
cores the first time; reused afterwards).

    python -m clipsonic.demo ["siren wailing"]
    python -m clipsonic.demo "a blue square" train=true

Writes under ``outputs/demo/clipsonic/`` and prints where the WAV and PNG files are.
"""

from __future__ import annotations

import time
from pathlib import Path

from omegaconf import DictConfig

from gm_common.cli import compose, entry_point, positional_override

QUIET = ["trainer.progress_refresh_rate=50", "+trainer.enable_model_summary=false"]


def train_small(root: Path, step) -> Path:
    """Synthesize a small set and train CLIP, prior and diffusion on it under ``root`` (each reused when
    an earlier demo trained it); returns ``root``, a model folder for ``models=``."""
    from clipsonic import train, train_clip, train_prior
    from clipsonic.data.synthesize import synthesize

    common = [f"root={root}", *QUIET]
    if not (root / "data" / "synthetic" / "labels.csv").is_file():
        step("synthesizing a small audio-visual set (8 concepts x 16 videos, 1200 captioned images)")
        synthesize(root / "data" / "synthetic", videos_per_class=16, caption_images=1200, split=(0.75, 0.125, 0.125))
    if not (root / "clip" / "clip.pt").is_file():
        step("training the stand-in CLIP on image-caption pairs")
        train_clip.run(compose("clipsonic", "train_clip", [*common, "trainer.max_steps=200", "data.batch_size=96"]))
    if not (root / "prior" / "checkpoints" / "last.ckpt").is_file():
        step("training the diffusion prior (text embedding -> image embedding)")
        train_prior.run(
            compose(
                "clipsonic", "train_prior", [*common, "trainer.max_steps=500", "model.hidden=256", "model.layers=3"]
            )
        )
    if not (root / "diffusion" / "checkpoints" / "last.ckpt").is_file():
        step("training the mel diffusion model on video frames -> audio (briefly)")
        train.run(
            compose(
                "clipsonic",
                "train",
                [*common, "trainer.max_steps=160", "data.batch_size=16", "trainer.check_val_every_n_epoch=100"],
            )
        )
    return root


def run(cfg: DictConfig) -> list[Path]:
    """Generate from ``prompt`` in ZS and PD mode; returns the files written."""
    from clipsonic import generate

    t0 = time.time()

    def step(msg: str) -> None:
        """Print a progress line with the seconds since the start."""
        print(f"[clipsonic demo {time.time() - t0:5.0f}s] {msg}", flush=True)

    root = Path(cfg.root)
    models = train_small(root, step) if cfg.train else cfg.models
    shipped = [f"pretrained_root={cfg.pretrained_root}"] if cfg.pretrained_root else []
    written = []
    for mode in ("zs", "pd"):
        step(f"generating from {cfg.prompt!r} in {mode.upper()} mode with models {models}")
        overrides = [
            *positional_override([cfg.prompt], "prompt"),
            f"models={models}",
            *shipped,
            f"mode={mode}",
            f"steps={cfg.steps}",
            f"n={cfg.n}",
            f"out_dir={root / 'generate'}",
            "overwrite=true",
        ]
        written += generate.run(compose("clipsonic", "generate", overrides))
    step("done. Files:")
    for p in written:
        print(f"  {p}")
    return written


main = entry_point("clipsonic", "demo", positional="prompt")(run)

if __name__ == "__main__":
    main()
