import pytest
import torch

from mmt.data import IGNORE_INDEX
from mmt.model import (
    STATIC_WINDOW,
    IncrementalDecoder,
    MMTLightning,
    MMTTransformer,
    StaticDecoder,
    count_parameters,
    sequence_loss,
)
from mmt.representation import Encoding

ENC = Encoding()


def _net(**kw):
    torch.manual_seed(0)
    return MMTTransformer(ENC.vocab_sizes, **{"dim": 32, "depth": 2, "heads": 2, "max_seq_len": 64, **kw}).eval()


def _codes(b=2, t=40):
    g = torch.Generator().manual_seed(0)
    x = torch.stack([torch.randint(0, v, (b, t), generator=g) for v in ENC.vocab_sizes], dim=-1)
    return x


def test_paper_size_parameter_count():
    net = MMTTransformer(ENC.vocab_sizes, dim=512, depth=6, heads=8, ff_mult=4, dropout=0.2, max_seq_len=1024)
    assert abs(count_parameters(net) / 1e6 - 19.94) < 0.05


def test_kv_cache_matches_full_forward():
    net, x = _net(), _codes()
    full = net(x)
    cache = net.new_cache(2)
    parts = [net(x[:, :10], cache)] + [net(x[:, i : i + 1], cache) for i in range(10, 20)] + [net(x[:, 20:], cache)]
    assert cache.length == 40
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)


def test_incremental_decoder_steps_match_full_forward():
    net, x = _net(), _codes()
    full = net(x)
    dec = IncrementalDecoder(net, 2)
    logits = [dec.prefill(x[:, :10])] + [dec.step(x[:, i]) for i in range(10, 39)]
    assert dec.cache.length == 39
    assert torch.allclose(torch.stack(logits, dim=1), full[:, 9:39], atol=1e-5)


def test_static_decoder_steps_match_full_forward_across_windows():
    """Fixed-shape steps (the position a tensor, keys in whole windows with the unwritten ones masked) give the
    forward pass's logits, also past the first window."""
    length = STATIC_WINDOW + 20
    net, x = _net(max_seq_len=length), _codes(2, length)
    full = net(x)
    dec = StaticDecoder(net, 2)
    with torch.inference_mode():  # as generation runs it
        logits = [dec.prefill(x[:, :10])] + [dec.step(x[:, i], dec.keys_for(i)) for i in range(10, length - 1)]
    assert int(dec.position) == length - 1 and dec.keys_for(10) == STATIC_WINDOW < dec.keys_for(STATIC_WINDOW)
    assert torch.allclose(torch.stack(logits, dim=1), full[:, 9 : length - 1], atol=1e-5)


def test_attention_maps_are_causal_and_match_forward():
    net, x = _net(), _codes(1, 12)
    maps = net.attention_maps(x)
    assert len(maps) == 2 and maps[0].shape == (1, 2, 12, 12)
    assert torch.allclose(maps[0].sum(-1), torch.ones(1, 2, 12), atol=1e-5)
    assert (maps[0].triu(1) == 0).all()
    # the maps are those of the forward pass: the layers run on them give forward's logits
    h = net._embed(x, 0)
    for block in net.blocks:
        h, _ = block.attention_weights(h)
    assert torch.allclose(net.head(net.norm(h)), net(x), atol=1e-5)
    # and each layer's map is its queries' softmax over the keys
    q, k, _ = net.blocks[0]._qkv(net._embed(x, 0))
    scores = (q @ k.transpose(-1, -2) / (net.dim // net.heads) ** 0.5).masked_fill(
        torch.ones(12, 12).triu(1).bool(), float("-inf")
    )
    assert torch.allclose(maps[0], scores.softmax(-1), atol=1e-6)


def test_loss_ignores_padding_rows():
    net, x = _net(), _codes(1, 30)
    y = torch.roll(x, -1, 1)
    y[:, 20:] = IGNORE_INDEX
    loss_a, parts = sequence_loss(net, x, y)
    x2 = x.clone()
    x2[:, 20:] = 0  # padding inputs differ: causal attention + ignored targets -> same loss
    loss_b, _ = sequence_loss(net, x2, y)
    assert torch.allclose(loss_a, loss_b) and len(parts) == 6
    assert torch.allclose(loss_a, torch.stack(parts).sum())


def test_schedule_warmup_then_linear_decay():
    """The paper's schedule through gm_common.schedules: warm-up, linear decay to final_lr_ratio, then flat."""
    optim = {"lr": 1.0, "warmup_steps": 10, "decay_end_steps": 110, "final_lr_ratio": 0.1}
    module = MMTLightning(
        model={"dim": 32, "depth": 1, "heads": 2, "max_seq_len": 8}, encoding=ENC.to_dict(), optim=optim
    )
    schedule = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    f = schedule.lr_lambdas[0]
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0) and f(60) == pytest.approx(0.55)
    assert f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)


def test_a_cpu_budget_ends_the_decay_early(monkeypatch):
    import gm_common.schedules as schedules

    cpu = [0.0]
    monkeypatch.setattr(schedules.time, "process_time", lambda: cpu[0])
    optim = {"lr": 1.0, "warmup_steps": 0, "decay_end_steps": 10_000, "final_lr_ratio": 0.1, "decay_cpu_minutes": 1}
    module = MMTLightning(
        model={"dim": 32, "depth": 1, "heads": 2, "max_seq_len": 8}, encoding=ENC.to_dict(), optim=optim
    )
    f = module.configure_optimizers()["lr_scheduler"]["scheduler"].lr_lambdas[0]
    assert f(1) == pytest.approx(1.0, abs=1e-3)
    cpu[0] += 60.0  # the budget is spent at step 2 of 10,000
    assert f(2) == pytest.approx(0.1)
