"""Per-note input embedding (paper): pitch (129 -> 16), position (24 -> 16), beat (sinusoidal 16), optional
duration (0..192 -> 16), optional entry hints (n_parts) and pitch hints (2 * n_parts), concatenated."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from arranger.representation import MAX_DURATION, PAD_PITCH, RESOLUTION

EMB = 16


def sinusoid(x: torch.Tensor, dim: int = EMB, base: float = 10000.0) -> torch.Tensor:
    """(..., ) -> (..., dim) sinusoidal encoding of an integer/float position."""
    half = dim // 2
    freqs = torch.exp(-math.log(base) * torch.arange(half, device=x.device, dtype=torch.float32) / half)
    ang = x.float().unsqueeze(-1) * freqs
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=-1)


class NoteEmbedding(nn.Module):
    """Concatenated per-note input features."""

    def __init__(self, n_parts: int, use_duration: bool = False, use_entry: bool = False, use_pitch_hint: bool = False):
        super().__init__()
        self.n_parts, self.use_duration, self.use_entry, self.use_pitch_hint = (
            n_parts,
            use_duration,
            use_entry,
            use_pitch_hint,
        )
        self.pitch = nn.Embedding(PAD_PITCH + 1, EMB)
        self.position = nn.Embedding(RESOLUTION, EMB)
        self.duration = nn.Embedding(MAX_DURATION + 1, EMB) if use_duration else None
        self.dim = (
            3 * EMB
            + (EMB if use_duration else 0)
            + (n_parts if use_entry else 0)
            + (2 * n_parts if use_pitch_hint else 0)
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, N, dim) concatenated input features of a batch of notes."""
        parts = [self.pitch(batch["pitch"]), self.position(batch["position"]), sinusoid(batch["beat"])]
        if self.duration is not None:
            parts.append(self.duration(batch["duration"]))
        if self.use_entry:
            parts.append(batch["entry"])
        if self.use_pitch_hint:
            ph = batch["pitch_hint"].flatten(1)  # (B, 2K)
            parts.append(ph.unsqueeze(1).expand(-1, batch["pitch"].shape[1], -1))
        return torch.cat(parts, dim=-1)
