"""The conditional mel diffusion model: a diffusers UNet over normalised log-mels, conditioned on a CLIP
embedding (projected and added to the timestep embedding), condition dropout for classifier-free guidance,
DDPM training; sampling through :mod:`clipsonic.sampling`."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from clipsonic.data.dataset import denormalize
from clipsonic.sampling import guided_sample, make_scheduler
from gm_common.checkpoint import load_model
from gm_common.errors import CheckpointError, ConfigError
from gm_common.schedules import WarmupDecay, per_step

MODEL_KEYS = {"unet", "cond_drop_prob", "num_train_timesteps", "beta_schedule", "lr", "weight_decay", "warmup_steps"}


def build_unet(unet: dict, n_mels: int, frames: int) -> nn.Module:
    """A diffusers ``UNet2DModel`` over [1, n_mels, frames] whose class embedding is an added vector."""
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=(n_mels, frames),
        in_channels=1,
        out_channels=1,
        block_out_channels=tuple(unet["block_out_channels"]),
        down_block_types=tuple(unet["down_block_types"]),
        up_block_types=tuple(unet["up_block_types"]),
        layers_per_block=int(unet["layers_per_block"]),
        attention_head_dim=int(unet["attention_head_dim"]),
        norm_num_groups=int(unet["norm_num_groups"]),
        class_embed_type="identity",
    )


class MelDiffusion(L.LightningModule):
    """``hparams`` are plain types (the checkpoint loads with weights_only=True): the model config ``model``
    (UNet, condition dropout, noise schedule, optimiser), the mel config, normalisation stats and the CLIP
    embedding size ``cond_dim``."""

    def __init__(self, model: dict, mel: dict, stats: dict, cond_dim: int, clip: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.unet = build_unet(model["unet"], int(mel["n_mels"]), int(mel["frames"]))
        emb = int(model["unet"]["block_out_channels"][0]) * 4
        self.cond_proj = nn.Sequential(nn.Linear(cond_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.null_cond = nn.Parameter(torch.randn(cond_dim) / cond_dim**0.5)  # the "no condition" embedding
        self.train_sched = make_scheduler("ddpm", int(model["num_train_timesteps"]), model["beta_schedule"])

    @classmethod
    def from_config(cls, mel: dict, stats: dict, cond_dim: int, clip: dict | None = None, **model) -> MelDiffusion:
        """Build from a ``model/*.yaml`` config (its keys are ``model``) and what the data gives."""
        if set(model) != MODEL_KEYS:
            unknown, missing = sorted(set(model) - MODEL_KEYS), sorted(MODEL_KEYS - set(model))
            raise ConfigError(f"diffusion model config: unknown keys {unknown}, missing keys {missing}")
        return cls(model=model, mel=mel, stats=stats, cond_dim=cond_dim, clip=clip)

    def eps(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The predicted noise of noisy mels ``x`` at timesteps ``t`` for unit CLIP embeddings ``cond``."""
        return self.unet(x, t, class_labels=self.cond_proj(cond * cond.shape[-1] ** 0.5)).sample

    def _loss(self, mels: torch.Tensor, cond: torch.Tensor, drop: float, generator=None) -> torch.Tensor:
        b, dev = mels.shape[0], (generator.device if generator is not None else self.device)
        if drop > 0:
            mask = torch.rand(b, device=dev, generator=generator).to(self.device) < drop
            cond = torch.where(mask[:, None], self.null_cond.expand_as(cond), cond)
        noise = torch.randn(mels.shape, device=dev, generator=generator).to(self.device)
        steps = self.train_sched.config.num_train_timesteps
        t = torch.randint(0, steps, (b,), device=dev, generator=generator).to(self.device)
        noisy = self.train_sched.add_noise(mels, noise, t)
        return F.mse_loss(self.eps(noisy, t, cond), noise)

    def training_step(self, batch, _):
        """Denoising loss with the condition dropped at random (``cond_drop_prob``)."""
        loss = self._loss(*batch, drop=float(self.hparams.model["cond_drop_prob"]))
        self.log("train/loss", loss, prog_bar=True, batch_size=batch[0].shape[0])
        return loss

    def validation_step(self, batch, idx):
        """Denoising loss with fixed noise per batch, drawn on the CPU: the same figure on every device and
        at every validation."""
        g = torch.Generator().manual_seed(1234 + idx)
        loss = self._loss(*batch, drop=0.0, generator=g)
        self.log("val/loss", loss, prog_bar=True, batch_size=batch[0].shape[0], sync_dist=True)

    def configure_optimizers(self):
        """AdamW, linear warm-up then a constant learning rate."""
        m = self.hparams.model
        opt = torch.optim.AdamW(self.parameters(), lr=float(m["lr"]), weight_decay=float(m["weight_decay"]))
        return per_step(opt, WarmupDecay(total_steps=1, warmup_steps=max(1, int(m["warmup_steps"])), shape="constant"))

    def sample(
        self,
        cond: torch.Tensor,
        sampler: str = "ddim",
        steps: int = 50,
        guidance: float = 3.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Normalised mels [B, 1, n_mels, frames] for CLIP embeddings ``cond`` [B, D] (classifier-free
        guidance: eps = eps_uncond + guidance * (eps_cond - eps_uncond); guidance 1 = conditional only)."""
        if cond.ndim != 2 or cond.shape[1] != self.hparams.cond_dim:
            raise CheckpointError(
                f"embedding size {tuple(cond.shape[1:])} does not match the diffusion model's "
                f"CLIP size {self.hparams.cond_dim}"
            )
        m = self.hparams.model
        scheduler = make_scheduler(sampler, int(m["num_train_timesteps"]), m["beta_schedule"])
        self.eval()
        cond = cond.to(self.device, torch.float32)
        shape = (cond.shape[0], 1, int(self.hparams.mel["n_mels"]), int(self.hparams.mel["frames"]))
        x = guided_sample(self.eps, cond, shape, scheduler, steps, guidance, self.null_cond.expand_as(cond), generator)
        return x.clamp(-1, 1)

    def to_log_mel(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised mels [B, 1, n_mels, frames] -> log-mels [B, n_mels, frames]."""
        return denormalize(x.squeeze(1), self.hparams.stats)


def load_diffusion(path: str | Path, expect_cond_dim: int | None = None) -> MelDiffusion:
    """A trained MelDiffusion from a Lightning checkpoint or a shipped ``.safetensors`` file; a clear error
    when the CLIP embedding size it was trained with differs from ``expect_cond_dim``."""
    model, hp = load_model(
        path, lambda hp: MelDiffusion(**hp), "clipsonic diffusion", needs=("model", "mel", "stats", "cond_dim")
    )
    if expect_cond_dim is not None and int(hp["cond_dim"]) != int(expect_cond_dim):
        raise CheckpointError(
            f"CLIP embedding size {expect_cond_dim} does not match the diffusion model in {path} "
            f"(trained with {hp['cond_dim']}); use the CLIP it was trained with"
        )
    return model
