"""``benchmarks/clipsonic_prompts.py``: the per-class table of the card's command, one prompt per sound event."""

from tests.common.benchmarks import load_benchmark


def test_per_class_table_counts_hits_and_misses():
    bench = load_benchmark("clipsonic_prompts")
    rows = bench.per_class_table(
        ["dog barking", "siren wailing"], {"dog barking": [0, 0, 0, 1], "siren wailing": [0, 0]}
    )
    assert [r["prompt"] for r in rows] == ["dog barking", "siren wailing"]
    assert rows[0]["accuracy"] == 0.75 and rows[0]["misses"] == [("siren wailing", 1)]
    assert rows[1]["accuracy"] == 0.0 and rows[1]["misses"] == [("dog barking", 2)]
    lo, hi = rows[0]["ci95"]
    assert 0 < lo < 0.75 < hi < 1
