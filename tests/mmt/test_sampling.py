import math

import numpy as np
import pytest
import torch

from gm_common.errors import ConfigError
from mmt.model import MMTTransformer
from mmt.representation import (
    F_INSTRUMENT,
    F_PITCH,
    F_TYPE,
    TYPE_EOS,
    TYPE_NOTE,
    Encoding,
    infill_codes,
    interleave_codes,
    notes_from_infill,
)
from mmt.sampling import (
    CHECK_EVERY,
    PRESETS,
    FieldSampler,
    SamplingConfig,
    decoding_for,
    generate,
    generate_among,
    sampling_preset,
    trim,
)

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
    a = generate(net, prompt, 60, decoding="cached", generator=torch.Generator().manual_seed(3), stop_at_eos=False)
    b = generate(net, prompt, 60, decoding="recompute", generator=torch.Generator().manual_seed(3), stop_at_eos=False)
    assert a.shape == (2, 60, 6) and torch.equal(a, b)


@pytest.mark.parametrize("preset", ["paper", "default"])
def test_draws_follow_the_top_k_and_min_p_filtered_distribution(preset):
    sizes = ENC.vocab_sizes
    g = torch.Generator().manual_seed(0)
    b = 20000
    prompt = torch.tensor([[0] * 6, [1, 0, 0, 0, 0, 25], [2, 0, 0, 0, 0, 0]]).unsqueeze(0).repeat(b, 1, 1)
    sampler = FieldSampler(sizes, PRESETS[preset], prompt)
    logits = torch.randn(sum(sizes), generator=g) * 2
    logits[3] = 10.0  # type: a note (top-k keeps only the best allowed type)
    rows = sampler.sample(logits.expand(b, -1), torch.rand((b, 8, 1), generator=g))
    assert (rows[:, F_TYPE] == 3).all() and (rows[:, F_INSTRUMENT] == 25).all()
    start = sum(sizes[:F_PITCH])
    pitch = logits[start : start + sizes[F_PITCH]].clone()
    pitch[0] = float("-inf")  # code 0 is never sampled
    k = math.ceil(0.1 * sizes[F_PITCH])
    pitch[pitch < pitch.topk(k).values[-1]] = float("-inf")
    p = pitch.softmax(0)
    min_p = PRESETS[preset].min_p
    expected = torch.where(p >= min_p * p.max(), p, 0.0)
    expected /= expected.sum()
    assert (expected > 0).sum() == (k if preset == "paper" else (p >= 0.05 * p.max()).sum()) > 1
    if preset == "default":
        assert (expected > 0).sum() < k  # this draw has outcomes that min-p drops
    seen = torch.bincount(rows[:, F_PITCH], minlength=sizes[F_PITCH]).float() / b
    assert (seen[expected == 0] == 0).all()
    assert (seen - expected).abs().max() < 0.015


def test_presets_and_overrides():
    assert PRESETS["paper"].min_p == 0 and PRESETS["paper"].max_beat_advance is None
    assert PRESETS["default"].min_p == 0.05 and PRESETS["default"].max_beat_advance == 8
    assert SamplingConfig() == PRESETS["default"]
    assert sampling_preset("paper", temperature=1.5, top_p=None) == SamplingConfig(
        min_p=0.0, max_beat_advance=None, temperature=1.5
    )
    with pytest.raises(ConfigError, match="sampling='nope': expected one of default, paper"):
        sampling_preset("nope")


@pytest.fixture(scope="module")
def playing_net():
    """A tiny net whose type head never ends a piece: it declares instruments, then plays notes to the length limit
    (every window of the static cache is reached)."""
    torch.manual_seed(0)
    net = MMTTransformer(ENC.vocab_sizes, dim=32, depth=2, heads=2, max_seq_len=300).eval()
    with torch.no_grad():
        net.head.bias[TYPE_EOS] -= 50.0
    return net


@pytest.mark.parametrize(
    "cfg",
    [SamplingConfig(filter_threshold=1.0), SamplingConfig(), SamplingConfig(top_p=0.9, temperature=1.5)],
    ids=["greedy", "sampled", "nucleus"],
)
@pytest.mark.parametrize("stop_at_eos", [True, False])
def test_the_static_cache_draws_the_same_tokens_as_the_eager_cache(playing_net, cfg, stop_at_eos):
    prompt = torch.zeros(3, 1, 6, dtype=torch.long)
    runs = [
        generate(playing_net, prompt, 290, cfg, decoding, torch.Generator().manual_seed(5), stop_at_eos)
        for decoding in ("cached", "static")
    ]
    assert runs[0].shape == (3, 290, 6) and (runs[0][:, :, F_TYPE] == TYPE_NOTE).sum() > 3 * 250
    assert torch.equal(runs[0], runs[1])


def test_the_static_loop_stops_where_the_eager_loop_does(net):
    """Rows that end at different events: the static loop checks for the end only every CHECK_EVERY events, and
    cuts its output where the eager loop stopped."""
    prompt = torch.zeros(6, 1, 6, dtype=torch.long)
    cached, static = (generate(net, prompt, 150, SamplingConfig(temperature=1.5), d, torch.Generator().manual_seed(2))
                      for d in ("cached", "static"))  # fmt: skip
    ends = [int((seq[:, F_TYPE] == TYPE_EOS).nonzero()[0]) for seq in cached]
    assert len(set(ends)) > 1 and cached.shape[1] == max(ends) + 1 < CHECK_EVERY
    assert torch.equal(cached, static)


def test_cuda_graph_option():
    cpu = torch.device("cpu")
    assert decoding_for("auto", cpu) == decoding_for(False, cpu) == "cached"
    assert decoding_for("auto", torch.device("cuda")) == decoding_for(True, torch.device("cuda")) == "graph"
    with pytest.raises(ConfigError, match="cuda_graph=true needs a CUDA device"):
        decoding_for(True, cpu)
    with pytest.raises(ConfigError, match="expected auto, true or false"):
        decoding_for("sometimes", cpu)


def test_graph_decoding_needs_cuda(net):
    with pytest.raises(ConfigError, match="captures CUDA graphs"):
        generate(net, torch.zeros(1, 1, 6, dtype=torch.long), 10, decoding="graph")
    with pytest.raises(ConfigError, match="cached, static, graph, recompute"):
        generate(net, torch.zeros(1, 1, 6, dtype=torch.long), 10, decoding="fast")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_graph_replays_draw_the_same_tokens_as_eager_steps(playing_net):
    net = playing_net.cuda()
    prompt = torch.zeros(4, 1, 6, dtype=torch.long)
    runs = [generate(net, prompt, 290, SamplingConfig(), d, torch.Generator("cuda").manual_seed(5))
            for d in ("static", "graph")]  # fmt: skip
    playing_net.cpu()
    assert torch.equal(runs[0], runs[1])


def test_without_end_of_song_every_row_runs_to_the_budget(net):
    g = torch.Generator().manual_seed(0)
    prompt = torch.zeros(4, 1, 6, dtype=torch.long)
    ended = generate(net, prompt, 120, SamplingConfig(temperature=1.5), generator=torch.Generator().manual_seed(0))
    assert (ended[:, :, F_TYPE] == TYPE_EOS).any(), "this untrained net does end songs early"
    out = generate(net, prompt, 120, SamplingConfig(temperature=1.5, allow_end=False), generator=g)
    assert out.shape == (4, 120, 6) and not (out[:, :, F_TYPE] == TYPE_EOS).any()
    for seq in trim(out):
        assert len(seq) == 120
        _check_rules(seq)


def test_max_beat_advance_bounds_every_gap_between_notes(net):
    prompt = torch.zeros(4, 1, 6, dtype=torch.long)
    gaps = {}
    for advance in (None, 2):
        cfg = SamplingConfig(temperature=3.0, min_p=0.0, max_beat_advance=advance, allow_end=False)
        out = generate(net, prompt, 150, cfg, generator=torch.Generator().manual_seed(1), stop_at_eos=False)
        beats = [seq[seq[:, F_TYPE] == TYPE_NOTE][:, 1] for seq in out]
        gaps[advance] = max(int(torch.diff(b, prepend=torch.zeros(1, dtype=b.dtype)).max()) for b in beats if len(b))
    assert gaps[2] <= 2 < gaps[None]  # the first note too: at most 2 beats from the start


@pytest.mark.parametrize("decoding", ["cached", "static"])
def test_an_infill_prompt_draws_only_the_target_parts_notes_from_its_own_start(playing_net, decoding):
    """The other parts reach beat 40; the part being added (code 27, declared among them) starts after its marker
    from beat 0: its beats are monotonic among themselves, not floored at the other parts' last beat."""
    context = np.array([(b, 0, 60, 12, 25 + 3 * (b % 2)) for b in range(0, 40)], dtype=np.int64)
    prompt = torch.as_tensor(infill_codes(context, 27)[:-1]).unsqueeze(0).repeat(3, 1, 1)
    out = generate(playing_net, prompt, 200, SamplingConfig(temperature=1.5), decoding,
                   torch.Generator().manual_seed(3))  # fmt: skip
    for seq in out:
        added = seq[prompt.shape[1] :]
        assert (added[:, F_TYPE] == TYPE_NOTE).all() and (added[:, F_INSTRUMENT] == 27).all()
        beats = added[:, 1]
        assert int(beats[0]) <= 1 + 8 and (torch.diff(beats) >= 0).all() and (torch.diff(beats) <= 8).all()
        assert int(beats.min()) < 40  # not floored at the other parts' last beat
    # a prompt holding some of the part already: the floor is its latest note
    with_part = np.concatenate([context, [[10, 0, 50, 12, 27]]])
    prompt = torch.as_tensor(infill_codes(with_part, 27)[:-1])[None]
    out = generate(playing_net, prompt, 120, SamplingConfig(), decoding, torch.Generator().manual_seed(3))
    assert int(out[0, prompt.shape[1] :, 1].min()) >= 11


def interleaved_window(ahead: int, n_beats: int = 30, part: list | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The prompt and the given rows of an interleaved window: two parts (codes 25, 28), one note a beat, and ``part``
    (code 27) so far."""
    context = np.array([(b, 0, 60, 12, 25 + 3 * i) for b in range(n_beats) for i in (0, 1)], dtype=np.int64)
    notes = np.unique(np.concatenate([context, np.array(part or [], dtype=np.int64).reshape(-1, 5)]), axis=0)
    codes = torch.as_tensor(interleave_codes(notes, 27, ahead)[:-1])
    ours = ((codes[:, F_TYPE] == TYPE_NOTE) & (codes[:, F_INSTRUMENT] == 27)).nonzero()
    end = int(ours[-1]) + 1 if len(ours) else 2 + 3 + 1 + 1  # after the part's last note, or its marker
    return codes[:end], codes[end:]


@pytest.mark.parametrize("ahead", [0, 2])
def test_generate_among_puts_every_given_note_in_where_the_interleaved_layout_does(playing_net, ahead):
    prompt, given = interleaved_window(ahead)
    for seed in range(3):
        out = generate_among(playing_net, prompt, given, ahead, 250, SamplingConfig(temperature=1.5),
                             torch.Generator().manual_seed(seed))  # fmt: skip
        assert torch.equal(out[: len(prompt)], prompt)
        new = out[len(prompt) :]
        ours = new[:, F_INSTRUMENT] == 27
        assert torch.equal(new[~ours], given)  # every given row, in its order, none changed
        assert (new[ours, F_TYPE] == TYPE_NOTE).all() and ours.sum() > 5  # the rest: the part's onsets and notes
        onsets, notes = new[ours][::2], new[ours][1::2]
        assert (onsets[:, F_PITCH] == 0).all() and (notes[:, F_PITCH] > 0).all()
        assert torch.equal(onsets[: len(notes), :3], notes[:, :3])  # each note at the onset drawn before it
        when = (new[:, 1] - torch.where(ours, 0, ahead)) * 13 + new[:, 2]
        for i in ours.nonzero()[:, 0].tolist():  # a note of the part comes after every given note up to its time
            assert (when[i + 1 :][~ours[i + 1 :]] > when[i]).all()
        assert (torch.diff(new[ours, 1]) >= 0).all()  # the part's beats are its own, monotonic
        context, added, _ = notes_from_infill(out.numpy(), ENC)
        assert len(context) == 60 and len(added) == len(np.unique(notes.numpy(), axis=0))


def test_a_given_note_put_in_floors_the_parts_next_note(net):
    """Every draw of this untrained net that comes after the next given note puts that note in; the part's note
    drawn after it is never before it in the layout (its beat at least the given note's, ``ahead`` beats early)."""
    prompt, given = interleaved_window(2, n_beats=20, part=[[0, 0, 50, 12, 27]])
    for seed in range(4):
        out = generate_among(net, prompt, given, 2, 200, SamplingConfig(temperature=1.5),
                             torch.Generator().manual_seed(seed))[len(prompt) :]  # fmt: skip
        floor = 1  # beat code of the prompt's note
        for row in out[out[:, F_TYPE] == TYPE_NOTE]:
            if row[F_INSTRUMENT] == 27:
                assert row[1] >= floor
                floor = int(row[1])
            else:
                floor = max(floor, int(row[1]) - 2)


def test_generate_among_ends_the_part_only_after_the_last_given_note(net):
    """This untrained net ends a part at once when it may: end-of-song drawn before the given notes are all in
    puts the next given note in instead."""
    prompt, given = interleaved_window(1, n_beats=20, part=[[0, 0, 50, 12, 27]])
    out = generate_among(net, prompt, given, 1, 200, SamplingConfig(temperature=1.5), torch.Generator().manual_seed(0))
    assert out[-1, F_TYPE] == TYPE_EOS and (out[:, F_TYPE] == TYPE_EOS).sum() == 1
    assert torch.equal(out[len(prompt) : -1][out[len(prompt) : -1, F_INSTRUMENT] != 27], given)
    short = generate_among(net, prompt, given, 1, len(prompt) + 5, generator=torch.Generator().manual_seed(0))
    assert len(short) == len(prompt) + 5  # out of events: stops there, without end-of-song


@pytest.mark.parametrize("decoding", ["cached", "static"])
def test_end_from_keeps_a_row_from_ending_before_its_latest_note_reaches_that_beat(net, decoding):
    prompt = torch.as_tensor(infill_codes(np.array([(b, 0, 60, 12, 25) for b in range(40)]), 27)[:-1])[None]
    prompt = prompt.repeat(4, 1, 1)
    cfg = SamplingConfig(temperature=1.5)
    free = generate(net, prompt, 195, cfg, decoding, torch.Generator().manual_seed(0))
    held = generate(net, prompt, 195, cfg, decoding, torch.Generator().manual_seed(0), end_from=20)
    last_beats = []
    for seq in trim(held):
        added = seq[prompt.shape[1] :]
        notes = added[added[:, F_TYPE] == TYPE_NOTE]
        if added[-1, F_TYPE] == TYPE_EOS:
            last_beats.append(int(notes[:, 1].max()) - 1)
    assert last_beats and min(last_beats) >= 20  # every row that ended had reached beat 20
    ended_early = [s for s in trim(free) if (s[prompt.shape[1] :, F_TYPE] == TYPE_NOTE).sum() < 3]
    assert ended_early, "without end_from this untrained net ends some rows at once"
