"""Learned part-separation networks: LSTM / BiLSTM, Transformer decoder (causal) / encoder
(``arranger.transformer``), and an MLP on hand-made features. Every net maps a batch of note features to
(B, N, n_parts) logits; the input embedding is ``arranger.embedding.NoteEmbedding``.
"""

from __future__ import annotations

import inspect

import torch
import torch.nn as nn
import torch.nn.functional as F

from arranger.embedding import NoteEmbedding
from arranger.representation import RESOLUTION
from arranger.transformer import TransformerNet
from gm_common.errors import ConfigError


class LSTMNet(nn.Module):
    """Stacked (Bi)LSTM with LayerNorm and dropout after each layer. The backward direction of a BiLSTM
    runs on each sequence reversed within its own length, so padding never reaches real notes."""

    def __init__(
        self, n_parts: int, hidden: int = 128, layers: int = 3, dropout: float = 0.2, bidirectional: bool = False, **emb
    ):
        super().__init__()
        self.embed = NoteEmbedding(n_parts, **emb)
        self.bidirectional = bidirectional
        width = hidden * (2 if bidirectional else 1)
        self.lstms = nn.ModuleList(
            nn.LSTM(self.embed.dim if i == 0 else width, hidden, batch_first=True) for i in range(layers)
        )
        self.lstms_bwd = (
            nn.ModuleList(nn.LSTM(self.embed.dim if i == 0 else width, hidden, batch_first=True) for i in range(layers))
            if bidirectional
            else None
        )
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, n_parts)

    @staticmethod
    def _reverse_index(mask: torch.Tensor) -> torch.Tensor:
        """(B, N) index that reverses each row's first len positions and leaves the padding in place."""
        n = mask.shape[1]
        lengths = mask.sum(1, keepdim=True)
        t = torch.arange(n, device=mask.device).unsqueeze(0)
        return torch.where(t < lengths, lengths - 1 - t, t)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, N, n_parts) logits."""
        x = self.embed(batch)
        rev = None
        if self.bidirectional:
            rev = self._reverse_index(batch["mask"]).unsqueeze(-1)
        for i, (lstm, norm) in enumerate(zip(self.lstms, self.norms)):
            y, _ = lstm(x)
            if rev is not None:
                xr = torch.gather(x, 1, rev.expand(-1, -1, x.shape[-1]))
                yr, _ = self.lstms_bwd[i](xr)
                y = torch.cat([y, torch.gather(yr, 1, rev.expand(-1, -1, yr.shape[-1]))], -1)
            x = self.dropout(norm(y))
        return self.out(x)


class MLPNet(nn.Module):
    """Per-note MLP on hand-made features (after de Valk and Weyde): the note's pitch, duration, frequency,
    position, and its context in the onset group and among the previous notes. Online (looks at the past
    and the current onset only)."""

    CONTEXT = 8

    def __init__(self, n_parts: int, hidden: int = 128, layers: int = 2, dropout: float = 0.2, **emb):
        super().__init__()
        self.embed = NoteEmbedding(n_parts, **emb)
        self.n_feats = 8 + 2 * self.CONTEXT
        dims = [self.embed.dim + self.n_feats] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        self.mlp = nn.Sequential(*mods)
        self.out = nn.Linear(dims[-1], n_parts)

    @staticmethod
    def handmade(batch: dict[str, torch.Tensor], context: int) -> torch.Tensor:
        """(B, N, 8 + 2 * context) hand-made features: pitch, frequency, duration, onset-group and past context."""
        pitch = batch["pitch"].float()
        time = batch["time"].float()
        mask = batch["mask"]
        b, n = pitch.shape
        p = (pitch - 60.0) / 12.0
        freq = 440.0 * torch.pow(2.0, (pitch - 69.0) / 12.0) / 1000.0
        dur = batch["duration"].float() / RESOLUTION
        same = (time.unsqueeze(2) == time.unsqueeze(1)) & mask.unsqueeze(1) & mask.unsqueeze(2)  # (B,N,N) small N only
        chord_size = same.sum(2).float()
        higher = (same & (pitch.unsqueeze(1) > pitch.unsqueeze(2))).sum(2).float()
        lower = (same & (pitch.unsqueeze(1) < pitch.unsqueeze(2))).sum(2).float()
        feats = [
            p,
            freq,
            dur,
            chord_size / 4,
            higher / 4,
            lower / 4,
            (batch["position"].float() / RESOLUTION),
            (time % (4 * RESOLUTION)) / (4 * RESOLUTION),
        ]
        for j in range(1, context + 1):
            prev_p = F.pad(pitch, (j, 0), value=float("nan"))[:, :n]
            prev_t = F.pad(time, (j, 0), value=float("nan"))[:, :n]
            valid = ~torch.isnan(prev_p)
            feats.append(torch.where(valid, (pitch - prev_p) / 12.0, torch.zeros_like(p)))
            feats.append(
                torch.where(valid, torch.clamp((time - prev_t) / RESOLUTION, max=8.0), torch.full_like(p, 8.0))
            )
        return torch.stack(feats, -1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, N, n_parts) logits; pieces over 2,048 notes in overlapping chunks."""
        n = batch["pitch"].shape[1]
        if n > 2048:  # the chord features are (N, N): compute in chunks with enough overlap
            outs = []
            for s in range(0, n, 1024):
                lo = max(0, s - 64)
                sub = {k: (v[:, lo : s + 1024] if v.dim() >= 2 and k != "pitch_hint" else v) for k, v in batch.items()}
                outs.append(self.forward(sub)[:, s - lo :])
            return torch.cat(outs, 1)
        x = torch.cat([self.embed(batch), self.handmade(batch, self.CONTEXT)], -1)
        return self.out(self.mlp(x))


NETS = {"lstm", "bilstm", "transformer_dec", "transformer_enc", "mlp"}


def build_net(cfg: dict, n_parts: int) -> nn.Module:
    """Build a net from a plain model config dict (``kind`` plus sizes and feature flags)."""
    cfg = dict(cfg)
    kind = cfg.pop("kind")
    emb = {k: bool(cfg.pop(k, False)) for k in ("use_duration", "use_entry", "use_pitch_hint")}
    classes = {
        "lstm": LSTMNet,
        "bilstm": LSTMNet,
        "transformer_dec": TransformerNet,
        "transformer_enc": TransformerNet,
        "mlp": MLPNet,
    }
    if kind in classes:
        allowed = set(inspect.signature(classes[kind].__init__).parameters) - {
            "self",
            "n_parts",
            "emb",
            "bidirectional",
            "causal",
        }
        sizes = {k: v for k, v in cfg.items() if k in allowed}  # other keys (name, ...) are not net sizes
        if kind in ("lstm", "bilstm"):
            sizes["bidirectional"] = kind == "bilstm"
        elif kind.startswith("transformer"):
            sizes["causal"] = kind == "transformer_dec"
        return classes[kind](n_parts, **sizes, **emb)
    raise ConfigError(f"unknown model kind {kind!r}; valid: {', '.join(sorted(NETS))}")
