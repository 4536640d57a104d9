"""``benchmarks/clipsonic_sample.py --tiny`` on the tiny world: DPM-Solver against DDPM on the same queries, with
accuracy intervals, paired differences and speed ratios, in a JSON file."""

import json

import pytest

from tests.common.benchmarks import load_benchmark


@pytest.fixture(scope="module")
def benchmark():
    return load_benchmark("clipsonic_sample")


def _rows(accuracies: list[float], seconds: list[float], n: int = 40) -> list[dict]:
    from clipsonic.evaluate import wilson

    samplers = [("ddpm", 1000), ("dpm", 25), ("dpm", 10)]
    return [{"sampler": s, "steps": k, "accuracy": a, "accuracy_ci95": wilson(round(a * n), n), "seconds_per_sample": t}
            for (s, k), a, t in zip(samplers, accuracies, seconds)]  # fmt: skip


def test_the_figures_and_the_verdict_of_fixed_rows(benchmark):
    # ddpm 1000: 30 of 40 right in 2.0 s per sample; dpm 25: 28 of 40 in 0.04 s; dpm 10: 16 of 40 in 0.016 s.
    # Wilson 95 % intervals: 28/40 [0.554, 0.819] holds 0.75; 16/40 [0.263, 0.554] does not.
    rows = _rows([0.75, 0.70, 0.40], [2.0, 0.04, 0.016])
    correct = [[1] * 30 + [0] * 10, [1] * 28 + [0] * 12, [1] * 16 + [0] * 24]
    benchmark.compare(rows, correct)
    assert [r["speedup"] for r in rows] == pytest.approx([1.0, 50.0, 125.0])
    assert [r["equal_accuracy"] for r in rows] == [True, True, False]
    assert rows[1]["difference_to_baseline"]["difference"] == pytest.approx(-0.05)
    assert benchmark.conclude(rows) == (
        "fastest at equal accuracy: dpm 25 steps, 50.0x faster than ddpm 1000 (target 50x: met)"
    )
    rows = _rows([0.75, 0.70, 0.40], [2.0, 0.08, 0.016])
    benchmark.compare(rows, correct)
    assert benchmark.conclude(rows).endswith("dpm 25 steps, 25.0x faster than ddpm 1000 (target 50x: not met)")
    rows = _rows([0.95, 0.40, 0.40], [2.0, 0.04, 0.016])
    benchmark.compare(rows, [[1] * 38 + [0] * 2, correct[2], correct[2]])
    assert benchmark.conclude(rows) == "no few-step sampler reaches ddpm 1000's accuracy within its interval"


def test_the_tiny_comparison(benchmark, world, tmp_path):
    out = tmp_path / "sample.json"
    result = benchmark.main(["--tiny", "--out", str(out), *world.eval_overrides(f"out_dir={tmp_path}")])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    rows = result["rows"]
    assert [(r["sampler"], r["steps"]) for r in rows] == list(benchmark.TINY_SAMPLERS)
    assert all(r["n"] == 8 for r in rows)  # 8 classes, 1 query each, the same queries for every sampler
    assert rows[2]["speedup"] > 2  # 5 steps against 50
    assert result["verdict"] == benchmark.conclude(rows)
