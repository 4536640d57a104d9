"""The data benchmarks run end to end at tiny sizes (seconds), so that their full runs do not fail on a typo."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from gm_common.notes import music_from_tracks, write_midi

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GM_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_data_scale_converts_encodes_and_reads_a_tiny_synthetic_folder(tmp_path):
    out = tmp_path / "data_scale.json"
    proc = _run("data_scale.py", "--pieces", "30", "--seconds", "1", "--out", str(out), cache=tmp_path / "cache")
    result = json.loads(out.read_text())
    assert result["files"] == result["converted"] == 30 and result["encoded"] > 20 and result["notes"] > 30 * 80
    assert result["train_samples_per_s"] > 0 and 0 < result["peak_rss_gb"]["self"] < 3 and result["rss_ok"]
    assert len(result["load_average_start"]) == 3 and "peak RSS" in proc.stdout
    files = sorted((tmp_path / "cache" / "bench" / "synthetic-30").rglob("*.mid"))
    assert len({f.read_bytes() for f in files}) == 30  # distinct pieces, not one file repeated
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["bench"]  # the timed cache was a temporary one


def test_corpus_convert_times_the_old_and_new_paths_on_the_same_files(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(12):
        rows = np.column_stack([np.arange(50) * 12, rng.integers(40, 90, 50), np.full(50, 12)])
        write_midi(music_from_tracks([("Piano", 0, False, rows)], 24), tmp_path / "midi" / f"{i}.mid")
    out = tmp_path / "corpus_convert.json"
    proc = _run("corpus_convert.py", "--folder", str(tmp_path / "midi"), "--out", str(out), cache=tmp_path / "cache")
    result = json.loads(out.read_text())
    rows = list(result["rows"].values())
    assert len(rows) == 3 and all(row["files"] == 12 and row["notes"] == 600 for row in rows)
    assert len(result["speedup"]) == 2 and all(ratio > 0 for ratio in result["speedup"].values())
    assert "speed-up" in proc.stdout and len(result["load_average_start"]) == 3


def test_corpus_first_conversion_times_each_collection_into_a_temporary_cache(tmp_path):
    out = tmp_path / "first.json"
    args = ("--collections", "bach_chorales", "monteverdi", "--limit", "3", "--workers", "1", "--out", str(out))
    proc = _run("corpus_first_conversion.py", *args, cache=tmp_path / "cache")
    result = json.loads(out.read_text())
    assert [row["pieces"] for row in result["collections"].values()] == [3, 3]
    assert all(row["notes"] > 100 for row in result["collections"].values()) and result["wall_s"] > 0
    assert result["target_met"] is None and "first conversion" in proc.stdout
    assert not (tmp_path / "cache").exists()  # the timed cache was a temporary one
