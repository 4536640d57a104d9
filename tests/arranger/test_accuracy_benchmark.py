"""The one accuracy table of benchmarks/arranger_accuracy.py: every model, the shipped models' cards in place
of benchmark runs, the paper beside each figure."""

import json

from tests.common.benchmarks import load_benchmark


def test_shipped_cards_replace_runs_and_every_model_has_a_row(tmp_path):
    bench = load_benchmark("arranger_accuracy")
    card = {
        "name": "bach_lstm",
        "wall_minutes": 12.5,
        "test": {"accuracy": 0.95, "balanced_accuracy": 0.94, "soundness": 0.9, "completeness": 0.91},
        "training": {"steps": 1234},
    }
    (tmp_path / "bach_lstm").mkdir()
    (tmp_path / "bach_lstm" / "card.json").write_text(json.dumps(card))
    run = {"accuracy": 0.90, "model": "lstm", "dataset": "bach"}
    results = {"lstm": {"bach": run, "quartets": {**run, "accuracy": 0.60, "dataset": "quartets"}}}
    bench.add_shipped(results, root=tmp_path)
    assert results["lstm"]["bach"]["accuracy"] == 0.95 and results["lstm"]["bach"]["train_steps"] == 1234
    table = bench.markdown_table(results).splitlines()
    rows = {line.split(" | ")[0].strip("| "): line for line in table[2:]}
    assert set(bench.ALL_MODELS) <= set(rows)
    assert "| **95.00** | 93.02 | 60.00 | 67.43 | 50.22 | 74.14 | shipped bach_lstm, benchmark run |" in rows["lstm"]
    assert "| - | 96.81 | - | 58.86 | 49.14 | 66.57 |" in rows["transformer_enc"]
