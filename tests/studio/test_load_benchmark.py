import pytest

from tests.common.benchmarks import load_benchmark

bench = load_benchmark("studio_load")


def result(failures=0, done=200, left=0, growth=4.0):
    return {
        "failures": failures,
        "requests_done": done,
        "request_folders_left": left,
        "server_rss_mb": {"growth_percent": growth},
    }


@pytest.mark.parametrize(
    "kwargs, failed",
    [
        ({}, []),
        ({"failures": 1}, ["no_failures"]),
        ({"done": 0}, ["no_failures"]),
        ({"left": 2}, ["no_request_folders_left"]),
        ({"growth": 10.0}, ["memory_growth_under_10_percent"]),
        ({"growth": -3.0}, []),
    ],
)
def test_the_verdict_names_each_missed_target(kwargs, failed):
    assert [k for k, ok in bench.verdict(result(**kwargs)).items() if not ok] == failed


def test_percentiles_of_nothing_are_none():
    assert bench.percentile([], 50) is None and bench.percentile([1.0, 2.0, 3.0], 50) == 2.0
