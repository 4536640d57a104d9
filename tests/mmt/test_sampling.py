import math

import pytest
import torch

from mmt.model import MMTTransformer
from mmt.representation import F_INSTRUMENT, F_PITCH, F_TYPE, Encoding
from mmt.sampling import FieldSampler, SamplingConfig, generate, trim

ENC = Encoding()


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return MMTTransformer(ENC.vocab_sizes, dim=32, depth=2, heads=2, max_seq_len=200).eval()


def _check_rules(seq, declared_only=True):
    types = seq[:, 0].tolist()
    assert types[0] == 0 and 0 not in types[1:], "start-of-song only as the prompt"
    assert types == sorted(types), "type is monotonic"
    inst_rows = seq[seq[:, 0] == 1]
    assert (inst_rows[:, 1:5] == 0).all() and (inst_rows[:, 5] > 0).all()
    assert inst_rows[:, 5].tolist() == sorted(set(inst_rows[:, 5].tolist()))
    notes = seq[seq[:, 0] == 3]
    assert (notes[:, 1:] > 0).all(), "code 0 never sampled in a note"
    assert notes[:, 1].tolist() == sorted(notes[:, 1].tolist()), "beat is monotonic"
    if declared_only and len(notes):
        assert set(notes[:, 5].tolist()) <= set(inst_rows[:, 5].tolist())
    other = seq[(seq[:, 0] == 2) | (seq[:, 0] == 4)]
    assert (other[:, 1:] == 0).all()
    assert (seq[:, 0] == 2).sum() <= 1


@pytest.mark.parametrize("top_p", [1.0, 0.9])
def test_rules_hold_for_every_row_of_a_batch(net, top_p):
    g = torch.Generator().manual_seed(0)
    prompt = torch.zeros(6, 1, 6, dtype=torch.long)
    out = generate(net, prompt, 150, SamplingConfig(top_p=top_p, temperature=1.5), generator=g)
    for seq in trim(out):
        _check_rules(seq)


def test_instrument_prompt_is_kept_and_followed(net):
    prompt = (
        torch.tensor([[0] * 6, [1, 0, 0, 0, 0, 25], [1, 0, 0, 0, 0, 27], [2, 0, 0, 0, 0, 0]])
        .unsqueeze(0)
        .repeat(3, 1, 1)
    )
    out = generate(net, prompt, 80, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out[:, :4], prompt)
    for seq in trim(out):
        _check_rules(seq)
        assert set(seq[seq[:, 0] == 3, 5].tolist()) <= {25, 27}
        assert (seq[4:, 0] != 1).all()


def test_cached_and_uncached_generation_agree(net):
    prompt = torch.zeros(2, 1, 6, dtype=torch.long)
    a = generate(net, prompt, 60, use_cache=True, generator=torch.Generator().manual_seed(3), stop_at_eos=False)
    b = generate(net, prompt, 60, use_cache=False, generator=torch.Generator().manual_seed(3), stop_at_eos=False)
    assert a.shape == (2, 60, 6) and torch.equal(a, b)


def test_draws_follow_the_top_k_filtered_distribution():
    sizes = ENC.vocab_sizes
    g = torch.Generator().manual_seed(0)
    b = 20000
    prompt = torch.tensor([[0] * 6, [1, 0, 0, 0, 0, 25], [2, 0, 0, 0, 0, 0]]).unsqueeze(0).repeat(b, 1, 1)
    sampler = FieldSampler(sizes, SamplingConfig(), prompt)
    logits = torch.randn(sum(sizes), generator=g)
    logits[3] = 10.0  # type: a note (top-k keeps only the best allowed type)
    rows = sampler.sample(logits.expand(b, -1), torch.rand((b, 8, 1), generator=g))
    assert (rows[:, F_TYPE] == 3).all() and (rows[:, F_INSTRUMENT] == 25).all()
    start = sum(sizes[:F_PITCH])
    pitch = logits[start : start + sizes[F_PITCH]].clone()
    pitch[0] = float("-inf")  # code 0 is never sampled
    k = math.ceil(0.1 * sizes[F_PITCH])
    pitch[pitch < pitch.topk(k).values[-1]] = float("-inf")
    expected = pitch.softmax(0)
    seen = torch.bincount(rows[:, F_PITCH], minlength=sizes[F_PITCH]).float() / b
    assert (seen[expected == 0] == 0).all()
    assert (seen - expected).abs().max() < 0.015
