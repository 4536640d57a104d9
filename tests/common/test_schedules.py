import pytest

from gm_common.schedules import WarmupDecay


def test_warmup_then_linear_decay_to_the_floor():
    f = WarmupDecay(total_steps=110, warmup_steps=10, floor=0.1, shape="linear")
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1)
    assert f(500) == pytest.approx(0.1)


def test_cosine_and_constant_shapes():
    cos = WarmupDecay(total_steps=100, shape="cosine", floor=0.0)
    assert cos(0) == pytest.approx(1.0) and cos(50) == pytest.approx(0.5) and cos(100) == pytest.approx(0.0)
    const = WarmupDecay(total_steps=100, warmup_steps=4, shape="constant")
    assert [const(s) for s in (0, 3, 50, 1000)] == pytest.approx([0.25, 1.0, 1.0, 1.0])


def test_a_wall_clock_budget_decays_before_the_step_budget(monkeypatch):
    import gm_common.schedules as schedules

    now = [1000.0]
    monkeypatch.setattr(schedules.time, "monotonic", lambda: now[0])
    f = WarmupDecay(total_steps=10_000, shape="linear", total_minutes=1.0)
    assert f(1) == pytest.approx(1.0, abs=1e-3)
    now[0] += 30.0  # half the budget gone after 2 steps
    assert f(2) == pytest.approx(0.5)


def test_a_cpu_time_budget_counts_process_time_not_wall_time(monkeypatch):
    import gm_common.schedules as schedules

    cpu, wall = [5.0], [1000.0]
    monkeypatch.setattr(schedules.time, "process_time", lambda: cpu[0])
    monkeypatch.setattr(schedules.time, "monotonic", lambda: wall[0])
    f = WarmupDecay(total_steps=10_000, shape="linear", total_minutes=1.0, clock="cpu")
    assert f(1) == pytest.approx(1.0, abs=1e-3)
    wall[0] += 45.0  # a loaded machine: wall time passes, this process barely runs
    cpu[0] += 15.0
    assert f(2) == pytest.approx(0.75)


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="unknown schedule shape"):
        WarmupDecay(10, shape="step")
    with pytest.raises(ValueError, match="positive"):
        WarmupDecay(0)
    with pytest.raises(ValueError, match="unknown clock"):
        WarmupDecay(10, clock="gpu")
