import numpy as np
import pytest

from arranger.evaluate import format_table
from arranger.metrics import evaluate_pieces, piece_interval, plot_confusion


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
    # Ten pieces of 1,000 notes, half at 90 % and half at 70 %: pooled 80 %. Over notes (10,000) an interval would
    # be about +-0.8 points; over pieces it must be far wider, and it holds the pooled accuracy.
    notes = np.full(10, 1000)
    correct = np.array([900] * 5 + [700] * 5)
    lo, hi = piece_interval(correct, notes)
    assert lo < 0.8 < hi and hi - lo > 0.08
    true = [np.zeros(4, int), np.ones(2, int)]
    r = evaluate_pieces(true, [np.zeros(4, int), np.zeros(2, int)], 2)
    assert r["accuracy"] == 4 / 6 and r["accuracy_ci95"][0] <= 4 / 6 <= r["accuracy_ci95"][1]


def test_piece_interval_known_answers():
    # 100 pieces of 10 notes, half at 70 % and half at 90 %: a resample's accuracy is 0.7 + 0.2 B / 100 with
    # B ~ Binomial(100, 1/2), whose 2.5 and 97.5 % quantiles are 40 and 60 (by hand: 50 -+ 1.96 x 5): [0.78, 0.82]
    assert piece_interval(np.array([7, 9] * 50), np.full(100, 10)) == pytest.approx([0.78, 0.82])
    # two pieces, all right and all wrong: resamples give 0, 1/2 or 1 (probabilities 1/4, 1/2, 1/4)
    assert piece_interval(np.array([10, 0]), np.array([10, 10])) == [0.0, 1.0]
    # pieces weigh by their notes: 10 of 10 right and 0 of 30 give 0.25 pooled, [0, 1] still
    assert piece_interval(np.array([10, 0]), np.array([10, 30])) == [0.0, 1.0]


def test_piece_interval_for_one_piece_and_for_identical_pieces():
    assert piece_interval(np.array([7]), np.array([10])) == pytest.approx([0.7, 0.7])  # one piece: no spread
    assert piece_interval(np.full(10, 800), np.full(10, 1000)) == [0.8, 0.8]
    assert piece_interval(np.array([0]), np.array([0])) == [0.0, 0.0]  # no notes at all: no division by zero


def test_piece_interval_covers_the_pooled_accuracy_95_percent_of_the_time():
    # 400 test sets of 40 pieces (the Bach split's size), each piece's accuracy drawn from Beta(8, 2) (mean 0.8)
    # and its length uniform in 100-500 notes, so the pooled accuracy's expectation is 0.8. The percentile
    # bootstrap runs a little narrow at 40 pieces; with the Monte-Carlo standard error of 0.011: tolerance 0.03.
    rng = np.random.default_rng(0)
    covered = []
    for i in range(400):
        notes = rng.integers(100, 501, 40)
        correct = np.round(rng.beta(8, 2, 40) * notes)
        lo, hi = piece_interval(correct, notes, resamples=1000, seed=i)
        covered.append(lo <= 0.8 <= hi)
    assert np.mean(covered) == pytest.approx(0.95, abs=0.03)


