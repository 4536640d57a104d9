"""Learning-rate schedules for the arranger nets.

``warmup_cosine``: linear warm-up over ``warmup_steps``, then a cosine decay from the peak learning rate to
``floor`` x peak. The decay's progress is the larger of the step fraction (``step / total_steps``) and,
when ``total_minutes`` is set, the wall-clock fraction of that budget, so a run that is slowed down (a
shared machine) still anneals before its time limit instead of being cut off at a high learning rate.
"""

from __future__ import annotations

import math
import time


class WarmupCosine:
    """A multiplicative factor for ``torch.optim.lr_scheduler.LambdaLR`` (stepped once per optimizer step)."""

    def __init__(self, total_steps: int, warmup_steps: int = 0, floor: float = 0.01, total_minutes: float | None = None):
        if total_steps <= 0:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        self.total_steps, self.warmup_steps, self.floor = total_steps, warmup_steps, floor
        self.total_seconds = 60.0 * total_minutes if total_minutes else None
        self._start: float | None = None

    def progress(self, step: int) -> float:
        """Fraction of the decay done (0..1) at ``step``."""
        frac = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        if self.total_seconds:
            if self._start is None:
                self._start = time.monotonic()
            frac = max(frac, (time.monotonic() - self._start) / self.total_seconds)
        return min(1.0, max(0.0, frac))

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        return self.floor + (1.0 - self.floor) * 0.5 * (1.0 + math.cos(math.pi * self.progress(step)))
