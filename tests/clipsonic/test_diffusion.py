import pytest
import torch

from gm_common.errors import CheckpointError, ConfigError

from clipsonic.diffusion import MelDiffusion, load_diffusion
from clipsonic.prior import DiffusionPrior

MODEL = {
    "unet": {"block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
             "layers_per_block": 1, "attention_head_dim": 8, "norm_num_groups": 4},
    "cond_drop_prob": 0.5, "num_train_timesteps": 100, "beta_schedule": "squaredcos_cap_v2", "lr": 1e-3, "weight_decay": 0.0, "warmup_steps": 1,
}
MEL = {"sample_rate": 16000, "n_fft": 1024, "hop_length": 256, "n_mels": 16, "frames": 16}


def _model():
    torch.manual_seed(0)
    return MelDiffusion(MODEL, MEL, {"lo": -11.5, "hi": 2.0}, cond_dim=8)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm"])
def test_samplers_shapes_and_guidance(sampler):
    m = _model()
    cond = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    x = m.sample(cond, sampler, steps=3, guidance=2.5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (3, 1, 16, 16) and x.abs().max() <= 1
    y = m.sample(cond, sampler, steps=3, guidance=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(y).all()
    assert m.to_log_mel(x).shape == (3, 16, 16)


def test_training_loss_drops_condition():
    m = _model()
    mels, cond = torch.rand(4, 1, 16, 16) * 2 - 1, torch.randn(4, 8)
    loss = m.training_step((mels, cond), 0)
    loss.backward()
    assert m.null_cond.grad is not None  # condition dropout uses the learned null embedding
    assert m.cond_proj[0].weight.grad is not None


def test_embedding_size_mismatch_is_clear(tmp_path):
    m = _model()
    with pytest.raises(CheckpointError, match="does not match"):
        m.sample(torch.randn(1, 5), "ddim", 2)
    with pytest.raises(ConfigError, match="unknown sampler"):
        m.sample(torch.randn(1, 8), "euler", 2)
    path = tmp_path / "m.ckpt"
    torch.save({"hyper_parameters": dict(m.hparams), "state_dict": m.state_dict()}, path)
    assert load_diffusion(path, expect_cond_dim=8).hparams.cond_dim == 8
    with pytest.raises(CheckpointError, match="CLIP embedding size 16"):
        load_diffusion(path, expect_cond_dim=16)
    with pytest.raises(CheckpointError, match="not found"):
        load_diffusion(tmp_path / "none.ckpt")


def test_prior_samples_unit_vectors():
    p = DiffusionPrior(dim=8, hidden=16, layers=1, num_train_timesteps=50)
    out = p.sample(torch.nn.functional.normalize(torch.randn(2, 8), dim=-1), steps=3)
    assert out.shape == (2, 8) and torch.allclose(out.norm(dim=-1), torch.ones(2), atol=1e-5)
    with pytest.raises(CheckpointError):
        p.sample(torch.randn(2, 4))
