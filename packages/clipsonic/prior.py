"""Diffusion prior (as in DALL-E 2): maps a CLIP text embedding to a CLIP image embedding. An MLP denoiser
over scaled unit vectors predicts the clean image embedding from (noisy embedding, text embedding, t);
trained on image-caption pairs; sampled with DDIM through :mod:`clipsonic.sampling`."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from clipsonic.sampling import guided_sample, make_scheduler
from gm_common.checkpoint import load_model
from gm_common.errors import CheckpointError

BETA_SCHEDULE = "squaredcos_cap_v2"


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding [B, dim] of integer timesteps ``t`` [B]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
    a = t.float()[:, None] * freqs[None]
    return torch.cat([a.sin(), a.cos()], dim=-1)


class PriorNet(nn.Module):
    """Residual MLP: (noisy image embedding, text embedding, t) -> clean image embedding."""

    def __init__(self, dim: int, hidden: int, layers: int):
        super().__init__()
        self.dim, self.hidden = dim, hidden
        self.inp = nn.Linear(3 * dim, hidden)
        self.time = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden * 2), nn.SiLU(), nn.Linear(hidden * 2, hidden))
            for _ in range(layers)
        )
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """The predicted clean (scaled) image embedding [B, dim]."""
        h = self.inp(torch.cat([x, text, x * text], -1)) + self.time(timestep_embedding(t, self.hidden))
        for blk in self.blocks:
            h = h + blk(h)
        return self.out(h)


class DiffusionPrior(L.LightningModule):
    """Lightning wrapper of :class:`PriorNet`: DDPM training on (text, image) embedding pairs, DDIM sampling."""

    def __init__(self, dim: int, hidden: int = 512, layers: int = 4, num_train_timesteps: int = 1000, lr: float = 3e-4):
        super().__init__()
        self.save_hyperparameters()
        self.net = PriorNet(dim, hidden, layers)
        self.train_sched = make_scheduler("ddpm", num_train_timesteps, BETA_SCHEDULE, "sample", clip_sample=False)
        self.scale = dim**0.5  # unit vectors -> entries of unit variance

    def _loss(self, text: torch.Tensor, image: torch.Tensor, generator=None) -> torch.Tensor:
        x0 = image * self.scale
        noise = torch.randn(x0.shape, device=self.device, generator=generator)
        steps = self.train_sched.config.num_train_timesteps
        t = torch.randint(0, steps, (x0.shape[0],), device=self.device, generator=generator)
        pred = self.net(self.train_sched.add_noise(x0, noise, t), t, text * self.scale)
        return F.mse_loss(pred, x0)

    def training_step(self, batch, _):
        """Loss of the clean-embedding prediction at a random timestep."""
        loss = self._loss(*batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch[0].shape[0])
        return loss

    def validation_step(self, batch, idx):
        """The same loss with fixed noise per batch."""
        g = torch.Generator(device=self.device).manual_seed(99 + idx)
        self.log(
            "val/loss", self._loss(*batch, generator=g), prog_bar=True, batch_size=batch[0].shape[0], sync_dist=True
        )

    def configure_optimizers(self):
        """AdamW at a constant learning rate."""
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=0.0)

    def sample(
        self, text: torch.Tensor, steps: int = 50, generator: torch.Generator | None = None, candidates: int = 1
    ) -> torch.Tensor:
        """Unit image embeddings [B, D] for unit text embeddings [B, D]; with ``candidates`` > 1, that many are
        drawn per text and the one most similar to it is kept (DALL-E 2 draws two)."""
        if text.ndim != 2 or text.shape[1] != self.hparams.dim:
            raise CheckpointError(
                f"text embedding size {tuple(text.shape[1:])} does not match the prior's CLIP size {self.hparams.dim}"
            )
        self.eval()
        scheduler = make_scheduler("ddim", self.hparams.num_train_timesteps, BETA_SCHEDULE, "sample", clip_sample=False)
        text = text.to(self.device).float()
        cond = text.repeat_interleave(int(candidates), 0) * self.scale
        x = F.normalize(guided_sample(self.net, cond, tuple(cond.shape), scheduler, steps, generator=generator), dim=-1)
        x = x.view(len(text), int(candidates), -1)
        best = (x * F.normalize(text, dim=-1)[:, None]).sum(-1).argmax(1)
        return x[torch.arange(len(text), device=x.device), best]


def load_prior(path: str | Path, expect_dim: int | None = None) -> DiffusionPrior:
    """A trained prior from a Lightning checkpoint or a shipped ``.safetensors`` file; a clear error when its
    CLIP embedding size differs from ``expect_dim``."""
    model, hp = load_model(path, lambda hp: DiffusionPrior(**hp), "clipsonic prior", needs=("dim",))
    if expect_dim is not None and int(hp["dim"]) != int(expect_dim):
        raise CheckpointError(
            f"CLIP embedding size {expect_dim} does not match the prior in {path} (trained with {hp['dim']})"
        )
    return model
