"""The conditional mel diffusion model: a diffusers UNet over normalised log-mels, conditioned on a CLIP
embedding (projected and added to the timestep embedding), condition dropout for classifier-free guidance,
DDPM training, and DDPM / DDIM / DPM-Solver sampling with a guidance scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from gm_common.checkpoint import load_checkpoint, load_weights
from gm_common.errors import CheckpointError, ConfigError

SAMPLERS = ("ddpm", "ddim", "dpm")


def build_unet(unet: dict, n_mels: int, frames: int):
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


def make_scheduler(kind: str, num_train_timesteps: int, beta_schedule: str):
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

    common = dict(num_train_timesteps=num_train_timesteps, beta_schedule=beta_schedule, prediction_type="epsilon")
    if kind == "ddpm":
        return DDPMScheduler(**common, clip_sample=True)
    if kind == "ddim":
        return DDIMScheduler(**common, clip_sample=True)
    if kind == "dpm":
        # dynamic thresholding of the x0 prediction (max 1: the data range) keeps the first steps of the cosine
        # schedule, where alpha_bar ~ 0, from blowing up
        return DPMSolverMultistepScheduler(**common, algorithm_type="dpmsolver++", solver_order=2, thresholding=True, sample_max_value=1.0)
    raise ConfigError(f"unknown sampler {kind!r}; choose one of {', '.join(SAMPLERS)}")


class MelDiffusion(L.LightningModule):
    """``hparams`` are plain types (the checkpoint loads with weights_only=True): model config, mel config,
    normalisation stats and the CLIP embedding size ``cond_dim``."""

    def __init__(self, model: dict, mel: dict, stats: dict, cond_dim: int, clip: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.unet = build_unet(model["unet"], int(mel["n_mels"]), int(mel["frames"]))
        emb = int(model["unet"]["block_out_channels"][0]) * 4
        self.cond_proj = nn.Sequential(nn.Linear(cond_dim, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.null_cond = nn.Parameter(torch.randn(cond_dim) / cond_dim**0.5)  # the "no condition" embedding
        self.train_sched = make_scheduler("ddpm", int(model["num_train_timesteps"]), model["beta_schedule"])

    # ------------------------------------------------------------------ network
    def eps(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.unet(x, t, class_labels=self.cond_proj(cond * cond.shape[-1] ** 0.5)).sample

    def _loss(self, mels: torch.Tensor, cond: torch.Tensor, drop: float, generator=None) -> torch.Tensor:
        b = mels.shape[0]
        if drop > 0:
            mask = torch.rand(b, device=self.device, generator=generator) < drop
            cond = torch.where(mask[:, None], self.null_cond.expand_as(cond), cond)
        noise = torch.randn(mels.shape, device=self.device, generator=generator)
        t = torch.randint(0, self.train_sched.config.num_train_timesteps, (b,), device=self.device, generator=generator)
        noisy = self.train_sched.add_noise(mels, noise, t)
        return F.mse_loss(self.eps(noisy, t, cond), noise)

    def training_step(self, batch, _):
        loss = self._loss(*batch, drop=float(self.hparams.model["cond_drop_prob"]))
        self.log("train/loss", loss, prog_bar=True, batch_size=batch[0].shape[0])
        return loss

    def validation_step(self, batch, idx):
        g = torch.Generator(device=self.device).manual_seed(1234 + idx)
        self.log("val/loss", self._loss(*batch, drop=0.0, generator=g), prog_bar=True, batch_size=batch[0].shape[0], sync_dist=True)

    def configure_optimizers(self):
        m = self.hparams.model
        opt = torch.optim.AdamW(self.parameters(), lr=float(m["lr"]), weight_decay=float(m["weight_decay"]))
        warm = max(1, int(m["warmup_steps"]))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, cond: torch.Tensor, sampler: str = "ddim", steps: int = 50, guidance: float = 3.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Normalised mels [B, 1, n_mels, frames] for CLIP embeddings ``cond`` [B, D] (classifier-free
        guidance: eps = eps_uncond + guidance * (eps_cond - eps_uncond); guidance 1 = conditional only)."""
        if cond.ndim != 2 or cond.shape[1] != self.hparams.cond_dim:
            raise CheckpointError(f"embedding size {tuple(cond.shape[1:])} does not match the diffusion model's CLIP size {self.hparams.cond_dim}")
        if steps < 1:
            raise ConfigError("steps must be >= 1")
        self.eval()
        cond = cond.to(self.device, torch.float32)
        m = self.hparams.model
        sched = make_scheduler(sampler, int(m["num_train_timesteps"]), m["beta_schedule"])
        sched.set_timesteps(min(steps, int(m["num_train_timesteps"])))
        b = cond.shape[0]
        shape = (b, 1, int(self.hparams.mel["n_mels"]), int(self.hparams.mel["frames"]))
        x = torch.randn(shape, generator=generator).to(self.device) * sched.init_noise_sigma
        null = self.null_cond.expand_as(cond)
        for t in sched.timesteps:
            xin = sched.scale_model_input(x, t)
            if guidance == 1.0:
                eps = self.eps(xin, t.expand(b).to(self.device), cond)
            else:
                e = self.eps(torch.cat([xin, xin]), t.expand(2 * b).to(self.device), torch.cat([cond, null]))
                eps_c, eps_u = e.chunk(2)
                eps = eps_u + guidance * (eps_c - eps_u)
            x = sched.step(eps, t, x, generator=generator).prev_sample if sampler == "ddpm" else sched.step(eps, t, x).prev_sample
        return x.clamp(-1, 1)

    def to_log_mel(self, x: torch.Tensor) -> torch.Tensor:
        from clipsonic.data.dataset import denormalize

        return denormalize(x.squeeze(1), self.hparams.stats)


def load_diffusion(path: str | Path, expect_cond_dim: int | None = None) -> MelDiffusion:
    """A trained MelDiffusion from a Lightning checkpoint (weights_only); a clear error when the CLIP
    embedding size it was trained with differs from ``expect_cond_dim``."""
    ckpt: dict[str, Any] = load_checkpoint(path)
    hp = ckpt.get("hyper_parameters")
    if not hp or "cond_dim" not in hp or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a clipsonic diffusion checkpoint")
    if expect_cond_dim is not None and int(hp["cond_dim"]) != int(expect_cond_dim):
        raise CheckpointError(
            f"CLIP embedding size {expect_cond_dim} does not match the diffusion model in {path} (trained with {hp['cond_dim']}); use the CLIP it was trained with"
        )
    model = MelDiffusion(**hp)
    load_weights(model, ckpt["state_dict"], path)
    return model.eval()
