"""A tiny synthetic world (a few short videos, a few captioned images) and tiny models trained on it for a
couple of steps, shared by the clipsonic tests."""

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
MODEL_TINY = [
    "model.unet.block_out_channels=[8,16,16]",
    "model.unet.norm_num_groups=4",
    "model.unet.attention_head_dim=8",
    "data.mel.n_mels=32",
    "data.mel.frames=32",
    "data.frames_per_video=2",
    "data.batch_size=4",
]
TRAINER_TINY = ["trainer.max_steps=2", "+trainer.enable_model_summary=false"]


class World:
    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data" / "synthetic"

    def common(self) -> list[str]:
        return [f"root={self.root}", *CLIP_TINY]

    def train_overrides(self, *extra: str) -> list[str]:
        return [*self.common(), *MODEL_TINY, *TRAINER_TINY, *extra]

    def gen_overrides(self, *extra: str) -> list[str]:
        return [*self.common(), "steps=2", *extra]

    def eval_overrides(self, *extra: str) -> list[str]:
        return [*self.common(), "data.mel.n_mels=32", "data.mel.frames=32", "data.frames_per_video=2", "per_class=1", "steps=2", "judge_steps=3", *extra]


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    from clipsonic._cli import compose
    from clipsonic import train, train_clip, train_prior
    from clipsonic.data.synthesize import synthesize

    w = World(tmp_path_factory.mktemp("clipsonic_world"))
    synthesize(w.data, videos_per_class=3, caption_images=48, image_size=32, fps=4, seconds=0.6, split=(0.34, 0.33, 0.33))
    train_clip.run(compose("train_clip", [*w.common(), *TRAINER_TINY, "batch_size=8"]))
    train_prior.run(compose("train_prior", [*w.common(), *TRAINER_TINY, "batch_size=8", "prior.hidden=32", "prior.layers=1"]))
    train.run(compose("train", w.train_overrides()))
    return w
