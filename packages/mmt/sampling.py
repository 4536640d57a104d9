"""Sampling events from an :class:`~mmt.model.MMTTransformer`, as in the paper, for every row of a batch.

Per step, for each field: logits / temperature, the rule masks, top-k keeping ``ceil((1 - threshold) * V)``
outcomes (threshold 0.9 keeps 10 %), optional top-p, then a draw. Rules (every row independently):

- code 0 is never sampled (type 0 = start-of-song is only ever the prompt);
- type is monotonic (never below the running maximum); in addition an instrument row needs no notes
  yet, start-of-notes comes once and after at least one instrument, notes and end-of-song after it;
- beat is monotonic (a note's beat is never below the latest note's beat);
- an instrument row samples only the instrument (strictly ascending, as the encoding writes them); a note
  row samples beat, position, pitch, duration and instrument (by default only a declared instrument);
  start-of-notes and end-of-song rows carry no other field;
- a row stops at end-of-song; generation stops when every row has, or at ``max_events``.

With ``use_cache`` each new event is one cached step; without, the whole sequence is recomputed at every
step (the reference implementation's way, kept for comparison).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from mmt.model import IncrementalDecoder, MMTTransformer
from mmt.representation import F_BEAT, F_INSTRUMENT, F_TYPE, TYPE_EOS, TYPE_INSTRUMENT, TYPE_NOTE, TYPE_SON

NEG_INF = float("-inf")


@dataclass
class SamplingConfig:
    """How each field's outcome is drawn (the paper's defaults)."""

    temperature: float = 1.0
    filter_threshold: float = 0.9  # top-k keeps ceil((1 - threshold) * V) outcomes per field
    top_p: float = 1.0  # nucleus sampling on top of top-k (1.0 = off)
    only_declared_instruments: bool = True  # notes use only instruments declared in the sequence


# Sampler rows: the six fields, the instrument of an instrument row, and a row that always draws 0 (it
# fills the fields a row does not carry)
INST_ROW, ZERO_ROW, N_ROWS = 6, 7, 8


class FieldSampler:
    """Samples the next event of every row of a batch under the rules, and keeps the rows' running state
    (maximum type and beat, declared instruments, done).

    A step of a small model is bound by the number of tensor operations, so the logits of all fields are
    gathered into one padded (B, 8, Vmax) tensor and the rules are an additive mask, ``bias``, that only
    changes when a row's type rises or it declares an instrument (a few times per piece; :meth:`update`
    rebuilds it then). Per step only the beat's floor is applied, then top-k and an inverse-CDF draw
    (``torch.multinomial`` costs more than the rest of the sampler on 8 small rows)."""

    def __init__(self, vocab_sizes: list[int], cfg: SamplingConfig, prompt: torch.Tensor):
        self.cfg, self.sizes = cfg, list(vocab_sizes)
        device = prompt.device
        n_inst = self.n_inst = self.sizes[F_INSTRUMENT]
        sizes = self.sizes + [n_inst, 1]
        self.vmax = max(sizes)
        offsets = [0]
        for v in self.sizes[:-1]:
            offsets.append(offsets[-1] + v)
        offsets += [offsets[F_INSTRUMENT], 0]
        idx = torch.zeros(N_ROWS, self.vmax, dtype=torch.long)
        pad = torch.full((N_ROWS, self.vmax), NEG_INF)
        for f, (v, o) in enumerate(zip(sizes, offsets)):
            idx[f, :v] = torch.arange(o, o + v)
            pad[f, :v] = 0.0
        pad[:ZERO_ROW, 0] = NEG_INF  # code 0 is never sampled
        self.idx, self.pad = idx.view(-1).to(device), pad.to(device)
        self.inv_temperature = 1.0 / max(cfg.temperature, 1e-5)
        k = torch.tensor([max(1, math.ceil((1 - cfg.filter_threshold) * v)) for v in sizes], device=device)
        self.kmax, self.kth_index = int(k.max()), (k - 1).view(1, -1, 1)
        self.arange = torch.arange(self.vmax, device=device)
        # banned next types, by the running maximum type and whether every instrument is declared
        allowed = torch.zeros(5, 5, dtype=torch.bool)
        allowed[0, TYPE_INSTRUMENT] = True
        allowed[1, [TYPE_INSTRUMENT, TYPE_SON]] = True
        allowed[2, [TYPE_NOTE, TYPE_EOS]] = True
        allowed[3, [TYPE_NOTE, TYPE_EOS]] = True
        allowed[4, TYPE_EOS] = True
        # rows: max_type * (n_inst + 1) + last declared instrument; once the last instrument is declared,
        # no instrument row
        banned = (~allowed)[:, None, :].repeat(1, n_inst + 1, 1)
        banned[:, n_inst - 1 :, TYPE_INSTRUMENT] = True
        self.type_banned = banned.view(-1, 5).to(device)
        # which sampler row fills each column of the output row, by type (ZERO_ROW: a 0)
        rows = torch.full((5, 6), ZERO_ROW, dtype=torch.long)
        rows[:, F_TYPE] = F_TYPE
        rows[TYPE_NOTE] = torch.arange(6)
        rows[TYPE_INSTRUMENT, F_INSTRUMENT] = INST_ROW
        self.rows = rows.to(device)
        # the batch's running state, from the prompt
        b = prompt.shape[0]
        types = prompt[..., F_TYPE]
        zeros = torch.zeros_like(types)
        # running maxima of type and beat side by side (F_TYPE, F_BEAT = 0, 1): one update for both
        self.maxima = torch.stack(
            [types.max(dim=1).values, torch.where(types == TYPE_NOTE, prompt[..., F_BEAT], zeros).max(dim=1).values], 1
        )
        self.max_type, self.max_beat = self.maxima[:, F_TYPE], self.maxima[:, F_BEAT]  # views
        inst_rows = types == TYPE_INSTRUMENT
        inst = torch.where(inst_rows, prompt[..., F_INSTRUMENT], zeros)
        self.last_inst = inst.max(dim=1).values
        # one column more than instruments: updates by rows that declare nothing write there
        self.declared = torch.zeros(b, n_inst + 1, dtype=torch.bool, device=device)
        self.declared.scatter_(1, inst, inst_rows)
        self.declared[:, 0] = False
        self.done = (types == TYPE_EOS).any(dim=1)
        self._rebuild_bias()

    def undeclared(self) -> torch.Tensor:
        """(B, n_instruments): instruments a note may not use (none banned before any is declared)."""
        declared = self.declared[:, : self.n_inst]
        return ~declared & declared.any(dim=1, keepdim=True)

    def _rebuild_bias(self) -> None:
        """The rules that depend on the maximum type and the declared instruments, as -inf entries."""
        n_inst, b = self.n_inst, self.maxima.shape[0]
        bias = self.pad.expand(b, -1, -1).clone()
        # type: allowed by the running maximum; no instrument row once every instrument is declared
        bias[:, F_TYPE, :5].masked_fill_(self.type_banned[self.last_inst + (n_inst + 1) * self.max_type], NEG_INF)
        # instrument of an instrument row: strictly above the last declared (once all are declared,
        # type 1 is banned and this row unused: keep its last code samplable)
        bias[:, INST_ROW, :n_inst].masked_fill_(
            self.arange[:n_inst] <= self.last_inst.clamp(max=n_inst - 2)[:, None], NEG_INF
        )
        if self.cfg.only_declared_instruments:
            bias[:, F_INSTRUMENT, :n_inst].masked_fill_(self.undeclared(), NEG_INF)
        self.bias = bias

    def sample(self, logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """logits (B, sum V) of the next event -> its (B, 6) codes; ``u`` (B, 8, 1): uniform draws in [0, 1)
        (drawn for all steps at once: one ``torch.rand`` per step costs as much as a rule)."""
        b = logits.shape[0]
        x = torch.add(
            self.bias, logits.index_select(1, self.idx).view(b, N_ROWS, self.vmax), alpha=self.inv_temperature
        )
        x[:, F_BEAT].masked_fill_(self.arange < self.max_beat[:, None], NEG_INF)  # never below the latest note's
        # every row keeps at least one samplable code: type by the table, beat its running maximum,
        # instruments at least one code (above), pitch/position/duration all their non-zero codes
        kth = x.topk(self.kmax, dim=-1).values.gather(-1, self.kth_index.expand(b, -1, -1))
        x.masked_fill_(x < kth, NEG_INF)
        if self.cfg.top_p < 1.0:
            sorted_x, order = x.sort(dim=-1, descending=True)
            cum = sorted_x.softmax(-1).cumsum(-1)
            drop = (cum - sorted_x.softmax(-1)) > self.cfg.top_p  # keep at least the first
            x = x.scatter(-1, order, sorted_x.masked_fill(drop, NEG_INF))
        # inverse CDF: the first code whose cumulative probability exceeds u * total, u in [0, 1)
        cdf = x.softmax(-1).cumsum(-1)
        s = torch.searchsorted(cdf, u * cdf[..., -1:], right=True).view(b, N_ROWS)
        return s.gather(1, self.rows.index_select(0, s[:, F_TYPE]))

    def update(self, row: torch.Tensor) -> None:
        """Take a generated row (B, 6); its beat is 0 unless it is a note."""
        t = row[:, F_TYPE]
        is_inst = t == TYPE_INSTRUMENT
        rules_change = is_inst | (t > self.max_type)
        torch.maximum(self.maxima, row[:, :2], out=self.maxima)
        self.done |= t == TYPE_EOS
        if bool(rules_change.any()):
            self.last_inst = torch.where(is_inst, row[:, F_INSTRUMENT], self.last_inst)
            self.declared.scatter_(1, torch.where(is_inst, row[:, F_INSTRUMENT], self.n_inst)[:, None], True)
            self._rebuild_bias()


@contextmanager
def _without_onednn() -> Iterator[None]:
    """oneDNN sets up every GELU call on a CPU (~6 us), more than a small model's GELU costs without it."""
    enabled = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = enabled


@torch.inference_mode()
def generate(
    net: MMTTransformer,
    prompt: torch.Tensor,
    max_events: int | None = None,
    cfg: SamplingConfig | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
    stop_at_eos: bool = True,
) -> torch.Tensor:
    """Continue ``prompt`` (B, T0, 6) up to ``max_events`` rows in all (default: the model's maximum).

    Returns (B, T, 6) codes; rows finished early are padded with end-of-song rows. With
    ``stop_at_eos=False`` every row runs to ``max_events`` (benchmarks)."""
    cfg = cfg or SamplingConfig()
    net.eval()
    device = net.head.weight.device
    prompt = prompt.to(device)
    b, t0, _ = prompt.shape
    max_events = min(max_events or net.max_seq_len, net.max_seq_len)
    if t0 >= max_events:
        return prompt.clone()
    sampler = FieldSampler(net.vocab_sizes, cfg, prompt)
    out = torch.zeros(b, max_events, 6, dtype=torch.long, device=device)
    out[:, :t0] = prompt
    eos_row = torch.zeros(6, dtype=torch.long, device=device)
    eos_row[F_TYPE] = TYPE_EOS
    uniforms = torch.rand((max_events - t0, b, N_ROWS, 1), generator=generator, device=device)
    decoder = IncrementalDecoder(net, b, max_events) if use_cache else None
    logits = decoder.prefill(prompt) if use_cache else None
    n = t0
    with _without_onednn():
        while n < max_events:
            if not use_cache:
                logits = net(out[:, :n])[:, -1]
            row = sampler.sample(logits, uniforms[n - t0])
            if stop_at_eos:
                row = torch.where(sampler.done[:, None], eos_row, row)
            else:
                sampler.done.zero_()
            sampler.update(row)
            out[:, n] = row
            n += 1
            if stop_at_eos and bool(sampler.done.all()):
                break
            if use_cache and n < max_events:
                logits = decoder.step(row)
    return out[:, :n]


def trim(codes: torch.Tensor) -> list[torch.Tensor]:
    """Each row of a generated batch up to and including its first end-of-song."""
    rows = []
    for seq in codes:
        eos = (seq[:, F_TYPE] == TYPE_EOS).nonzero()
        rows.append(seq[: int(eos[0]) + 1] if len(eos) else seq)
    return rows
