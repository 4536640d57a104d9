"""``benchmarks/clipsonic_sample.py --tiny`` on the tiny world: DPM-Solver against DDPM on the same queries, with
accuracy intervals, paired differences and speed ratios, in a JSON file."""

import json

import pytest

from tests.common.benchmarks import load_benchmark


@pytest.fixture(scope="module")
def benchmark():
    return load_benchmark("clipsonic_sample")


def test_the_tiny_comparison(benchmark, world, tmp_path):
    out = tmp_path / "sample.json"
    result = benchmark.main(["--tiny", "--out", str(out), *world.eval_overrides(f"out_dir={tmp_path}")])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    rows = result["rows"]
    assert [(r["sampler"], r["steps"]) for r in rows] == list(benchmark.TINY_SAMPLERS)
    n = rows[0]["n"]
    assert n == 8 and all(r["n"] == n for r in rows)  # 8 classes, 1 query each, the same queries for every sampler
    assert rows[0]["speedup"] == 1.0 and rows[0]["equal_accuracy"]
    assert rows[2]["speedup"] > 2  # 5 steps against 50
    for r in rows:
        lo, hi = r["accuracy_ci95"]
        assert lo <= r["accuracy"] <= hi
        assert r["equal_accuracy"] == (lo <= rows[0]["accuracy"] <= hi)
        assert r["speedup"] == pytest.approx(rows[0]["seconds_per_sample"] / r["seconds_per_sample"])
        assert r["difference_to_baseline"]["difference"] == pytest.approx(r["accuracy"] - rows[0]["accuracy"])
    assert result["verdict"].startswith(("fastest at equal accuracy", "no few-step sampler"))
