"""Transformer part-separation nets: an encoder (offline, full attention) or a decoder-only stack (online,
causal), 3 layers of d 128, 8 heads, FF 256 in the paper, with LayerNorm after each sub-layer (post-norm).

Attention is ``F.scaled_dot_product_attention`` (fused kernels on CPU and GPU); dropout is applied to the
sub-layer outputs, not to the attention weights. The decoder keeps a key/value cache for streaming
(``TransformerNet.step``): each new note costs one position of attention per layer.

Positions are note indices (sinusoidal, added after the input projection); long pieces are predicted in
overlapping windows of ``window`` notes (see ``TransformerNet.forward``). ``distance_bias`` (not in the paper)
adds ALiBi's per-head penalty ``-slope_h * |i - j|`` to the attention scores of notes ``i`` and ``j``, so each
head starts out looking at nearby notes, as a (Bi)LSTM does (Press et al., 2022).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from arranger.embedding import NoteEmbedding, sinusoid


@dataclass
class KVCache:
    """Per-layer keys and values of the notes seen so far, preallocated to ``capacity`` positions."""

    keys: list[torch.Tensor] = field(default_factory=list)  # (1, heads, capacity, head_dim) per layer
    values: list[torch.Tensor] = field(default_factory=list)
    length: int = 0

    @classmethod
    def empty(cls, layers: int, heads: int, head_dim: int, capacity: int) -> "KVCache":
        """A zeroed cache of ``capacity`` positions per layer."""
        return cls(
            [torch.zeros(1, heads, capacity, head_dim) for _ in range(layers)],
            [torch.zeros(1, heads, capacity, head_dim) for _ in range(layers)],
            0,
        )


class SelfAttention(nn.Module):
    """Multi-head self-attention on fused scaled-dot-product attention, with an optional key/value cache."""

    def __init__(self, d_model: int, heads: int, distance_bias: bool = False):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not a multiple of heads {heads}")
        self.heads, self.head_dim = heads, d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        slopes = 2.0 ** (-8.0 * torch.arange(1, heads + 1) / heads) if distance_bias else None
        self.register_buffer("slopes", slopes, persistent=False)  # ALiBi's geometric slopes; not in checkpoints

    def _bias(self, q_start: int, n: int, n_keys: int, causal: bool, keep: torch.Tensor | None) -> torch.Tensor:
        """Float attention mask (.., heads, n, n_keys): the distance penalty, -inf on masked keys."""
        q = torch.arange(q_start, q_start + n, device=self.slopes.device)
        k = torch.arange(n_keys, device=self.slopes.device)
        dist = (q[:, None] - k[None, :]).abs().float()
        bias = -self.slopes[:, None, None] * dist
        if causal:
            bias = bias.masked_fill(k[None, :] > q[:, None], float("-inf"))
        return bias if keep is None else bias.masked_fill(~keep, float("-inf"))

    def forward(
        self,
        x: torch.Tensor,
        causal: bool,
        key_pad: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """x (B, N, d). ``key_pad`` (B, N) True on padding (non-causal only: in a causal stack padding sits
        after every real note). With ``cache``: x is the next N notes of one sequence (N = 1, or N >= 1
        on an empty cache); their keys/values are appended to the cache."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        mask, start = None, 0
        if cache is not None:
            start = cache.length
            if start and n != 1:
                raise ValueError("a non-empty cache takes one note at a time")
            cache.keys[layer][:, :, start : start + n] = k
            cache.values[layer][:, :, start : start + n] = v
            k, v = cache.keys[layer][:, :, : start + n], cache.values[layer][:, :, : start + n]
            causal = causal and start == 0 and n > 1
        elif key_pad is not None and not causal:
            mask = ~key_pad[:, None, None, :]  # True = may attend
        if self.slopes is not None:
            mask, causal = self._bias(start, n, k.shape[2], causal, mask), False
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Post-norm Transformer layer: x = LN(x + attn(x)); x = LN(x + FF(x))."""

    def __init__(self, d_model: int, heads: int, ff: int, dropout: float, distance_bias: bool = False):
        super().__init__()
        self.attn = SelfAttention(d_model, heads, distance_bias)
        self.ff = nn.Sequential(nn.Linear(d_model, ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff, d_model))
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        causal: bool,
        key_pad: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """One post-norm layer (see ``SelfAttention.forward`` for the arguments)."""
        x = self.norm1(x + self.drop(self.attn(x, causal, key_pad, cache, layer)))
        return self.norm2(x + self.drop(self.ff(x)))


class TransformerNet(nn.Module):
    """Transformer stack; ``causal`` makes it a decoder-only (online) model."""

    def __init__(
        self,
        n_parts: int,
        d_model: int = 128,
        layers: int = 3,
        heads: int = 8,
        ff: int = 256,
        dropout: float = 0.2,
        causal: bool = False,
        window: int = 1024,
        distance_bias: bool = False,
        **emb,
    ):
        super().__init__()
        self.embed = NoteEmbedding(n_parts, **emb)
        self.causal, self.window, self.d_model, self.heads = causal, window, d_model, heads
        self.inp = nn.Linear(self.embed.dim, d_model)
        self.blocks = nn.ModuleList(Block(d_model, heads, ff, dropout, distance_bias) for _ in range(layers))
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(d_model, n_parts)

    def _input(self, batch: dict[str, torch.Tensor], offset: int = 0) -> torch.Tensor:
        x = self.inp(self.embed(batch))
        idx = torch.arange(offset, offset + x.shape[1], device=x.device)
        return self.drop(x + sinusoid(idx, self.d_model))

    def _run(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self._input(batch)
        key_pad = None if self.causal or bool(batch["mask"].all()) else ~batch["mask"]
        for block in self.blocks:
            x = block(x, self.causal, key_pad)
        return self.out(x)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, N, n_parts) logits; long pieces at inference in overlapping windows (see below)."""
        n = batch["pitch"].shape[1]
        if n <= self.window or self.training:
            return self._run(batch)
        # Full-length inference on long pieces: windows of `window` notes; each window's predictions are
        # kept for its middle (offline) or its end (online), so every note sees >= window/2 context.
        # Online, note i is predicted from notes [window_start(i), i] (see `window_start`).
        half, quarter = self.window // 2, self.window // 4
        out = None
        start = 0
        while start < n:
            if self.causal:  # notes [start, start+half) with `half` notes of past context
                lo, hi = max(0, start - half), min(n, start + half)
                keep = hi
            else:  # notes [start, hi-quarter) with >= `quarter` notes of context on each side
                lo = max(0, start - quarter)
                hi = min(n, lo + self.window)
                keep = hi if hi == n else hi - quarter
            sub = {k: (v[:, lo:hi] if k != "pitch_hint" else v) for k, v in batch.items()}
            logits = self._run(sub)
            if out is None:
                out = logits.new_zeros(logits.shape[0], n, logits.shape[-1])
            out[:, start:keep] = logits[:, start - lo : keep - lo]
            start = keep
        return out

    # -- streaming (decoder only) -------------------------------------------------------------------
    def window_start(self, i: int) -> int:
        """First note of the context from which the online model predicts note ``i`` (as in ``forward``)."""
        half = self.window // 2
        return max(0, (i // half - 1) * half)

    def new_cache(self) -> KVCache:
        """An empty key/value cache of ``window`` positions."""
        blk = self.blocks[0].attn
        return KVCache.empty(len(self.blocks), blk.heads, blk.head_dim, self.window)

    def step(self, batch: dict[str, torch.Tensor], cache: KVCache, offset: int) -> torch.Tensor:
        """Logits (1, N, n_parts) of the next N notes of one sequence (``batch`` holds only them, at
        window positions ``offset``..), attending to the cached notes; the cache grows by N."""
        if not self.causal:
            raise ValueError("only the causal (decoder) model can step")
        x = self._input(batch, offset)
        for layer, block in enumerate(self.blocks):
            x = block(x, True, None, cache, layer)
        cache.length += x.shape[1]
        return self.out(x)
