"""Sampling events from an :class:`~mmt.model.MMTTransformer`, as in the paper, for every row of a batch.

Per step, for each field: logits / temperature, the rule masks, top-k keeping ``ceil((1 - threshold) * V)``
outcomes (threshold 0.9 keeps 10 %), then min-p (outcomes less likely than ``min_p`` times the field's most likely
one are dropped) and top-p where set, then a draw. :data:`PRESETS`: ``default`` (top-k, min-p 0.05, a note at
most 8 beats after the latest), ``paper`` (top-k alone, as the paper) and ``add`` (``default`` at temperature 0.5
with the harmony model: adding a part to a piece). The paper's top-k keeps 26 of 257 beat
codes at every step, and a small model spreads ~40x too much probability over far beats (0.13 % per note that the
next note is more than 8 beats on, against 0.003 % in the pieces): drawn at every note, a third of the samples
jump ahead and fall silent until that beat (``benchmarks/mmt_sampling.py`` measures it). Min-p cuts that tail
and leaves the likely outcomes as they are; the advance bound catches what is left with instruments rare in the
data (no piece of the corpus has a silence over 12 beats). Rules (every row independently):

- code 0 is never sampled (type 0 = start-of-song is only ever the prompt);
- type is monotonic (never below the running maximum); in addition an instrument row needs no notes
  yet, start-of-notes comes once and after at least one instrument, notes and end-of-song after it;
- beat is monotonic (a note's beat is never below the latest note's beat);
- an instrument row samples only the instrument (strictly ascending, as the encoding writes them); a note
  row samples beat, position, pitch, duration and instrument (by default only a declared instrument);
  start-of-notes and end-of-song rows carry no other field;
- a row stops at end-of-song; generation stops when every row has, or at ``max_events``.

A prompt in the infill layout (:func:`mmt.representation.infill_codes`: it ends with the target's marker row and
any of the target's notes) adds a part: its rows draw only notes of the target's instrument and end-of-song (the
type rules already allow nothing else after notes), and the beat floor and the advance bound count only the
target's notes, so the part's beats are monotonic and the other parts' later notes set no floor. ``end_from``
(a beat) keeps end-of-song from being drawn before a row's latest note reaches it (a part written in windows ends
only where the other parts end: :mod:`mmt.infill`). With ``SamplingConfig.harmony`` above 0 (the ``add`` preset's
0.6), a note's pitch is drawn a second time, once its onset and duration are drawn, from the pitch logits plus that
weight times the harmony model's score of each pitch against the other parts sounding then (:mod:`mmt.harmony`).

A prompt in the interleaved layout (:func:`mmt.representation.interleave_codes`) is continued by
:func:`generate_among`: the other parts' notes still to come (``given``) are put in where the layout puts them. The
model learned to predict, at every row, the added part's next row (:func:`mmt.data.part_targets`): a note's onset,
then the note. A drawn onset that would come after the next given note (or an end before it) is dropped, the given
note goes in instead (and the part's next note may no longer come before it), and the onset is drawn again from
there; an onset kept is followed by its note, whose pitch and duration are drawn knowing that onset. So the added
part's every note is drawn having read the other parts up to ``ahead`` beats past its own time.

Decodings (:data:`DECODINGS`, drawing the same tokens from the same generator): ``cached``, one eager step per event
on a key/value cache; ``static``, a fixed-shape step (the position a tensor, the attention over a fixed window
of the preallocated cache) with the sampler's state in place, and ``graph``, that step captured as a CUDA graph
(a small model's step on a GPU is bound by kernel launches, not arithmetic); ``recompute``, the whole sequence
at every step (the reference implementation's way, kept for comparison).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch

from gm_common.errors import ConfigError
from mmt.harmony import HarmonyGuide
from mmt.model import IncrementalDecoder, MMTTransformer, StaticDecoder
from mmt.representation import (
    F_BEAT,
    F_DURATION,
    F_INSTRUMENT,
    F_PITCH,
    F_POSITION,
    F_TYPE,
    TYPE_EOS,
    TYPE_INSTRUMENT,
    TYPE_NOTE,
    TYPE_SON,
)

NEG_INF = float("-inf")
DECODINGS = ("cached", "static", "graph", "recompute")
CHECK_EVERY = 32  # a CUDA-graph loop checks whether every row has ended every this many events
WARMUP_EVENTS = 2  # events run eagerly (on a side stream) before the first CUDA graph capture


@dataclass
class SamplingConfig:
    """How each field's outcome is drawn (defaults: :data:`PRESETS`'s ``default``; ``paper`` is the paper's)."""

    temperature: float = 1.0
    filter_threshold: float = 0.9  # top-k keeps ceil((1 - threshold) * V) outcomes per field
    top_p: float = 1.0  # nucleus sampling on top of top-k (1.0 = off)
    only_declared_instruments: bool = True  # notes use only instruments declared in the sequence
    min_p: float = 0.05  # drop outcomes less likely than min_p x the field's most likely one (0 = off)
    max_beat_advance: int | None = 8  # a note starts at most this many beats after the latest one (None: off)
    beat_top_p: float = 1.0  # nucleus on the beat field alone (compared in benchmarks/mmt_sampling.py)
    beat_min_p: float = 0.0  # min_p on the beat field alone (compared there too)
    allow_end: bool = True  # False: end-of-song is never drawn, so every row runs to the budget (benchmarks)
    harmony: float = 0.0  # adding a part: the weight of the harmony model on a note's pitch (mmt.harmony; 0 = off)


PRESETS = {
    "default": SamplingConfig(),
    "paper": SamplingConfig(min_p=0.0, max_beat_advance=None),
    "add": SamplingConfig(temperature=0.5, harmony=0.6),  # adding a part: chosen on validation pieces (mmt_add_part.py)
}


def mode_preset(adding: bool) -> str:
    """The preset a mode samples with unless another is named: ``add`` when adding parts, else ``default``."""
    return "add" if adding else "default"


OVERRIDES = ("temperature", "filter_threshold", "top_p", "min_p", "max_beat_advance", "only_declared_instruments",
             "harmony")


def sampling_preset(name: str | SamplingConfig = "default", **overrides: object) -> SamplingConfig:
    """A preset of :data:`PRESETS` by name (or a config as is), with the ``overrides`` that are not None."""
    if isinstance(name, str):
        if name not in PRESETS:
            raise ConfigError(f"sampling={name!r}: expected one of {', '.join(PRESETS)}")
        name = PRESETS[name]
    return replace(name, **{k: v for k, v in overrides.items() if v is not None})


def sampling_config(cfg: Mapping, default: str = "default") -> SamplingConfig:
    """The sampling of a command's config: its ``sampling`` preset (``default`` where null) with the
    :data:`OVERRIDES` it sets."""
    return sampling_preset(str(cfg["sampling"] or default), **{k: cfg[k] for k in OVERRIDES if k in cfg})


# Sampler rows: the six fields, the instrument of an instrument row, and a row that always draws 0 (it
# fills the fields a row does not carry)
INST_ROW, ZERO_ROW, N_ROWS = 6, 7, 8


class FieldSampler:
    """Samples the next event of every row of a batch under the rules, and keeps the rows' running state
    (maximum type and beat, declared instruments, done).

    A step of a small model is bound by the number of tensor operations, so the logits of all fields are
    gathered into one padded (B, 8, Vmax) tensor and the rules are an additive mask, ``bias``, that only
    changes when a row's type rises or it declares an instrument (a few times per piece; :meth:`update`
    rebuilds it then). Per step only the beat's floor and bound are applied, then top-k, min-p and a draw
    by inverse CDF (``torch.multinomial`` costs more than the rest of the sampler on 8 small rows)."""

    def __init__(self, vocab_sizes: list[int], cfg: SamplingConfig, prompt: torch.Tensor, end_from: int | None = None,
                 harmony: HarmonyGuide | None = None):  # fmt: skip
        self.cfg, self.sizes, self.harmony = cfg, list(vocab_sizes), harmony
        self.end_from = None if end_from is None else int(end_from) + 1  # as a beat code
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
        top_p = torch.full((N_ROWS, 1), float(cfg.top_p))
        top_p[F_BEAT] = min(float(cfg.top_p), float(cfg.beat_top_p))
        min_p = torch.full((N_ROWS, 1), float(cfg.min_p))
        min_p[F_BEAT] = max(float(cfg.min_p), float(cfg.beat_min_p))
        self.top_p = top_p.to(device) if bool((top_p < 1).any()) else None
        self.log_min_p = min_p.clamp(min=1e-30).log().to(device) if bool((min_p > 0).any()) else None
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
        inst_rows = types == TYPE_INSTRUMENT
        inst = torch.where(inst_rows, prompt[..., F_INSTRUMENT], zeros)
        # an infill marker (an instrument row after start-of-notes) names the part being added: 0 where none
        marks = inst_rows & ((types == TYPE_SON).cumsum(dim=1) > 0)
        self.part = torch.where(marks, inst, zeros).max(dim=1).values
        self.adds_part = bool(marks.any())
        ours = (marks.cumsum(dim=1) > 0) & (prompt[..., F_INSTRUMENT] == self.part[:, None])
        counted = (types == TYPE_NOTE) & (ours | ~marks.any(dim=1, keepdim=True))
        # running maxima of type and beat side by side (F_TYPE, F_BEAT = 0, 1): one update for both
        self.maxima = torch.stack(
            [types.max(dim=1).values, torch.where(counted, prompt[..., F_BEAT], zeros).max(dim=1).values], 1
        )
        self.max_type, self.max_beat = self.maxima[:, F_TYPE], self.maxima[:, F_BEAT]  # views
        self.last_inst = inst.max(dim=1).values
        # one column more than instruments: updates by rows that declare nothing write there
        self.declared = torch.zeros(b, n_inst + 1, dtype=torch.bool, device=device)
        self.declared.scatter_(1, inst, inst_rows)
        self.declared[:, 0] = False
        self.done = (types == TYPE_EOS).any(dim=1)
        self.bias = self._rules_bias()

    def undeclared(self) -> torch.Tensor:
        """(B, n_instruments): instruments a note may not use (none banned before any is declared)."""
        declared = self.declared[:, : self.n_inst]
        return ~declared & declared.any(dim=1, keepdim=True)

    def _rules_bias(self) -> torch.Tensor:
        """The rules that depend on the maximum type and the declared instruments, as -inf entries (B, 8, Vmax)."""
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
        if self.adds_part:  # a row adding a part writes only its instrument
            other = (self.arange[:n_inst] != self.part[:, None]) & (self.part[:, None] > 0)
            bias[:, F_INSTRUMENT, :n_inst].masked_fill_(other, NEG_INF)
        if not self.cfg.allow_end:  # a note row stays samplable whenever end-of-song is (the type table)
            bias[:, F_TYPE, TYPE_EOS] = NEG_INF
        return bias

    def sample(self, logits: torch.Tensor, u: torch.Tensor, onset: torch.Tensor | None = None) -> torch.Tensor:
        """logits (B, sum V) of the next event -> its (B, 6) codes; ``u`` (B, 8, 1): uniform draws in [0, 1)
        (drawn for all steps at once: one ``torch.rand`` per step costs as much as a rule). With ``onset`` (B, 2:
        beat and position codes), the row is the note at that onset, whatever type is drawn."""
        b = logits.shape[0]
        x = torch.add(
            self.bias, logits.index_select(1, self.idx).view(b, N_ROWS, self.vmax), alpha=self.inv_temperature
        )
        x[:, F_BEAT].masked_fill_(self.arange < self.max_beat[:, None], NEG_INF)  # never below the latest note's
        if self.cfg.max_beat_advance:
            x[:, F_BEAT].masked_fill_(self.arange > self.max_beat[:, None] + self.cfg.max_beat_advance, NEG_INF)
        if self.end_from is not None:  # a note stays samplable (the type table allows one wherever it allows an end)
            x[:, F_TYPE, TYPE_EOS].masked_fill_(self.max_beat < self.end_from, NEG_INF)
        s = self._draw(x.clone() if self.harmony is not None else x, u)
        if onset is not None:
            s[:, F_TYPE], s[:, F_BEAT : F_POSITION + 1] = TYPE_NOTE, onset
        if self.harmony is not None:  # the pitch again, knowing the onset and duration drawn (mmt.harmony)
            bias = self.harmony.bias(s[:, F_BEAT], s[:, F_POSITION], s[:, F_DURATION])
            x[:, F_PITCH, : bias.shape[1]] += bias * self.inv_temperature
            s[:, F_PITCH] = self._draw(x, u)[:, F_PITCH]
        return s.gather(1, self.rows.index_select(0, s[:, F_TYPE]))

    def _draw(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Filter masked logits (B, 8, Vmax) in place by top-k, min-p and top-p, and draw a code per sampler row."""
        b = x.shape[0]
        # every row keeps at least one samplable code: type by the table, beat its running maximum,
        # instruments at least one code (above), pitch/position/duration all their non-zero codes
        kth = x.topk(self.kmax, dim=-1).values.gather(-1, self.kth_index.expand(b, -1, -1))
        x.masked_fill_(x < kth, NEG_INF)
        if self.log_min_p is not None:  # the most likely code always stays
            x.masked_fill_(x < x.amax(-1, keepdim=True) + self.log_min_p, NEG_INF)
        if self.top_p is not None:
            sorted_x, order = x.sort(dim=-1, descending=True)
            p = sorted_x.softmax(-1)
            drop = (p.cumsum(-1) - p) > self.top_p  # keep at least the first
            x = x.scatter(-1, order, sorted_x.masked_fill(drop, NEG_INF))
        # inverse CDF: the first code whose cumulative probability exceeds u * total, u in [0, 1)
        cdf = x.softmax(-1).cumsum(-1)
        return torch.searchsorted(cdf, u * cdf[..., -1:], right=True).view(b, N_ROWS)

    def update(self, row: torch.Tensor, always_rebuild: bool = False) -> None:
        """Take a generated row (B, 6); its beat is 0 unless it is a note. The rules' bias is rebuilt when a row's
        rules change (a host synchronisation decides) or, with ``always_rebuild``, at every step (the same bias,
        without the synchronisation a CUDA graph cannot hold). Every state tensor is updated in place."""
        t = row[:, F_TYPE]
        is_inst = t == TYPE_INSTRUMENT
        rebuild = always_rebuild or bool((is_inst | (t > self.max_type)).any())
        torch.maximum(self.maxima, row[:, :2], out=self.maxima)
        self.done |= t == TYPE_EOS
        if rebuild:
            self.last_inst.copy_(torch.where(is_inst, row[:, F_INSTRUMENT], self.last_inst))
            self.declared.scatter_(1, torch.where(is_inst, row[:, F_INSTRUMENT], self.n_inst)[:, None], True)
            self.bias.copy_(self._rules_bias())

    def next_row(self, logits: torch.Tensor, u: torch.Tensor, eos_row: torch.Tensor, stop_at_eos: bool,
                 always_rebuild: bool = False) -> torch.Tensor:  # fmt: skip
        """Sample the next event (B, 6) from ``logits`` and take it: finished rows get ``eos_row`` (with
        ``stop_at_eos``; without, no row ever finishes)."""
        row = self.sample(logits, u)
        if stop_at_eos:
            row = torch.where(self.done[:, None], eos_row, row)
        else:
            self.done.zero_()
        self.update(row, always_rebuild)
        return row


@contextmanager
def _without_onednn() -> Iterator[None]:
    """oneDNN sets up every GELU call on a CPU (~6 us), more than a small model's GELU costs without it."""
    enabled = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = enabled


def decoding_for(cuda_graph: str | bool, device: torch.device) -> str:
    """The decoding that ``cuda_graph`` (``auto``, ``true`` or ``false``) asks for on ``device``: ``graph`` (CUDA;
    ``auto`` picks it there) or ``cached`` (eager); ``true`` without CUDA is a :class:`ConfigError`."""
    option = str(cuda_graph).lower()
    if option not in ("auto", "true", "false"):
        raise ConfigError(f"cuda_graph={cuda_graph!r}: expected auto, true or false")
    if option == "true" and device.type != "cuda":
        raise ConfigError(f"cuda_graph=true needs a CUDA device, and the model is on {device}; use cuda_graph=auto")
    return "graph" if option != "false" and device.type == "cuda" else "cached"


@torch.inference_mode()
def generate(
    net: MMTTransformer,
    prompt: torch.Tensor,
    max_events: int | None = None,
    cfg: SamplingConfig | None = None,
    decoding: str = "cached",
    generator: torch.Generator | None = None,
    stop_at_eos: bool = True,
    end_from: int | None = None,
    harmony: HarmonyGuide | None = None,
) -> torch.Tensor:
    """Continue ``prompt`` (B, T0, 6) up to ``max_events`` rows in all (default: the model's maximum).

    ``decoding`` is one of :data:`DECODINGS`: ``cached`` (one eager cached step per event), ``static`` (the
    fixed-shape step of :class:`~mmt.model.StaticDecoder`, run eagerly), ``graph`` (that step and the sampler
    captured as CUDA graphs and replayed; CUDA only) or ``recompute`` (the whole sequence at every step).
    They draw the same tokens from the same generator (cached, static and recompute compared on the CPU in the
    tests; graph against static where CUDA is). Returns (B, T, 6) codes; rows finished early are padded with
    end-of-song rows. With ``stop_at_eos=False`` every row runs to ``max_events`` (benchmarks). With ``end_from``
    (a beat), end-of-song is drawn only once a row's latest note (of the part being added, in an infill prompt) is
    there. With ``harmony``, each note's pitch is drawn knowing its onset and duration (:mod:`mmt.harmony`)."""
    if decoding not in DECODINGS:
        raise ConfigError(f"decoding={decoding!r}: expected one of {', '.join(DECODINGS)}")
    cfg = cfg or SamplingConfig()
    net.eval()
    device = net.head.weight.device
    if decoding == "graph" and device.type != "cuda":
        raise ConfigError(f"decoding=graph captures CUDA graphs; the model is on {device}")
    prompt = prompt.to(device)
    b, t0, _ = prompt.shape
    max_events = min(max_events or net.max_seq_len, net.max_seq_len)
    if t0 >= max_events:
        return prompt.clone()
    sampler = FieldSampler(net.vocab_sizes, cfg, prompt, end_from, harmony)
    out = torch.zeros(b, max_events, 6, dtype=torch.long, device=device)
    out[:, :t0] = prompt
    eos_row = torch.zeros(6, dtype=torch.long, device=device)
    eos_row[F_TYPE] = TYPE_EOS
    uniforms = torch.rand((max_events - t0, b, N_ROWS, 1), generator=generator, device=device)
    if decoding in ("static", "graph"):
        decoder = StaticDecoder(net, b, max_events)
        loop = StaticLoop(decoder, sampler, decoder.prefill(prompt), uniforms, out, eos_row, stop_at_eos)
        return out[:, : loop.run(decoding == "graph")]
    decoder = IncrementalDecoder(net, b, max_events) if decoding == "cached" else None
    logits = decoder.prefill(prompt) if decoder else None
    n = t0
    with _without_onednn():
        while n < max_events:
            if decoder is None:
                logits = net(out[:, :n])[:, -1]
            row = sampler.next_row(logits, uniforms[n - t0], eos_row, stop_at_eos)
            out[:, n] = row
            n += 1
            if stop_at_eos and bool(sampler.done.all()):
                break
            if decoder and n < max_events:
                logits = decoder.step(row)
    return out[:, :n]


@torch.inference_mode()
def generate_among(
    net: MMTTransformer,
    prompt: torch.Tensor,
    given: torch.Tensor,
    ahead: int,
    max_events: int | None = None,
    cfg: SamplingConfig | None = None,
    generator: torch.Generator | None = None,
    end_from: int | None = None,
    harmony: HarmonyGuide | None = None,
) -> torch.Tensor:
    """Continue one interleaved prompt (T0, 6) with the added part's notes, each its onset row then the note, putting
    in the other parts' ``given`` rows (notes in layout order, ``ahead`` beats early) where the layout puts them
    (module docstring); up to ``max_events`` rows in all (default: the model's maximum). Returns the (T, 6) codes,
    ending with end-of-song unless the events ran out. ``end_from`` and ``harmony`` as in :func:`generate`."""
    cfg = cfg or SamplingConfig()
    net.eval()
    device = net.head.weight.device
    max_events = min(max_events or net.max_seq_len, net.max_seq_len)
    prompt, given = prompt.to(device).view(1, -1, 6), given.to(device).view(-1, 6)
    sampler = FieldSampler(net.vocab_sizes, cfg, prompt, end_from, harmony)
    decoder = IncrementalDecoder(net, 1, max_events)
    logits = decoder.prefill(prompt)
    steps = net.vocab_sizes[F_POSITION]  # a row's time as one number: beat code * steps + position code
    when = ((given[:, F_BEAT] - ahead) * steps + given[:, F_POSITION]).tolist()
    rows, g, onset = list(prompt[0]), 0, None

    with _without_onednn():
        while len(rows) < max_events:
            u = torch.rand((1, N_ROWS, 1), generator=generator, device=device)
            row = sampler.sample(logits, u, None if onset is None else onset[:, F_BEAT : F_POSITION + 1])
            if onset is not None:  # the note of the onset row before it
                sampler.update(row)
                onset = None
            elif g < len(given) and (int(row[0, F_TYPE]) == TYPE_EOS
                                     or when[g] <= int(row[0, F_BEAT]) * steps + int(row[0, F_POSITION])):  # fmt: skip
                row, g = given[g : g + 1], g + 1
                sampler.max_beat.clamp_(min=int(row[0, F_BEAT]) - ahead)  # the part's next note comes after it
            elif int(row[0, F_TYPE]) == TYPE_EOS:
                rows.append(row[0])
                break
            else:
                row[:, F_PITCH], row[:, F_DURATION] = 0, 0
                onset = row
            rows.append(row[0])
            if len(rows) < max_events:
                logits = decoder.step(row)
    return torch.stack(rows)


class StaticLoop:
    """Generation as a fixed sequence of identical events: each :meth:`event` steps the model on the previous row
    and samples the next, reading and writing only tensors at fixed addresses (the position and the draw's index
    are tensors advanced in place), so that it can be captured once as a CUDA graph and replayed; with a graph,
    whether every row has ended is checked every :data:`CHECK_EVERY` events (the events past the end only
    write end-of-song rows, cut off afterwards)."""

    def __init__(self, decoder: StaticDecoder, sampler: FieldSampler, logits: torch.Tensor, uniforms: torch.Tensor,
                 out: torch.Tensor, eos_row: torch.Tensor, stop_at_eos: bool):  # fmt: skip
        self.decoder, self.sampler, self.uniforms, self.out = decoder, sampler, uniforms, out
        self.eos_row, self.stop_at_eos = eos_row, stop_at_eos
        self.t0 = out.shape[1] - uniforms.shape[0]
        # the first event comes from the prompt's logits, as in the eager loop
        self.previous = sampler.next_row(logits, uniforms[0], eos_row, stop_at_eos)
        out[:, self.t0] = self.previous
        self.index = torch.full((1,), self.t0 + 1, dtype=torch.long, device=out.device)  # row of out written next

    def event(self, keys: int) -> None:
        """Step the model on the previous row (attending to ``keys`` positions), sample and write the next."""
        logits = self.decoder.step(self.previous, keys)
        u = self.uniforms.index_select(0, self.index - self.t0).squeeze(0)
        row = self.sampler.next_row(logits, u, self.eos_row, self.stop_at_eos, always_rebuild=True)
        self.out.index_copy_(1, self.index, row.unsqueeze(1))
        self.previous.copy_(row)
        self.index.add_(1)

    def run(self, graph: bool) -> int:
        """Generate to the end (every row's end-of-song or the last row of ``out``); returns the rows written. With
        ``graph``, the first :data:`WARMUP_EVENTS` events run eagerly on a side stream, then each window of keys
        is captured as a CUDA graph when the loop reaches it, and replayed."""
        n, total = self.t0 + 1, self.out.shape[1]
        graphs: dict[int, torch.cuda.CUDAGraph] = {}
        side = torch.cuda.Stream(self.out.device) if graph else None
        with _without_onednn():
            while n < total and not (self.stop_at_eos and n % CHECK_EVERY == 0 and bool(self.sampler.done.all())):
                keys = self.decoder.keys_for(n - 1)  # the previous row goes to position n - 1
                if not graph:
                    self.event(keys)
                elif n - self.t0 <= WARMUP_EVENTS:
                    with _on(side):
                        self.event(keys)
                else:
                    if keys not in graphs:
                        graphs[keys] = torch.cuda.CUDAGraph()
                        with _on(
                            side
                        ):  # not torch.cuda.graph(): it synchronises and empties the cache at every capture
                            graphs[keys].capture_begin()
                            self.event(keys)  # recorded, not run
                            graphs[keys].capture_end()
                    graphs[keys].replay()
                n += 1
        if self.stop_at_eos:  # the first event after which every row had ended
            ended = (self.out[:, self.t0 : n, F_TYPE] == TYPE_EOS).all(dim=0).nonzero()
            n = self.t0 + int(ended[0]) + 1 if len(ended) else n
        return n


@contextmanager
def _on(stream: torch.cuda.Stream) -> Iterator[None]:
    """Run on ``stream``, after the work queued on the current stream and before what is queued next."""
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        yield
    torch.cuda.current_stream().wait_stream(stream)


def trim(codes: torch.Tensor) -> list[torch.Tensor]:
    """Each row of a generated batch up to and including its first end-of-song."""
    rows = []
    for seq in codes:
        eos = (seq[:, F_TYPE] == TYPE_EOS).nonzero()
        rows.append(seq[: int(eos[0]) + 1] if len(eos) else seq)
    return rows
