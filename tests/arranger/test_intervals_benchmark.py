"""benchmarks/arranger_intervals.py: each shipped model on its test split, with the interval over pieces."""

import json

import pytest

import arranger.data
import arranger.evaluate
from tests.common.benchmarks import load_benchmark


@pytest.mark.parametrize("interval, inside", [([0.9620, 0.9770], False), ([0.9200, 0.9500], True)])
def test_the_figures_and_the_verdict_of_a_fixed_evaluation(tmp_path, examples, monkeypatch, interval, inside):
    """A fixed evaluation (96.99 % over 41 pieces): the row holds it in percent and says whether the paper's
    figure on the card (bach_lstm: 93.02 %) lies inside the interval."""
    monkeypatch.setattr(arranger.data, "load_examples", lambda name: examples)
    fixed = {"pieces": 41, "notes": 20_000, "accuracy": 0.9699, "accuracy_ci95": interval}
    monkeypatch.setattr(arranger.evaluate, "evaluate_arranger", lambda model, pieces: fixed)
    out = tmp_path / "intervals.json"
    load_benchmark("arranger_intervals").main(["--models", "bach_lstm", "--out", str(out)])
    row = json.loads(out.read_text())["models"]["bach_lstm"]
    assert (row["pieces"], row["notes"], row["paper_percent"]) == (41, 20_000, 93.02)
    assert row["accuracy_percent"] == pytest.approx(96.99)
    assert row["accuracy_ci95_percent"] == pytest.approx([100 * x for x in interval])
    assert row["paper_inside"] is inside


def test_intervals_of_a_shipped_model(tmp_path, examples, monkeypatch):
    monkeypatch.setattr(arranger.data, "load_examples", lambda name: examples)  # 12 chorales: 1 test piece
    out = tmp_path / "intervals.json"
    load_benchmark("arranger_intervals").main(["--models", "bach_lstm", "--out", str(out)])
    row = json.loads(out.read_text())["models"]["bach_lstm"]
    assert row["pieces"] == 1 and row["dataset"] == "bach"
    assert row["accuracy_ci95_percent"] == pytest.approx([row["accuracy_percent"]] * 2)  # one piece: no spread
