"""``device=auto|cpu|cuda|cuda:N`` and ``precision=`` of generation and evaluation: the models run where they
are told, mixed precision applies on CUDA only, and a GPU that is not there is an error that writes nothing
(gm_common.cli makes it one line)."""


import numpy as np
import pytest
import torch

from clipsonic.pipeline import ClipSonicPipeline
from gm_common.cli import compose
from gm_common.errors import ConfigError


def devices_of(pipe: ClipSonicPipeline) -> set[str]:
    """The device types of every weight of the pipeline's models."""
    return {p.device.type for m in (pipe.clip.model, pipe.diffusion, pipe.prior) for p in m.parameters()}


def test_mixed_precision_has_no_effect_on_the_cpu(shipped):
    full = ClipSonicPipeline.from_pretrained("tiny", root=shipped, device="cpu")
    mixed = ClipSonicPipeline.from_pretrained("tiny", root=shipped, device="cpu", precision="bf16-mixed")
    assert mixed.device == torch.device("cpu") and mixed.autocast_dtype is None and devices_of(mixed) == {"cpu"}
    a, b = (p("a red circle", mode="pd", steps=2).log_mels for p in (full, mixed))
    assert np.array_equal(a, b)  # CPU autocast (bf16) would change them


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_sampling_on_cuda_matches_the_cpu(shipped, precision):
    cpu = ClipSonicPipeline.from_pretrained("tiny", root=shipped)
    gpu = ClipSonicPipeline.from_pretrained("tiny", root=shipped, device="cuda", precision=precision)
    assert devices_of(gpu) == {"cuda"} and (gpu.autocast_dtype is None) == (precision == "32-true")
    a, b = (p("a red circle", mode="pd", steps=3).log_mels for p in (cpu, gpu))
    assert np.isfinite(b).all() and np.abs(a - b).max() < (0.05 if precision == "32-true" else 1.0)


@pytest.mark.parametrize("entry", ["generate", "evaluate"])
def test_bad_devices_and_precisions_are_errors_that_write_nothing(world, tmp_path, monkeypatch, entry):
    from clipsonic import evaluate, generate

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    run = {"generate": generate.run, "evaluate": evaluate.run}[entry]
    overrides = world.gen_overrides("prompt=a red circle") if entry == "generate" else world.eval_overrides()
    out = tmp_path / "out"
    cases = [
        ("device=cuda", "device=cuda asks for a GPU, but torch sees none here"),
        ("device=cuda:1", "device=cuda:1 asks for a GPU"),
        ("device=gpu", "expected auto, cpu, cuda or cuda:N"),
        ("precision=bf16", "precision='bf16': expected one of 32-true, bf16-mixed, 16-mixed"),
    ]
    for override, message in cases:
        with pytest.raises(ConfigError, match=message):
            run(compose("clipsonic", entry, [*overrides, override, f"out_dir={out}"]))
    assert not out.exists()


def test_auto_is_the_cpu_without_cuda(world, monkeypatch):
    from clipsonic.generate import load_pipeline

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    pipe = load_pipeline(compose("clipsonic", "generate", world.gen_overrides("device=auto")), with_prior=True)
    assert pipe.device == torch.device("cpu") and devices_of(pipe) == {"cpu"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_validation_loss_is_the_same_on_cuda_and_the_cpu():
    from tests.clipsonic.test_diffusion import _model

    mels, cond = torch.rand(4, 1, 16, 16) * 2 - 1, torch.randn(4, 8)
    logged = {}
    for device in ("cpu", "cuda"):
        m = _model().to(device)
        m.log = lambda name, value, **_: logged.__setitem__(device, float(value))
        m.validation_step((mels.to(device), cond.to(device)), 0)
    assert logged["cuda"] == pytest.approx(logged["cpu"], rel=1e-3)  # the noise was drawn on the device before
