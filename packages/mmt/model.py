"""The MMT decoder: six summed field embeddings + learned positions, pre-norm transformer blocks, six
output heads (one fused linear layer), and a per-layer key/value cache preallocated to the maximum length
so that generating one more event costs one step, not a pass over the whole sequence.

:class:`MMTTransformer` is plain torch (``scaled_dot_product_attention``); :class:`MMTLightning` wraps it
for training (loss = sum over the six fields of the cross-entropy over non-padding rows; Adam with linear
warm-up and linear decay, as the paper); :func:`load_model` reads a trained one back.
"""

from __future__ import annotations

import abc
import math
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from gm_common import checkpoint
from gm_common.errors import CheckpointError, ConfigError
from gm_common.schedules import WarmupDecay, per_step
from mmt.data import IGNORE_INDEX
from mmt.representation import Encoding

MODEL_KEYS = ("dim", "depth", "heads", "ff_mult", "dropout", "attn_dropout", "max_seq_len")
STATIC_WINDOW = 256  # a static step attends to a whole number of these windows of cached events


class KVCache:
    """Keys and values of every layer, preallocated to ``max_len``. Keys are stored transposed, so that
    one new event's attention is two plain batched matrix products over contiguous rows; per layer,
    ``kt[i]`` is (B * heads, head_dim, max_len) and ``v[i]`` (B * heads, max_len, head_dim)."""

    def __init__(self, depth: int, batch: int, heads: int, max_len: int, head_dim: int, device=None, dtype=None):
        self.kt = [torch.zeros((batch * heads, head_dim, max_len), device=device, dtype=dtype) for _ in range(depth)]
        self.v = [torch.zeros((batch * heads, max_len, head_dim), device=device, dtype=dtype) for _ in range(depth)]
        self.length = 0  # positions filled so far
        self.max_len = max_len

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write ``k``, ``v`` (B, heads, T, head_dim) after the filled positions; returns all keys and
        values so far, each (B, heads, length + T, head_dim)."""
        b, h, t, d = k.shape
        end = self.length + t
        kt = self.kt[layer].view(b, h, d, self.max_len)
        v_all = self.v[layer].view(b, h, self.max_len, d)
        kt[..., self.length : end] = k.transpose(-1, -2)
        v_all[:, :, self.length : end] = v
        return kt[..., :end].transpose(-1, -2), v_all[:, :, :end]


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)); x + ff(ln(x))."""

    def __init__(self, dim: int, heads: int, ff_mult: int, dropout: float, attn_dropout: float = 0.0):
        super().__init__()
        self.heads, self.head_dim, self.attn_dropout = heads, dim // heads, attn_dropout
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, ff_mult * dim)
        self.ff2 = nn.Linear(ff_mult * dim, dim)
        self.drop = nn.Dropout(dropout)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values, each (B, heads, T, head_dim)."""
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return q, k, v

    def _out(self, x: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        b, _, t, _ = att.shape
        if not self.training:  # inference: no dropout calls (fewer ops per cached step)
            x = x + self.proj(att.transpose(1, 2).reshape(b, t, -1))
            return x + self.ff2(F.gelu(self.ff1(self.ln2(x))))
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, t, -1)))
        return x + self.drop(self.ff2(self.drop(F.gelu(self.ff1(self.ln2(x))))))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """(B, T, dim) -> (B, T, dim); with a cache, ``x`` continues the cached positions of ``layer``."""
        if cache is None:
            q, k, v = self._qkv(x)
            att = F.scaled_dot_product_attention(
                q, k, v, is_causal=True, dropout_p=self.attn_dropout if self.training else 0.0
            )
            return self._out(x, att)
        q, k, v = self._qkv(x)
        start, t = cache.length, x.shape[1]
        keys, values = cache.append(layer, k, v)
        if t == 1:  # one new event attends to everything so far: no mask
            att = F.scaled_dot_product_attention(q, keys, values)
        elif start == 0:
            att = F.scaled_dot_product_attention(q, keys, values, is_causal=True)
        else:  # a chunk after a filled prefix: causal within the chunk
            mask = torch.ones(t, start + t, dtype=torch.bool, device=x.device).tril(diagonal=start)
            att = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        return self._out(x, att)

    def attention_weights(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward pass that also returns the causal attention probabilities (B, heads, T, T)."""
        q, k, v = self._qkv(x)
        t = x.shape[1]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        probs = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        return self._out(x, probs @ v), probs


class MMTTransformer(nn.Module):
    """Decoder-only transformer over six-field events; returns logits of all fields, concatenated."""

    def __init__(
        self,
        vocab_sizes: list[int],
        dim: int = 512,
        depth: int = 6,
        heads: int = 8,
        ff_mult: int = 4,
        dropout: float = 0.2,
        max_seq_len: int = 1024,
        attn_dropout: float = 0.0,
    ):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} is not divisible by heads={heads}")
        self.vocab_sizes = list(vocab_sizes)
        self.dim, self.depth, self.heads, self.max_seq_len = dim, depth, heads, max_seq_len
        offsets = torch.tensor([0, *self.vocab_sizes[:-1]]).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        self.embed = nn.Embedding(sum(self.vocab_sizes), dim)  # the six field tables, stacked
        self.pos = nn.Embedding(max_seq_len, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, ff_mult, dropout, attn_dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, sum(self.vocab_sizes))  # the six heads, fused
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def _embed(self, x: torch.Tensor, start: int) -> torch.Tensor:
        t = x.shape[1]
        if start + t > self.max_seq_len:
            raise ValueError(f"sequence of {start + t} events exceeds max_seq_len={self.max_seq_len}")
        h = self.embed(x + self.offsets).sum(dim=-2)
        return self.drop(h + self.pos.weight[start : start + t])

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """``x``: (B, T, 6) codes -> (B, T, sum(vocab_sizes)) logits. With a cache, ``x`` continues the
        cached sequence (and is appended to it)."""
        start = cache.length if cache is not None else 0
        h = self._embed(x, start)
        for i, block in enumerate(self.blocks):
            h = block(h, cache, i)
        if cache is not None:
            cache.length += x.shape[1]
        return self.head(self.norm(h))

    def split(self, logits: torch.Tensor) -> list[torch.Tensor]:
        """The fused logits cut into the six fields' logits."""
        return list(torch.split(logits, self.vocab_sizes, dim=-1))

    def new_cache(self, batch: int, max_len: int | None = None) -> KVCache:
        """An empty key/value cache for ``batch`` sequences of up to ``max_len`` (default ``max_seq_len``) events."""
        p = self.head.weight
        return KVCache(
            self.depth, batch, self.heads, max_len or self.max_seq_len, self.dim // self.heads, p.device, p.dtype
        )

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Attention probabilities of every layer, each (B, heads, T, T)."""
        h = self._embed(x, 0)
        maps = []
        for block in self.blocks:
            h, probs = block.attention_weights(h)
            maps.append(probs)
        return maps


class IncrementalDecoder:
    """Generation state of one batch: the key/value cache, and the weights laid out once for one-event
    steps (transposed and contiguous, so each layer is a plain ``addmm``; the attention scale folded into
    the query weights).

    ``prefill(prompt)`` runs the prompt through the model, then every ``step(codes)`` costs one event. A
    small model's cached step is bound by per-operation overhead, not arithmetic, so :meth:`step` uses as
    few operations as it can (one query's attention is two ``bmm`` on the cache: cheaper than
    ``scaled_dot_product_attention``, which copies its inputs); it equals ``net(codes[:, None], cache)[:, 0]``
    (tested)."""

    def __init__(self, net: MMTTransformer, batch: int, max_len: int | None = None):
        self.net = net
        self.cache = net.new_cache(batch, max_len)
        dim, head_dim = net.dim, net.dim // net.heads

        def t(linear: nn.Linear) -> torch.Tensor:
            return linear.weight.detach().t().contiguous()

        def qkv(linear: nn.Linear) -> torch.Tensor:
            w = t(linear)
            w[:, :dim] /= math.sqrt(head_dim)
            return w

        b, heads = batch, net.heads
        self.layers = [
            (blk.ln1.weight, blk.ln1.bias, qkv(blk.qkv), t(blk.proj), blk.proj.bias,
             blk.ln2.weight, blk.ln2.bias, t(blk.ff1), blk.ff1.bias, t(blk.ff2), blk.ff2.bias,
             kt, v, kt.view(b, heads, head_dim, -1), v.view(b, heads, -1, head_dim))
            for blk, kt, v in zip(net.blocks, self.cache.kt, self.cache.v)
        ]  # fmt: skip
        self.head_w, self.head_b = t(net.head), net.head.bias

    def prefill(self, prompt: torch.Tensor) -> torch.Tensor:
        """``prompt`` (B, T, 6) -> logits of the event after it (B, sum(vocab_sizes))."""
        return self.net(prompt, self.cache)[:, -1]

    def step(self, codes: torch.Tensor) -> torch.Tensor:
        """Append one event per row, ``codes`` (B, 6) -> logits of the next (B, sum(vocab_sizes))."""
        net, cache = self.net, self.cache
        start = cache.length
        if start >= cache.max_len:
            raise ValueError(f"sequence of {start + 1} events exceeds the cache ({cache.max_len})")
        b, dim, heads = codes.shape[0], net.dim, net.heads
        bh, length = b * heads, start + 1
        h = (
            net.embed.weight.index_select(0, (codes + net.offsets).view(-1))
            .view(b, 6, dim)
            .sum(1)
            .add_(net.pos.weight[start])
        )
        for g1, b1, w_qkv, w_proj, b_proj, g2, b2, w_ff1, b_ff1, w_ff2, b_ff2, kt, v, kt4, v4 in self.layers:
            q, k, val = torch.mm(F.layer_norm(h, (dim,), g1, b1), w_qkv).view(b, 3, heads, -1).unbind(1)
            kt4.select(3, start).copy_(k)
            v4.select(2, start).copy_(val)
            probs = torch.bmm(q.reshape(bh, 1, -1), kt.narrow(2, 0, length)).softmax(-1)
            h = torch.addmm(h, torch.bmm(probs, v.narrow(1, 0, length)).view(b, dim), w_proj).add_(b_proj)
            ff = F.gelu(torch.addmm(b_ff1, F.layer_norm(h, (dim,), g2, b2), w_ff1))
            h = torch.addmm(h, ff, w_ff2).add_(b_ff2)
        cache.length = length
        return torch.addmm(self.head_b, F.layer_norm(h, (dim,), net.norm.weight, net.norm.bias), self.head_w)


class StaticDecoder(IncrementalDecoder):
    """An :class:`IncrementalDecoder` whose step has fixed shapes, so that it can be captured as a CUDA graph.

    The position of the next event is a tensor (``position``), advanced in place; keys and values are written into
    the preallocated cache by that index; a step attends to the first ``keys`` cached positions, a constant of the
    step (a multiple of :data:`STATIC_WINDOW`, so that a graph per window reads no more of the cache than it needs),
    with the positions not yet written masked. After :meth:`prefill`, ``cache.length`` stays the prompt's length;
    ``position`` counts on."""

    def __init__(self, net: MMTTransformer, batch: int, max_len: int | None = None):
        super().__init__(net, batch, max_len)
        device = self.head_w.device
        self.position = torch.zeros(1, dtype=torch.long, device=device)
        self.arange = torch.arange(self.cache.max_len, device=device)
        self.zeros = torch.zeros(self.cache.max_len, device=device, dtype=self.head_w.dtype)

    def prefill(self, prompt: torch.Tensor) -> torch.Tensor:
        """``prompt`` (B, T, 6) -> logits of the event after it (B, sum(vocab_sizes)); ``position`` = T."""
        logits = super().prefill(prompt)
        self.position.fill_(self.cache.length)
        return logits

    def keys_for(self, position: int) -> int:
        """The keys a step at ``position`` attends to: its window's end (multiples of :data:`STATIC_WINDOW`)."""
        return min(self.cache.max_len, (position // STATIC_WINDOW + 1) * STATIC_WINDOW)

    def step(self, codes: torch.Tensor, keys: int | None = None) -> torch.Tensor:
        """Append one event per row at ``position`` (which must be below ``keys``, default the cache's length),
        ``codes`` (B, 6) -> logits of the next (B, sum(vocab_sizes)). No host synchronisation, no shape that
        depends on the position."""
        net, pos = self.net, self.position
        keys = keys or self.cache.max_len
        b, dim, heads = codes.shape[0], net.dim, net.heads
        bh = b * heads
        h = net.embed.weight.index_select(0, (codes + net.offsets).view(-1)).view(b, 6, dim).sum(1)
        h = h.add_(net.pos.weight.index_select(0, pos))
        unwritten = self.zeros[:keys].masked_fill(self.arange[:keys] > pos, float("-inf"))  # added to the scores
        for g1, b1, w_qkv, w_proj, b_proj, g2, b2, w_ff1, b_ff1, w_ff2, b_ff2, kt, v, kt4, v4 in self.layers:
            q, k, val = torch.mm(F.layer_norm(h, (dim,), g1, b1), w_qkv).view(b, 3, heads, -1).unbind(1)
            kt4.index_copy_(3, pos, k.unsqueeze(3))
            v4.index_copy_(2, pos, val.unsqueeze(2))
            scores = torch.baddbmm(unwritten, q.reshape(bh, 1, -1), kt.narrow(2, 0, keys))
            h = torch.addmm(h, torch.bmm(scores.softmax(-1), v.narrow(1, 0, keys)).view(b, dim), w_proj).add_(b_proj)
            ff = F.gelu(torch.addmm(b_ff1, F.layer_norm(h, (dim,), g2, b2), w_ff1))
            h = torch.addmm(h, ff, w_ff2).add_(b_ff2)
        pos.add_(1)
        return torch.addmm(self.head_b, F.layer_norm(h, (dim,), net.norm.weight, net.norm.bias), self.head_w)


def sequence_loss(net: MMTTransformer, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Sum over the six fields of the mean cross-entropy over non-padding rows (padding = IGNORE_INDEX)."""
    logits = net.split(net(x))
    losses = [F.cross_entropy(lg.reshape(-1, lg.shape[-1]), y[..., f].reshape(-1), ignore_index=IGNORE_INDEX)
              for f, lg in enumerate(logits)]  # fmt: skip
    return torch.stack(losses).sum(), losses


class PaperTraining(L.LightningModule, abc.ABC):
    """What MMT and its baselines (:mod:`mmt.baselines`) train alike: training, validation and test steps through
    ``_step(batch, stage)``, and the paper's optimizer from ``optim_cfg`` (lr, warmup_steps, decay_end_steps,
    final_lr_ratio)."""

    optim_cfg: dict

    @abc.abstractmethod
    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        """The loss of one batch, logged under ``stage`` (train, val or test)."""

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """One optimizer step's loss."""
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Validation loss (logged as ``val/loss``)."""
        return self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Test loss (logged as ``test/loss``)."""
        return self._step(batch, "test")

    def configure_optimizers(self) -> dict[str, Any]:
        """Adam; linear warm-up, then linear decay to ``final_lr_ratio`` at ``decay_end_steps`` (the paper's), or
        sooner after ``decay_cpu_minutes`` of CPU time (a budgeted run; absent from older checkpoints)."""
        cfg = self.optim_cfg
        opt = torch.optim.Adam(self.parameters(), lr=float(cfg["lr"]))
        minutes = cfg.get("decay_cpu_minutes")
        factor = WarmupDecay(
            int(cfg["decay_end_steps"]), int(cfg["warmup_steps"]), float(cfg["final_lr_ratio"]), "linear",
            total_minutes=float(minutes) if minutes else None, clock="cpu",
        )  # fmt: skip
        return per_step(opt, factor)


class MMTLightning(PaperTraining):
    """Training wrapper of :class:`MMTTransformer`. Hyper-parameters are plain data (loadable with
    ``weights_only=True``): ``model`` (network sizes), ``encoding`` (:meth:`Encoding.to_dict`), ``optim`` (Adam and
    its schedule) and ``data`` (the data config, recorded so that evaluation finds the test split)."""

    def __init__(self, model: dict, encoding: dict, optim: dict, data: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.encoding = Encoding.from_dict(encoding)
        self.optim_cfg = dict(optim)
        self.net = build_net(model, self.encoding)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        loss, losses = sequence_loss(self.net, batch["x"], batch["y"])
        n = batch["x"].shape[0]
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=n, sync_dist=stage != "train")
        for name, value in zip(("type", "beat", "position", "pitch", "duration", "instrument"), losses):
            self.log(f"{stage}/loss_{name}", value, batch_size=n, sync_dist=stage != "train")
        if stage == "train":
            events = (batch["y"][..., 0] != IGNORE_INDEX).sum()
            self.log("train/events", events.float(), reduce_fx="sum", batch_size=n)
        return loss


def count_parameters(net: nn.Module) -> int:
    """Number of parameters of a module."""
    return sum(p.numel() for p in net.parameters())


def build_net(model: dict, encoding: Encoding) -> MMTTransformer:
    """The network of a model config (``name`` plus :data:`MODEL_KEYS`) for an encoding's vocabularies."""
    unknown = set(model) - {"name", *MODEL_KEYS}
    if unknown:
        raise ConfigError(f"model: unknown keys {sorted(unknown)}; known: name, {', '.join(MODEL_KEYS)}")
    return MMTTransformer(encoding.vocab_sizes, **{k: v for k, v in model.items() if k != "name"})


def checkpoint_encoding(hp: dict, path: str | Path, expected: Encoding | None = None) -> Encoding:
    """The encoding a checkpoint's hyper-parameters record (``merged`` voices when it predates the option); a
    :class:`CheckpointError` when it is damaged or differs from ``expected`` (naming the differences)."""
    try:
        saved = Encoding.from_dict(hp["encoding"])
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from err
    if expected is not None and expected != saved:
        hint = f" (it was made with encoding.voices={saved.voices})" if saved.voices != expected.voices else ""
        raise CheckpointError(
            f"{path}: encoding differs from the expected one in {', '.join(saved.differences(expected))}{hint}"
        )
    return saved


def load_model(
    path: str | Path, encoding: Encoding | None = None, model_cfg: dict | None = None
) -> tuple[MMTTransformer, Encoding, dict[str, Any]]:
    """A trained network (eval mode, on the CPU), its encoding and hyper-parameters, from a Lightning checkpoint
    or a shipped ``.safetensors`` file (weights under ``net.``; never unpickled).

    ``encoding`` / ``model_cfg``, when given, must match what the checkpoint was trained with (a
    :class:`CheckpointError` names the differences; dropout may differ)."""

    def build(hp: dict) -> MMTTransformer:
        if hp.get("representation", "mmt") != "mmt":  # a baseline of mmt.baselines
            raise CheckpointError(
                f"{path} holds a {hp['representation']} model: use representation={hp['representation']}"
            )
        ck_enc = checkpoint_encoding(hp, path, encoding)
        model = hp["model"]
        if model_cfg:
            diff = [
                k
                for k in MODEL_KEYS
                if k in model_cfg and k not in ("dropout", "attn_dropout") and model_cfg[k] != model.get(k)
            ]
            if diff:
                got = ", ".join(f"{k}={model.get(k)} (expected {model_cfg[k]})" for k in diff)
                raise CheckpointError(f"{path}: model size differs from the config: {got}")
        return build_net(model, ck_enc)

    net, hp = checkpoint.load_model(path, build, "mmt", needs=("encoding", "model"), prefixes=("net.",))
    return net, Encoding.from_dict(hp["encoding"]), hp
