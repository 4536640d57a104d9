"""Sampling, kept apart from the models as diffusers keeps its schedulers apart from its pipelines: the
scheduler factory and the one guided sampling loop that both the mel diffusion model and the prior use."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gm_common.errors import ConfigError

SAMPLERS = ("ddpm", "ddim", "dpm")
Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def make_scheduler(
    kind: str, num_train_timesteps: int, beta_schedule: str, prediction_type: str = "epsilon", clip_sample: bool = True
):
    """A diffusers scheduler: ``ddpm`` (training and ancestral sampling), ``ddim`` or ``dpm`` (DPM-Solver++).

    ``clip_sample`` keeps the predicted clean sample in [-1, 1] (the mel range); for DPM-Solver it turns on
    dynamic thresholding (max 1), which keeps the first steps of the cosine schedule, where alpha_bar ~ 0,
    from blowing up.
    """
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

    common = dict(num_train_timesteps=num_train_timesteps, beta_schedule=beta_schedule, prediction_type=prediction_type)
    if kind == "ddpm":
        return DDPMScheduler(**common, clip_sample=clip_sample)
    if kind == "ddim":
        return DDIMScheduler(**common, clip_sample=clip_sample)
    if kind == "dpm":
        return DPMSolverMultistepScheduler(
            **common, algorithm_type="dpmsolver++", solver_order=2, thresholding=clip_sample, sample_max_value=1.0
        )
    raise ConfigError(f"unknown sampler {kind!r}; choose one of {', '.join(SAMPLERS)}")


@torch.no_grad()
def guided_sample(
    denoise: Denoiser,
    cond: torch.Tensor,
    shape: tuple[int, ...],
    scheduler,
    steps: int,
    guidance: float = 1.0,
    null: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Run ``scheduler`` for ``steps`` steps from Gaussian noise of ``shape`` with ``denoise(x, t, cond)``.

    Classifier-free guidance when ``guidance != 1``: the output is ``u + guidance * (c - u)`` of the
    conditional (``cond``) and unconditional (``null``, the same shape) predictions, computed in one batch.
    """
    if steps < 1:
        raise ConfigError("steps must be >= 1")
    if guidance != 1.0 and null is None:
        raise ConfigError("classifier-free guidance needs an unconditional embedding")
    scheduler.set_timesteps(min(steps, int(scheduler.config.num_train_timesteps)))
    device, b = cond.device, cond.shape[0]
    noise_device = generator.device if generator is not None else "cpu"  # a CPU generator: the same noise anywhere
    x = torch.randn(shape, generator=generator, device=noise_device).to(device) * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        xin = scheduler.scale_model_input(x, t)
        if guidance == 1.0:
            out = denoise(xin, t.expand(b).to(device), cond)
        else:
            both = denoise(torch.cat([xin, xin]), t.expand(2 * b).to(device), torch.cat([cond, null]))
            out_c, out_u = both.chunk(2)
            out = out_u + guidance * (out_c - out_u)
        x = scheduler.step(out, t, x, generator=generator).prev_sample
    return x
