import numpy as np
import pytest

from arranger.module import LengthBuckets
from arranger.schedule import WarmupCosine


def test_warmup_then_cosine_to_floor():
    f = WarmupCosine(total_steps=110, warmup_steps=10, floor=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(60) == pytest.approx(0.55)
    assert f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)
    values = [f(s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_cosine_follows_the_wall_clock_budget(monkeypatch):
    import arranger.schedule as schedule

    now = [100.0]
    monkeypatch.setattr(schedule.time, "monotonic", lambda: now[0])
    f = WarmupCosine(total_steps=10_000, floor=0.0, total_minutes=1.0)
    assert f(1) == pytest.approx(1.0, abs=1e-6)
    now[0] += 30.0  # half the budget gone after only 2 steps: half-way down the cosine
    assert f(2) == pytest.approx(0.5)
    now[0] += 60.0
    assert f(3) == pytest.approx(0.0)


def test_length_buckets_cover_every_item_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 500, 100).tolist()
    sampler = LengthBuckets(lengths, batch_size=8, pool=4, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 13
    assert sorted(i for b in batches for i in b) == list(range(100))
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches if len(b) == 8])
    assert spread < 0.5 * np.ptp(lengths)
