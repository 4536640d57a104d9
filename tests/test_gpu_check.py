"""The GPU check's dry run: the same code as on CUDA, on the CPU at tiny sizes, so that a short GPU lease
does not fail on a typo."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def test_the_dry_run_checks_every_toolkit(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--dry", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("gpu_*.json")}
    assert sorted(results) == ["gpu_arranger", "gpu_clipsonic", "gpu_mmt"]
    assert all(r["dry"] and r["machine"]["device"] == "cpu" for r in results.values())
    assert results["gpu_mmt"]["generate"]["events_per_s"]["batch_1"] > 0
    assert results["gpu_clipsonic"]["sample"]["finite"] and results["gpu_clipsonic"]["train"]["segments_per_s"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_without_a_gpu_the_real_run_says_so(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "no CUDA device here" in proc.stderr and not any(tmp_path.iterdir())
