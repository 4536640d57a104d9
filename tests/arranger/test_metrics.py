import numpy as np

from arranger.evaluate import format_table
from arranger.metrics import evaluate_pieces, plot_confusion


def test_metrics_values():
    true = [np.array([0, 0, 1, 1])]
    r = evaluate_pieces(true, [np.array([0, 0, 1, 1])], 3)
    assert r["accuracy"] == 1.0 and r["soundness"] == 1.0 and r["completeness"] == 1.0
    # a label permutation keeps soundness/completeness, not accuracy
    r = evaluate_pieces(true, [np.array([1, 1, 0, 0])], 3)
    assert r["accuracy"] == 0.0 and r["soundness"] == 1.0 and r["completeness"] == 1.0
    # everything in one part: complete, not sound
    r = evaluate_pieces(true, [np.array([0, 0, 0, 0])], 3)
    assert r["completeness"] == 1.0 and abs(r["soundness"] - 2 / 6) < 1e-9
    assert r["accuracy"] == 0.5 and r["balanced_accuracy"] == 0.5
    assert r["confusion"] == [[2, 0, 0], [2, 0, 0], [0, 0, 0]]


def test_confusion_png_and_table(tmp_path):
    r = evaluate_pieces([np.array([0, 1, 1])], [np.array([0, 1, 0])], 2)
    png = plot_confusion(r["confusion"], ["A", "B"], tmp_path / "cm.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    table = format_table({"zone": {"bach": r}}, ["bach", "quartets"])
    assert "zone" in table and "66.67" in table


def test_piece_interval_resamples_pieces_not_notes():
    from arranger.metrics import piece_interval

    # Ten pieces of 1,000 notes, half at 90 % and half at 70 %: pooled 80 %. Over notes (10,000) an interval would
    # be about +-0.8 points; over pieces it must be far wider, and it holds the pooled accuracy.
    notes = np.full(10, 1000)
    correct = np.array([900] * 5 + [700] * 5)
    lo, hi = piece_interval(correct, notes)
    assert lo < 0.8 < hi and hi - lo > 0.08
    assert piece_interval(np.full(10, 800), notes) == [0.8, 0.8]  # every piece alike: no spread
    true = [np.zeros(4, int), np.ones(2, int)]
    r = evaluate_pieces(true, [np.zeros(4, int), np.zeros(2, int)], 2)
    assert r["accuracy"] == 4 / 6 and r["accuracy_ci95"][0] <= 4 / 6 <= r["accuracy_ci95"][1]
