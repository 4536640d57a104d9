"""The clipsonic demo: a small synthetic audio-visual world, CLIP + prior + diffusion trained briefly (reused
when an earlier demo trained them), then text-to-audio in ZS and PD mode.

    python -m clipsonic.demo ["a blue square"]

Writes under ``outputs/demo/clipsonic/`` and prints where the WAV and PNG files are (a few minutes on 2 CPU
cores the first time, seconds afterwards).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path("outputs/demo/clipsonic")


def _quiet() -> list[str]:
    return ["trainer.progress_refresh_rate=50", "+trainer.enable_model_summary=false"]


def main(argv: list[str] | None = None) -> list[Path]:
    from clipsonic import generate, train, train_clip, train_prior
    from clipsonic._cli import cli, compose
    from clipsonic.data.synthesize import synthesize

    argv = list(sys.argv[1:] if argv is None else argv)
    prompt = argv[0] if argv else "a red circle"
    t0 = time.time()
    root = [f"root={ROOT}"]
    data = ROOT / "data" / "synthetic"

    def step(msg: str) -> None:
        print(f"[clipsonic demo {time.time() - t0:5.0f}s] {msg}", flush=True)

    if not (data / "labels.csv").is_file():
        step("synthesizing a small audio-visual set (8 concepts x 16 videos, 1200 captioned images)")
        synthesize(data, videos_per_class=16, caption_images=1200, split=(0.75, 0.125, 0.125))
    if not (ROOT / "clip" / "clip.pt").is_file():
        step("training the stand-in CLIP on image-caption pairs")
        cli(train_clip.run)(compose("train_clip", [*root, *_quiet(), "trainer.max_steps=200", "batch_size=96"]))
    if not (ROOT / "prior" / "checkpoints" / "last.ckpt").is_file():
        step("training the diffusion prior (text embedding -> image embedding)")
        cli(train_prior.run)(compose("train_prior", [*root, *_quiet(), "trainer.max_steps=500", "prior.hidden=256", "prior.layers=3"]))
    if not (ROOT / "diffusion" / "checkpoints" / "last.ckpt").is_file():
        step("training the mel diffusion model on video frames -> audio (briefly)")
        cli(train.run)(compose("train", [*root, *_quiet(), "trainer.max_steps=160", "data.batch_size=16", "trainer.check_val_every_n_epoch=100"]))
    written = []
    for mode in ("zs", "pd"):
        step(f"generating from {prompt!r} in {mode.upper()} mode")
        written += cli(generate.run)(compose("generate", [*root, *generate.prompt_to_override([prompt])[:1], f"mode={mode}", "steps=25", "n=2",
                                                         f"out_dir={ROOT / 'generate'}", "overwrite=true"]))
    step("done. Files:")
    for p in written:
        print(f"  {p}")
    return written


if __name__ == "__main__":
    main()
