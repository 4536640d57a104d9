"""The one guided sampling loop, checked with oracle denoisers whose right answer is known."""

import pytest
import torch

from clipsonic.sampling import guided_sample, make_scheduler
from gm_common.errors import ConfigError

X0 = torch.linspace(-0.8, 0.8, 12).reshape(2, 1, 2, 3)  # [B, 1, n_mels, frames]


@pytest.mark.parametrize("kind", ["ddim", "dpm", "ddpm"])
def test_an_oracle_noise_predictor_recovers_the_data(kind):
    sched = make_scheduler(kind, 100, "squaredcos_cap_v2")
    alphas = sched.alphas_cumprod

    def oracle(x, t, cond):  # the noise that makes x from X0 at step t
        a = alphas[t].view(-1, 1, 1, 1)
        return (x - a.sqrt() * X0) / (1 - a).sqrt()

    out = guided_sample(
        oracle, torch.zeros(2, 3), tuple(X0.shape), sched, steps=20, generator=torch.Generator().manual_seed(0)
    )
    assert torch.allclose(out, X0, atol=1e-2)


def test_guidance_mixes_conditional_and_unconditional_predictions():
    """With clean-sample prediction, DDIM ends on the guided prediction u + g * (c - u)."""
    sched = make_scheduler("ddim", 100, "squaredcos_cap_v2", prediction_type="sample", clip_sample=False)
    cond, null = torch.ones(2, 6), torch.zeros(2, 6)

    def predict(x, t, c):  # clean sample 0.5 for the condition, -0.5 without
        return torch.where(c > 0.5, 0.5, -0.5)

    out = guided_sample(
        predict, cond, (2, 6), sched, steps=5, guidance=3.0, null=null, generator=torch.Generator().manual_seed(0)
    )
    assert torch.allclose(out, torch.full((2, 6), -0.5 + 3.0 * 1.0), atol=1e-5)
    plain = guided_sample(predict, cond, (2, 6), sched, steps=5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(plain, torch.full((2, 6), 0.5), atol=1e-5)


def test_bad_settings():
    with pytest.raises(ConfigError, match="unknown sampler"):
        make_scheduler("euler", 100, "linear")
    sched = make_scheduler("ddim", 100, "linear")
    with pytest.raises(ConfigError, match="steps"):
        guided_sample(lambda x, t, c: x, torch.zeros(1, 2), (1, 2), sched, steps=0)
    with pytest.raises(ConfigError, match="unconditional"):
        guided_sample(lambda x, t, c: x, torch.zeros(1, 2), (1, 2), sched, steps=2, guidance=2.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind", ["ddim", "ddpm"])
def test_a_generator_on_the_gpu_draws_the_noise_there(kind):
    """The device check's sampling failed with a CUDA generator: the first noise was drawn on the CPU."""
    sched = make_scheduler(kind, 100, "squaredcos_cap_v2")
    cond = torch.zeros(2, 3, device="cuda")
    out = guided_sample(
        lambda x, t, c: torch.zeros_like(x), cond, tuple(X0.shape), sched, 5,
        generator=torch.Generator(device="cuda").manual_seed(0),
    )  # fmt: skip
    assert out.device.type == "cuda" and torch.isfinite(out).all()
