"""``benchmarks/mmt_add_part.py``: its verdict on fixed summaries, the moved baseline, and a tiny run end to end."""

import json
import math

import numpy as np
import pytest

from gm_common.errors import ConfigError
from tests.common.benchmarks import load_benchmark


@pytest.fixture(scope="module")
def benchmark():
    return load_benchmark("mmt_add_part")


def _summary(added: dict, hidden: dict, alone: dict) -> dict:
    rows = {"hidden part": hidden, "added (infill)": added, "alone (instrument-informed)": alone}
    return {"all": {"cases": 4} | {k: {"consonance": v[0], "coverage": v[1]} for k, v in rows.items()}}


@pytest.mark.parametrize(
    ("added", "expected"),
    [
        ((86.0, 85.0), {"consonance_within_5_of_hidden": True, "consonance_15_above_alone": True,
                        "coverage_within_10_of_hidden": True, "all": True}),
        ((84.0, 91.0), {"consonance_within_5_of_hidden": False, "consonance_15_above_alone": True,
                        "coverage_within_10_of_hidden": True, "all": False}),
        ((80.0, 84.0), {"consonance_within_5_of_hidden": False, "consonance_15_above_alone": False,
                        "coverage_within_10_of_hidden": False, "all": False}),
    ],
)  # fmt: skip
def test_the_verdict_on_fixed_summaries(benchmark, added, expected):
    # hidden part: 90 % consonant, 95 % coverage; the part generated alone: 69 % consonant (bounds: 5, 15, 10 points)
    assert benchmark.verdict(_summary(added, (90.0, 95.0), (69.0, 60.0))) == expected


def test_the_moved_part_keeps_its_notes_half_the_piece_on_in_whole_bars(benchmark):
    part = np.array([[0, 12, 60], [12 * 10, 12, 62], [12 * 17, 6, 64]])
    out = benchmark.moved(part, 18, 12)  # 18 beats: half is 9, rounded to 2 bars = 8 beats; wrapped at beat 18
    assert out.tolist() == [[0, 12, 62], [12 * 7, 6, 64], [12 * 8, 12, 60]]


def test_a_tiny_run_hides_parts_of_a_test_chorale_and_writes_the_table(benchmark, playing_infill, trained_run,
                                                                       tmp_path, capsys):  # fmt: skip
    out = tmp_path / "add_part.json"
    result = benchmark.main(["--checkpoint", str(playing_infill), "--baseline", str(trained_run), "--tiny",
                             "--out", str(out)])  # fmt: skip
    assert json.dumps(json.loads(out.read_text())) == json.dumps(result)
    cases = result["cases"]
    assert 1 <= len(cases) <= 2 and {c["collection"] for c in cases} == {"bach_chorales"}
    assert {c["part"] for c in cases} <= {"soprano", "alto", "tenor", "bass"}
    row = result["summary"]["all"]
    assert row["hidden part"]["rhythm"] == row["hidden part"]["range"] == 100.0
    assert row["hidden part moved"]["range"] == 100.0 and row["hidden part moved"]["coverage"] > 0
    assert row["added (infill)"]["coverage"] > 0 and not math.isnan(row["added (infill)"]["consonance"])
    assert set(result["targets_met"]) == {"consonance_within_5_of_hidden", "consonance_15_above_alone",
                                          "coverage_within_10_of_hidden", "all"}  # fmt: skip
    assert "added (infill)" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="experiment=corpus_tiny_infill"):
        benchmark.main(["--checkpoint", str(trained_run), "--tiny", "--out", str(tmp_path / "no.json")])
    assert not (tmp_path / "no.json").exists()
