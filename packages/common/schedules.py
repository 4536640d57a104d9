"""Learning-rate schedules: one multiplicative factor for ``torch.optim.lr_scheduler.LambdaLR``, used by
every toolkit (stepped once per optimizer step)."""

from __future__ import annotations

import math
import time
from typing import Any

import torch

SHAPES = ("constant", "linear", "cosine")
CLOCKS = ("wall", "cpu")


class WarmupDecay:
    """Linear warm-up over ``warmup_steps``, then a ``shape`` decay from 1 to ``floor`` at ``total_steps``.

    ``constant`` keeps 1 after the warm-up; ``linear`` and ``cosine`` reach ``floor`` at ``total_steps`` and
    stay there. With ``total_minutes``, the decay's progress is the larger of the step fraction and the
    fraction of that time budget spent, so a run slowed down by a shared machine still anneals before its
    time limit instead of being cut off at a high learning rate. ``clock`` measures the budget as
    ``"wall"``-clock time or as this process's ``"cpu"`` time (all its threads; the same steps on a shared
    machine as on a quiet one).
    """

    def __init__(
        self,
        total_steps: int,
        warmup_steps: int = 0,
        floor: float = 0.0,
        shape: str = "linear",
        total_minutes: float | None = None,
        clock: str = "wall",
    ):
        if shape not in SHAPES:
            raise ValueError(f"unknown schedule shape {shape!r}; known: {', '.join(SHAPES)}")
        if total_steps <= 0:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        self.total_steps, self.warmup_steps, self.floor, self.shape = total_steps, warmup_steps, floor, shape
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock {clock!r}; known: {', '.join(CLOCKS)}")
        self.total_seconds = 60.0 * total_minutes if total_minutes else None
        self.clock = clock
        self._start: float | None = None

    def _now(self) -> float:
        return time.process_time() if self.clock == "cpu" else time.monotonic()

    def progress(self, step: int) -> float:
        """Fraction of the decay done (0..1) at ``step``."""
        frac = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        if self.total_seconds:
            if self._start is None:
                self._start = self._now()
            frac = max(frac, (self._now() - self._start) / self.total_seconds)
        return min(1.0, max(0.0, frac))

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.shape == "constant":
            return 1.0
        p = self.progress(step)
        decay = 1.0 - p if self.shape == "linear" else 0.5 * (1.0 + math.cos(math.pi * p))
        return self.floor + (1.0 - self.floor) * decay


def per_step(optimizer: torch.optim.Optimizer, factor: WarmupDecay) -> dict[str, Any]:
    """What ``configure_optimizers`` returns for a schedule stepped after every optimizer step."""
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
