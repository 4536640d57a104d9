"""Diffusion prior (as in DALL-E 2): maps a CLIP text embedding to a CLIP image embedding. An MLP denoiser
over scaled unit vectors predicts the clean image embedding from (noisy embedding, text embedding, t);
trained on image-caption pairs; sampled with DDIM."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gm_common.checkpoint import load_checkpoint, load_weights
from gm_common.errors import CheckpointError
from gm_common.files import atomic_path


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
    a = t.float()[:, None] * freqs[None]
    return torch.cat([a.sin(), a.cos()], dim=-1)


class PriorNet(nn.Module):
    def __init__(self, dim: int, hidden: int, layers: int):
        super().__init__()
        self.dim, self.hidden = dim, hidden
        self.inp = nn.Linear(3 * dim, hidden)
        self.time = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden * 2), nn.SiLU(), nn.Linear(hidden * 2, hidden)) for _ in range(layers))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        h = self.inp(torch.cat([x, text, x * text], -1)) + self.time(timestep_embedding(t, self.hidden))
        for blk in self.blocks:
            h = h + blk(h)
        return self.out(h)


class DiffusionPrior(L.LightningModule):
    def __init__(self, dim: int, hidden: int = 512, layers: int = 4, num_train_timesteps: int = 1000, lr: float = 3e-4):
        super().__init__()
        self.save_hyperparameters()
        from diffusers import DDPMScheduler

        self.net = PriorNet(dim, hidden, layers)
        self.sched = DDPMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule="squaredcos_cap_v2", prediction_type="sample", clip_sample=False)
        self.scale = dim**0.5  # unit vectors -> entries of unit variance

    def _loss(self, text: torch.Tensor, image: torch.Tensor, generator=None) -> torch.Tensor:
        x0 = image * self.scale
        noise = torch.randn(x0.shape, device=self.device, generator=generator)
        t = torch.randint(0, self.sched.config.num_train_timesteps, (x0.shape[0],), device=self.device, generator=generator)
        pred = self.net(self.sched.add_noise(x0, noise, t), t, text * self.scale)
        return F.mse_loss(pred, x0)

    def training_step(self, batch, _):
        loss = self._loss(*batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch[0].shape[0])
        return loss

    def validation_step(self, batch, idx):
        g = torch.Generator(device=self.device).manual_seed(99 + idx)
        self.log("val/loss", self._loss(*batch, generator=g), prog_bar=True, batch_size=batch[0].shape[0], sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=0.0)

    @torch.no_grad()
    def sample(self, text: torch.Tensor, steps: int = 50, generator: torch.Generator | None = None) -> torch.Tensor:
        """Unit image embeddings [B, D] for unit text embeddings [B, D]."""
        from diffusers import DDIMScheduler

        if text.ndim != 2 or text.shape[1] != self.hparams.dim:
            raise CheckpointError(f"text embedding size {tuple(text.shape[1:])} does not match the prior's CLIP size {self.hparams.dim}")
        self.eval()
        sched = DDIMScheduler(num_train_timesteps=self.hparams.num_train_timesteps, beta_schedule="squaredcos_cap_v2", prediction_type="sample", clip_sample=False)
        sched.set_timesteps(steps)
        text = text.to(self.device).float() * self.scale
        x = torch.randn(text.shape, generator=generator).to(self.device)
        for t in sched.timesteps:
            x0 = self.net(x, t.expand(text.shape[0]).to(self.device), text)
            x = sched.step(x0, t, x).prev_sample
        return F.normalize(x, dim=-1)


def load_prior(path: str | Path, expect_dim: int | None = None) -> DiffusionPrior:
    ckpt = load_checkpoint(path)
    hp = ckpt.get("hyper_parameters")
    if not hp or "dim" not in hp or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a clipsonic prior checkpoint")
    if expect_dim is not None and int(hp["dim"]) != int(expect_dim):
        raise CheckpointError(f"CLIP embedding size {expect_dim} does not match the prior in {path} (trained with {hp['dim']})")
    model = DiffusionPrior(**hp)
    load_weights(model, ckpt["state_dict"], path, what="prior")
    return model.eval()


def caption_embeddings(captions_csv: str | Path, clip, clip_key: str, cache_dir: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text embeddings, image embeddings, labels) of the image-caption set, cached on disk."""
    from clipsonic.clip import CaptionImages

    ds = CaptionImages(captions_csv)
    st = Path(captions_csv).stat()
    key = hashlib.sha1(json.dumps([clip_key, str(Path(captions_csv).resolve()), st.st_size, int(st.st_mtime)]).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"captions-{key}.npz"
    if not path.is_file():
        text, image = clip.embed_texts(ds.captions), clip.embed_images(ds.images())
        with atomic_path(path) as tmp:
            np.savez(tmp, text=text, image=image, labels=ds.labels)
    with np.load(path) as z:
        return z["text"], z["image"], z["labels"]
