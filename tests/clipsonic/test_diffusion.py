import pytest
import torch

from clipsonic.diffusion import MelDiffusion, load_diffusion
from clipsonic.prior import DiffusionPrior
from gm_common.errors import CheckpointError, ConfigError

UNET = {"block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "layers_per_block": 1,
        "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "attention_head_dim": 8, "norm_num_groups": 4}  # fmt: skip
MODEL = {"unet": UNET, "cond_drop_prob": 0.5, "num_train_timesteps": 100, "beta_schedule": "squaredcos_cap_v2",
         "lr": 1e-3, "weight_decay": 0.0, "warmup_steps": 1}  # fmt: skip
MEL = {"sample_rate": 16000, "n_fft": 1024, "hop_length": 256, "n_mels": 16, "frames": 16}


def _model(drop: float = 0.5) -> MelDiffusion:
    torch.manual_seed(0)
    return MelDiffusion({**MODEL, "cond_drop_prob": drop}, MEL, {"lo": -11.5, "hi": 2.0}, cond_dim=8)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm"])
def test_samplers_are_seeded_and_guidance_matters(sampler):
    m = _model()
    cond = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)

    def sample(guidance, seed=0):
        return m.sample(cond, sampler, steps=3, guidance=guidance, generator=torch.Generator().manual_seed(seed))

    x = sample(2.5)
    assert x.shape == (3, 1, 16, 16) and torch.equal(x, sample(2.5))
    assert not torch.equal(x, sample(1.0)) and not torch.equal(x, sample(2.5, seed=1))
    assert m.to_log_mel(x).shape == (3, 16, 16)


def test_condition_dropout_replaces_the_condition_by_the_null_embedding():
    mels, cond, other = torch.rand(4, 1, 16, 16) * 2 - 1, torch.randn(4, 8), torch.randn(4, 8)

    def loss(model, c, drop):
        return model._loss(mels, c, drop=drop, generator=torch.Generator().manual_seed(0))

    m = _model()
    assert loss(m, cond, 1.0) == loss(m, other, 1.0)  # every row dropped: the condition is not used
    assert loss(m, cond, 0.0) != loss(m, other, 0.0)
    loss(m, cond, 1.0).backward()
    assert m.null_cond.grad.abs().sum() > 0
    m.zero_grad()
    loss(m, cond, 0.0).backward()
    assert m.null_cond.grad is None or m.null_cond.grad.abs().sum() == 0


def test_embedding_size_mismatch_is_clear(tmp_path):
    m = _model()
    with pytest.raises(CheckpointError, match="does not match"):
        m.sample(torch.randn(1, 5), "ddim", 2)
    with pytest.raises(ConfigError, match="unknown sampler"):
        m.sample(torch.randn(1, 8), "euler", 2)
    path = tmp_path / "m.ckpt"
    torch.save({"hyper_parameters": dict(m.hparams), "state_dict": m.state_dict()}, path)
    loaded = load_diffusion(path, expect_cond_dim=8)
    assert torch.equal(loaded.null_cond, m.null_cond)
    with pytest.raises(CheckpointError, match="CLIP embedding size 16"):
        load_diffusion(path, expect_cond_dim=16)
    with pytest.raises(CheckpointError, match="not found"):
        load_diffusion(tmp_path / "none.ckpt")


def test_from_config_keeps_the_checkpoint_layout():
    m = MelDiffusion.from_config(mel=MEL, stats={"lo": -11.5, "hi": 2.0}, cond_dim=8, **MODEL)
    assert m.hparams.model == MODEL and set(m.hparams) == {"model", "mel", "stats", "cond_dim", "clip"}
    with pytest.raises(ConfigError, match="missing keys \\['lr'\\]"):
        MelDiffusion.from_config(mel=MEL, stats={}, cond_dim=8, **{k: v for k, v in MODEL.items() if k != "lr"})


def test_prior_samples_follow_the_text():
    torch.manual_seed(0)
    p = DiffusionPrior(dim=8, hidden=16, layers=1, num_train_timesteps=50)
    text = torch.nn.functional.normalize(torch.randn(2, 8), dim=-1)

    def sample(t, seed=0):
        return p.sample(t, steps=3, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(sample(text), sample(text))
    assert (sample(text) - sample(text.flip(0))).abs().max() > 1e-3
    with pytest.raises(CheckpointError):
        p.sample(torch.randn(2, 4))


def test_prior_keeps_the_candidate_nearest_the_text():
    torch.manual_seed(0)
    p = DiffusionPrior(dim=8, hidden=16, layers=1, num_train_timesteps=50)
    text = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    one = p.sample(text, steps=3, generator=torch.Generator().manual_seed(0))
    four = p.sample(text, steps=3, generator=torch.Generator().manual_seed(0), candidates=4)
    # the four candidates of each text, drawn as one batch of 12 with the same noise
    every = p.sample(text.repeat_interleave(4, 0), steps=3, generator=torch.Generator().manual_seed(0)).view(3, 4, 8)
    similarity = (every * text[:, None]).sum(-1)
    assert torch.allclose(four, every[torch.arange(3), similarity.argmax(1)], atol=1e-6)
    assert torch.all((four * text).sum(-1) >= similarity.max(1).values - 1e-6)
    assert four.shape == one.shape and torch.allclose(four.norm(dim=-1), torch.ones(3))
