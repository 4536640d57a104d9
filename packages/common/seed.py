"""The one seeding helper: Python, NumPy and torch (all ranks, dataloader workers too)."""

from __future__ import annotations

import lightning as L


def seed_everything(seed: int) -> int:
    """Seed every random generator the toolkits use; returns the seed."""
    return L.seed_everything(seed, workers=True, verbose=False)
