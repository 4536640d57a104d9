"""The prepared GPU check (``benchmarks/arranger_gpu.py``) runs end to end in its dry mode, so the one short GPU
run does not fail on a typo."""

import json

import pytest
import torch

from gm_common.errors import ConfigError
from tests.common.benchmarks import load_benchmark


@pytest.fixture(scope="module")
def arranger_gpu():
    return load_benchmark("arranger_gpu")


def test_the_dry_check_measures_every_case(arranger_gpu):
    result = arranger_gpu.gpu_check("cuda", dry=True)  # dry: the CPU, whatever the device
    assert json.loads(json.dumps(result)) == result and result["device"] == "cpu"
    assert set(result["train"]) == {"bilstm", "transformer_enc"}
    for name, by_precision in result["train"].items():
        assert list(by_precision) == ["32-true"]  # no autocast on the CPU
        case = by_precision["32-true"]
        assert "error" not in case, case
        assert case["notes_per_second"] > 0 and case["autocast"] is None and case["peak_memory_mib"] is None
        assert case["model"]["kind"] == name and case["final_loss"] > 0
    assert set(result["inference"]) == {"bach_bilstm", "bach_lstm"}
    for case in result["inference"].values():
        assert "error" not in case, case
        assert list(case["precisions"]) == ["32-true"]
        figures = case["precisions"]["32-true"]
        assert figures["notes_per_second"] > 0 and figures["same_part_as_cpu"] == 1.0


def test_a_failing_case_is_recorded_and_the_others_run(arranger_gpu):
    def broken(*args):
        raise RuntimeError("cuDNN error\nsecond line")

    assert arranger_gpu.attempt(broken, 1) == {"error": "RuntimeError: cuDNN error"}


def test_a_gpu_that_is_not_there_is_a_config_error(arranger_gpu, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ConfigError, match="GPU"):
        arranger_gpu.gpu_check("cuda", dry=False)


def test_the_cuda_only_calls_exist(arranger_gpu, monkeypatch):
    """The calls made only on CUDA name real torch functions (monkeypatch refuses a missing attribute)."""
    calls = []
    for name in ("synchronize", "empty_cache", "reset_peak_memory_stats", "max_memory_allocated"):
        monkeypatch.setattr(f"torch.cuda.{name}", lambda *args, name=name: calls.append(name) or 2**21)
    cuda = torch.device("cuda", 0)
    arranger_gpu.synchronize(cuda)
    arranger_gpu.reset_peak_memory(cuda)
    assert arranger_gpu.peak_memory_mib(cuda) == 2.0
    assert calls == ["synchronize", "empty_cache", "reset_peak_memory_stats", "max_memory_allocated"]
    assert arranger_gpu.precisions(cuda) == ("bf16-mixed", "32-true")
