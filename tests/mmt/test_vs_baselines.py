"""``benchmarks/mmt_vs_baselines.py`` at a tiny size: tokens per note, sample length, notes generated per second and
the Table 3 metrics of the three representations, with the ratios MMT/REMI+ and MMT/MMM, in a JSON file."""

import json

import numpy as np
import pytest

from tests.common.benchmarks import load_benchmark


@pytest.fixture(scope="module")
def benchmark():
    return load_benchmark("mmt_vs_baselines")


def _check(result: dict, out) -> None:
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    tokens = result["tokens"]
    assert tokens["mmt"]["tokens_per_note"] < 1.2 < 3 < tokens["remi_plus"]["tokens_per_note"]
    assert tokens["mmm+velocity"]["tokens_per_note"] > tokens["mmm"]["tokens_per_note"]
    for name in ("mmt", "remi_plus", "mmm"):
        row = result["generation"][name]
        assert row["samples"] == 2 and row["generation_s"] > 0 and row["notes_generated_per_s"] >= 0
        assert set(row) >= {"avg_length_s", "notes_per_sample", "pitch_class_entropy", "groove_consistency"}
    assert set(result["ratios"]) == {"mmt/remi_plus", "mmt/mmm"}


def test_the_generation_figures_of_fixed_samples(benchmark):
    """Two samples (4 quarter notes, then 2), generated in 4 s with 10 and 20 of a 20-event budget: 3 notes per
    sample, 1.5 notes per second of generation, 2.4 s and 1.2 s long at 100 qpm, one ended before the budget."""
    from gm_common.notes import music_from_tracks

    def piece(pitches):
        notes = np.array([[12 * i, p, 12] for i, p in enumerate(pitches)])
        return music_from_tracks([("Piano", 0, False, notes)], 12)

    row = benchmark.generation_row([piece([60, 62, 64, 65]), piece([67, 69])], 4.0, 2, [10, 20], 20)
    assert (row["samples"], row["notes_per_sample"], row["notes_generated_per_s"]) == (2, 3.0, 1.5)
    assert (row["tokens_per_sample"], row["ended_before_budget"]) == (15.0, 0.5)
    assert row["avg_length_s"] == pytest.approx(1.8)


def test_piece_seconds_end_at_the_last_note_at_100_qpm(benchmark):
    enc = benchmark.Encoding()
    quarter = int(np.flatnonzero(np.asarray(enc.duration_values) == enc.resolution)[0]) + 1  # one beat's code
    notes = np.array([[0, 0, 60, quarter, 1], [9, enc.resolution // 2, 64, quarter, 1], [3, 0, 67, quarter, 1]])
    assert benchmark.piece_seconds(notes, enc) == pytest.approx(10.5 * 0.6)  # ends at beat 10.5, 0.6 s a beat


def test_the_benchmark_compares_trained_runs(benchmark, trained_run, baseline_runs, cache_dir, tmp_path):
    runs = [f"mmt={trained_run}"] + [f"{name}={run}" for name, run in baseline_runs.items()]
    out = tmp_path / "vs.json"
    result = benchmark.main(["--tiny", "--runs", *runs, "--samples", "2", "--cache-dir", str(cache_dir),
                             "--out", str(out)])  # fmt: skip
    assert result["runs"] == dict(r.split("=", 1) for r in runs)
    _check(result, out)


@pytest.mark.slow
def test_the_benchmark_trains_the_three_representations(benchmark, cache_dir, tmp_path):
    out = tmp_path / "vs.json"
    result = benchmark.main(["--tiny", "--steps", "2", "--samples", "2", "--cache-dir", str(cache_dir),
                             "--work-dir", str(tmp_path / "runs"), "--out", str(out)])  # fmt: skip
    assert all((tmp_path / "runs").glob(f"{name}-*/checkpoints/last.ckpt") for name in ("mmt", "remi_plus", "mmm"))
    _check(result, out)
