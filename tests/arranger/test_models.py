import numpy as np
import pytest
import torch
import torch.nn.functional as F

from arranger.lightning import ArrangerModule
from arranger.models import build_net
from arranger.representation import collate, make_features

KINDS = ["lstm", "bilstm", "transformer_dec", "transformer_enc", "mlp"]


def _seq(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 24 * 40, n))
    return make_features(np.stack([t, rng.integers(40, 80, n), rng.integers(1, 48, n), rng.integers(0, 4, n)], 1), 4)


def _cfg(kind, **flags):
    sizes = (
        {"hidden": 16, "layers": 2}
        if kind in ("lstm", "bilstm", "mlp")
        else {"d_model": 16, "layers": 2, "heads": 2, "ff": 32, "window": 16}
    )
    return {"kind": kind, "name": kind, "dropout": 0.0, **sizes, **flags}


@pytest.mark.parametrize("kind", KINDS)
def test_padding_does_not_change_predictions(kind):
    torch.manual_seed(0)
    net = build_net(_cfg(kind, use_duration=True, use_entry=True, use_pitch_hint=True), 4).eval()
    a, b = _seq(9, 1), _seq(14, 2)
    with torch.no_grad():
        both = net(collate([a, b]))
        alone = net(collate([a]))
    assert both.shape == (2, 14, 4)
    assert torch.allclose(both[0, :9], alone[0], atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "transformer_dec", "mlp"])
def test_online_models_are_causal(kind):
    torch.manual_seed(0)
    net = build_net(_cfg(kind), 4).eval()
    a = _seq(12)
    b = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in a.items()}
    b["pitch"][8:] = 30  # change the future
    with torch.no_grad():
        la, lb = net(collate([a])), net(collate([b]))
    assert torch.allclose(la[0, :8], lb[0, :8], atol=1e-5)


def test_transformer_windows_cover_long_sequences():
    torch.manual_seed(0)
    for kind in ("transformer_dec", "transformer_enc"):
        net = build_net(_cfg(kind), 4).eval()
        with torch.no_grad():
            out = net(collate([_seq(50)]))
        assert out.shape == (1, 50, 4) and torch.isfinite(out).all() and (out.abs().sum(-1) > 0).all()


def test_loss_ignores_padding():
    torch.manual_seed(0)
    module = ArrangerModule(_cfg("lstm"), {"name": "bach", "labels": list("SATB"), "programs": [0] * 4})
    module.eval()
    a, b = _seq(5, 3), _seq(11, 4)
    batch = collate([a, b])
    logits = module(batch)
    loss = F.cross_entropy(logits.flatten(0, 1), batch["label"].flatten(), ignore_index=-100)
    real = torch.cat([logits[0, :5], logits[1, :11]])
    ref = F.cross_entropy(real, torch.cat([batch["label"][0, :5], batch["label"][1, :11]]))
    assert torch.allclose(loss, ref)


@pytest.mark.parametrize("kind", ["transformer_dec", "transformer_enc"])
def test_distance_bias_keeps_padding_causality_and_checkpoints(kind):
    torch.manual_seed(0)
    net = build_net(_cfg(kind, distance_bias=True), 4).eval()
    plain = build_net(_cfg(kind), 4)
    assert net.state_dict().keys() == plain.state_dict().keys()  # the slopes are not saved
    net.load_state_dict(plain.state_dict())
    a, b = _seq(9, 1), _seq(14, 2)
    with torch.no_grad():
        both, alone, without = net(collate([a, b])), net(collate([a])), plain.eval()(collate([a]))
    assert torch.allclose(both[0, :9], alone[0], atol=1e-5) and not torch.allclose(alone, without, atol=1e-3)
    changed = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in a.items()}
    changed["pitch"][6:] = 30
    with torch.no_grad():
        future = net(collate([changed]))
    assert torch.allclose(future[0, :6], alone[0, :6], atol=1e-5) == (kind == "transformer_dec")


def test_distance_bias_favours_near_notes():
    net = build_net(_cfg("transformer_enc", distance_bias=True), 4).blocks[0].attn
    bias = net._bias(0, 6, 6, False, None)
    assert bias.shape == (2, 6, 6) and torch.all(bias.diagonal(dim1=1, dim2=2) == 0)
    assert torch.all(bias[:, 0, 1] > bias[:, 0, 5])
    assert torch.all(bias[0, 0, 1:] < bias[1, 0, 1:])  # head 0 the most local
