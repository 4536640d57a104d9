"""benchmarks/arranger_intervals.py: each shipped model on its test split, with the interval over pieces."""

import json

import arranger.data
from arranger.evaluate import evaluate_arranger
from arranger.predict import Arranger
from tests.common.benchmarks import load_benchmark


def test_intervals_of_a_shipped_model(tmp_path, examples, monkeypatch):
    monkeypatch.setattr(arranger.data, "load_examples", lambda name: examples)  # 12 chorales: 1 test piece
    bench = load_benchmark("arranger_intervals")
    out = tmp_path / "intervals.json"
    bench.main(["--models", "bach_lstm", "--out", str(out)])
    row = json.loads(out.read_text())["models"]["bach_lstm"]
    test = arranger.data.split_examples(list(examples))["test"]
    expected = evaluate_arranger(Arranger.from_pretrained("bach_lstm", device="cpu"), test)
    assert row["pieces"] == len(test) and row["accuracy_percent"] == 100 * expected["accuracy"]
    lo, hi = row["accuracy_ci95_percent"]
    assert lo <= row["accuracy_percent"] <= hi and row["paper_percent"] == 93.02
    assert row["paper_inside"] == (lo <= 93.02 <= hi)
