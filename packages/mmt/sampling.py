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
from dataclasses import dataclass

import torch

from mmt.model import MMTTransformer
from mmt.representation import F_BEAT, F_INSTRUMENT, F_TYPE, TYPE_EOS, TYPE_INSTRUMENT, TYPE_NOTE, TYPE_SON

NEG_INF = float("-inf")


@dataclass
class SamplingConfig:
    temperature: float = 1.0
    filter_threshold: float = 0.9  # top-k keeps ceil((1 - threshold) * V) outcomes per field
    top_p: float = 1.0  # nucleus sampling on top of top-k (1.0 = off)
    only_declared_instruments: bool = True  # notes use only instruments declared in the sequence


class FieldSampler:
    """Precomputed index tables to sample the six fields (plus a 7th: the instrument of an instrument
    row) from one padded (B, 7, Vmax) logit tensor."""

    def __init__(self, vocab_sizes: list[int], cfg: SamplingConfig, device: torch.device):
        self.cfg, self.sizes = cfg, list(vocab_sizes)
        sizes = self.sizes + [self.sizes[F_INSTRUMENT]]
        self.vmax = max(sizes)
        offsets = [0]
        for v in self.sizes[:-1]:
            offsets.append(offsets[-1] + v)
        offsets.append(offsets[F_INSTRUMENT])
        idx = torch.zeros(len(sizes), self.vmax, dtype=torch.long)
        pad = torch.full((len(sizes), self.vmax), NEG_INF)
        for f, (v, o) in enumerate(zip(sizes, offsets)):
            idx[f, :v] = torch.arange(o, o + v)
            pad[f, :v] = 0.0
        pad[:, 0] = NEG_INF  # code 0 is never sampled
        self.idx, self.pad = idx.to(device), pad.to(device)
        self.k = torch.tensor([max(1, math.ceil((1 - cfg.filter_threshold) * v)) for v in sizes], device=device)
        self.kmax = int(self.k.max())
        self.arange = torch.arange(self.vmax, device=device)
        # allowed next types given the running maximum type (rows: max type 0..4)
        allowed = torch.zeros(5, 5, dtype=torch.bool)
        allowed[0, TYPE_INSTRUMENT] = True
        allowed[1, [TYPE_INSTRUMENT, TYPE_SON]] = True
        allowed[2, [TYPE_NOTE, TYPE_EOS]] = True
        allowed[3, [TYPE_NOTE, TYPE_EOS]] = True
        allowed[4, TYPE_EOS] = True
        self.type_allowed = allowed.to(device)

    def sample(self, logits: torch.Tensor, state: GenerationState, generator: torch.Generator | None) -> torch.Tensor:
        """logits (B, sum V) of the next event -> its (B, 6) codes."""
        b = logits.shape[0]
        x = logits[:, self.idx] / max(self.cfg.temperature, 1e-5) + self.pad  # (B, 7, Vmax)
        # type: allowed by the running maximum; no instrument row once every instrument is declared
        type_ok = self.type_allowed[state.max_type].clone()
        type_ok[:, TYPE_INSTRUMENT] &= state.last_inst < self.sizes[F_INSTRUMENT] - 1
        x[:, F_TYPE, :5] = x[:, F_TYPE, :5].masked_fill(~type_ok, NEG_INF)
        # beat: never below the latest note's beat
        x[:, F_BEAT] = x[:, F_BEAT].masked_fill(self.arange[None] < state.max_beat[:, None], NEG_INF)
        n_inst = self.sizes[F_INSTRUMENT]
        # instrument of an instrument row: strictly above the last declared
        # (once all are declared, type 1 is masked and this field unused: keep its last code samplable)
        last = state.last_inst.clamp(max=n_inst - 2)
        x[:, 6, :n_inst] = x[:, 6, :n_inst].masked_fill(self.arange[None, :n_inst] <= last[:, None], NEG_INF)
        if self.cfg.only_declared_instruments:
            ok = state.declared | ~state.declared.any(dim=1, keepdim=True)
            x[:, F_INSTRUMENT, :n_inst] = x[:, F_INSTRUMENT, :n_inst].masked_fill(~ok, NEG_INF)
        # every field keeps at least one samplable code: type by the table, beat its running maximum,
        # instruments at least one code (above), pitch/position/duration all their non-zero codes
        # top-k per field
        top = x.topk(self.kmax, dim=-1).values  # (B, 7, kmax), sorted
        kth = top.gather(-1, (self.k - 1).view(1, -1, 1).expand(b, -1, 1))
        x = x.masked_fill(x < kth, NEG_INF)
        if self.cfg.top_p < 1.0:
            sorted_x, order = x.sort(dim=-1, descending=True)
            cum = sorted_x.softmax(-1).cumsum(-1)
            drop = (cum - sorted_x.softmax(-1)) > self.cfg.top_p  # keep at least the first
            x = x.scatter(-1, order, sorted_x.masked_fill(drop, NEG_INF))
        probs = x.softmax(-1).view(b * 7, self.vmax)
        s = torch.multinomial(probs, 1, generator=generator).view(b, 7)
        t = s[:, F_TYPE]
        is_note = (t == TYPE_NOTE).unsqueeze(1)
        row = torch.where(is_note, s[:, :6], torch.zeros_like(s[:, :6]))
        row[:, F_TYPE] = t
        row[:, F_INSTRUMENT] = torch.where(t == TYPE_INSTRUMENT, s[:, 6], row[:, F_INSTRUMENT])
        return row


class GenerationState:
    """Running maxima and declared instruments of every row of a batch."""

    def __init__(self, prompt: torch.Tensor, n_instruments: int):
        b = prompt.shape[0]
        types = prompt[..., F_TYPE]
        self.max_type = types.max(dim=1).values
        notes = types == TYPE_NOTE
        self.max_beat = torch.where(notes, prompt[..., F_BEAT], torch.zeros_like(types)).max(dim=1).values
        inst_rows = types == TYPE_INSTRUMENT
        inst = torch.where(inst_rows, prompt[..., F_INSTRUMENT], torch.zeros_like(types))
        self.last_inst = inst.max(dim=1).values
        self.declared = torch.zeros(b, n_instruments, dtype=torch.bool, device=prompt.device)
        self.declared.scatter_(1, inst, inst_rows)
        self.declared[:, 0] = False
        self.done = (types == TYPE_EOS).any(dim=1)

    def update(self, row: torch.Tensor) -> None:
        t = row[:, F_TYPE]
        self.max_type = torch.maximum(self.max_type, t)
        self.max_beat = torch.where(t == TYPE_NOTE, torch.maximum(self.max_beat, row[:, F_BEAT]), self.max_beat)
        is_inst = t == TYPE_INSTRUMENT
        self.last_inst = torch.where(is_inst, row[:, F_INSTRUMENT], self.last_inst)
        self.declared[is_inst, row[is_inst, F_INSTRUMENT]] = True
        self.done |= t == TYPE_EOS


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
    sampler = FieldSampler(net.vocab_sizes, cfg, device)
    state = GenerationState(prompt, net.vocab_sizes[F_INSTRUMENT])
    out = torch.zeros(b, max_events, 6, dtype=torch.long, device=device)
    out[:, :t0] = prompt
    eos_row = torch.zeros(6, dtype=torch.long, device=device)
    eos_row[F_TYPE] = TYPE_EOS
    cache = net.new_cache(b, max_events) if use_cache else None
    logits = net(prompt, cache)[:, -1] if use_cache else None
    n = t0
    while n < max_events:
        if not use_cache:
            logits = net(out[:, :n])[:, -1]
        row = sampler.sample(logits, state, generator)
        if stop_at_eos:
            row = torch.where(state.done[:, None], eos_row, row)
        else:
            state.done.zero_()
        state.update(row)
        out[:, n] = row
        n += 1
        if stop_at_eos and bool(state.done.all()):
            break
        if use_cache and n < max_events:
            logits = net(row[:, None], cache)[:, -1]
    return out[:, :n]


def trim(codes: torch.Tensor) -> list[torch.Tensor]:
    """Each row of a generated batch up to and including its first end-of-song."""
    rows = []
    for seq in codes:
        eos = (seq[:, F_TYPE] == TYPE_EOS).nonzero()
        rows.append(seq[: int(eos[0]) + 1] if len(eos) else seq)
    return rows
