"""A tiny synthetic world (a few short videos, a few captioned images) and tiny models trained on it for a
couple of steps, shared by the clipsonic tests; and the same models exported as a shipped model set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

CLIP_TINY = [
    "clip.model_kwargs.embed_dim=32",
    "clip.model_kwargs.vision_cfg.layers=1",
    "clip.model_kwargs.vision_cfg.width=32",
    "clip.model_kwargs.text_cfg.layers=1",
    "clip.model_kwargs.text_cfg.width=32",
    "clip.model_kwargs.text_cfg.heads=2",
]
MEL_TINY = ["data.mel.n_mels=32", "data.mel.frames=32"]
MODEL_TINY = [
    "model.unet.block_out_channels=[8,16,16]",
    "model.unet.norm_num_groups=4",
    "model.unet.attention_head_dim=8",
    *MEL_TINY,
    "data.frames_per_video=2",
    "data.batch_size=4",
]
PRIOR_TINY = ["data.batch_size=8", "model.hidden=32", "model.layers=1"]
VOCODER_TINY = [*MEL_TINY, "data.batch_size=4", "model.channels=16", "model.blocks=1"]
TRAINER_TINY = ["trainer.max_steps=2", "+trainer.enable_model_summary=false"]


class World:
    """Paths and config overrides of the tiny world under ``root`` (also a model folder for ``models=``)."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data" / "synthetic"

    def common(self) -> list[str]:
        return [f"root={self.root}", *CLIP_TINY]

    def train_overrides(self, *extra: str) -> list[str]:
        return [*self.common(), *MODEL_TINY, *TRAINER_TINY, *extra]

    def gen_overrides(self, *extra: str) -> list[str]:
        return [f"root={self.root}", f"models={self.root}", "steps=2", *extra]

    def eval_overrides(self, *extra: str) -> list[str]:
        return [*self.gen_overrides(), *MEL_TINY, "data.frames_per_video=2", "per_class=1", "judge_steps=3", *extra]


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    from clipsonic import train, train_clip, train_prior, train_vocoder
    from clipsonic.data.synthesize import synthesize
    from gm_common.cli import compose

    w = World(tmp_path_factory.mktemp("clipsonic_world"))
    synthesize(
        w.data, videos_per_class=3, caption_images=48, image_size=32, fps=4, seconds=0.6, split=(0.34, 0.33, 0.33)
    )
    train_clip.run(compose("clipsonic", "train_clip", [*w.common(), *TRAINER_TINY, "data.batch_size=8"]))
    train_prior.run(compose("clipsonic", "train_prior", [*w.common(), *TRAINER_TINY, *PRIOR_TINY]))
    train.run(compose("clipsonic", "train", w.train_overrides()))
    train_vocoder.run(compose("clipsonic", "train_vocoder", [f"root={w.root}", *TRAINER_TINY, *VOCODER_TINY]))
    return w


@pytest.fixture(scope="session")
def shipped(world, tmp_path_factory) -> Path:
    """The tiny world's models exported as the shipped model set ``tiny`` under a fresh pretrained root."""
    from clipsonic.clip import export_clip
    from gm_common.pretrained import export_checkpoint, write_card

    root = tmp_path_factory.mktemp("pretrained")
    folder = root / "tiny"
    export_clip(world.root / "clip" / "clip.pt", folder / "clip.safetensors")
    for part in ("prior", "diffusion", "vocoder"):
        export_checkpoint(world.root / part / "checkpoints" / "last.ckpt", folder / f"{part}.safetensors")
    write_card(folder, {"toolkit": "clipsonic", "summary": "tiny test models"})
    return root
