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


def test_versus_pairs_the_hits_of_two_vocoders_prompt_by_prompt():
    bench = load_benchmark("clipsonic_prompts")
    names = ["dog barking", "siren wailing"]
    heard = {"dog barking": [0, 0, 1], "siren wailing": [1, 0]}  # 3 hits of 5
    other = {"dog barking": [0, 1, 1], "siren wailing": [1, 1]}  # 3 hits of 5, at other seeds
    d = bench.versus(names, heard, other)
    assert d["n"] == 5 and d["difference"] == 0.0 and d["ci95"][0] < 0 < d["ci95"][1]
    better = bench.versus(names, heard, {"dog barking": [0, 0, 0], "siren wailing": [1, 1]})
    assert better["difference"] == 2 / 5


def test_the_target_verdict_of_fixed_outcomes():
    """Issue 13's target: "dog barking" judged dog barking in >= 80 % of the seeds."""
    bench = load_benchmark("clipsonic_prompts")
    names = ["dog barking", "siren wailing"]

    def verdict(dog_hits: int) -> tuple[float, bool]:
        heard = {"dog barking": [0] * dog_hits + [1] * (20 - dog_hits), "siren wailing": [1]}
        row, met = bench.target_row(bench.per_class_table(names, heard))
        return row["accuracy"], met

    assert verdict(16) == (0.8, True) and verdict(15) == (0.75, False) and verdict(20) == (1.0, True)
    assert bench.target_row(bench.per_class_table(["siren wailing"], {"siren wailing": [0]})) == (None, False)
