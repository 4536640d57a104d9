"""clipsonic's part of ``benchmarks/gpu_check.py``: the mel diffusion model at paper size (``model=paper``,
128 mel bands, ~2 s segments) on one device, random weights and data (speed does not depend on them).

- training: AdamW steps on batches of 32 mels with bf16 autocast on CUDA; segments/s and peak memory;
- sampling: DDIM 25 steps with classifier-free guidance for a batch of 16 conditions; audio seconds
  generated per second (mels only: the vocoder is not included).

``dry=True`` runs the same code on the CPU with the tiny model and small mels.
"""

from __future__ import annotations

import time

import torch
from gpu_check import sync, timed_steps

from gm_common.cli import compose
from gm_common.device import autocast_dtype, resolve_device


def gpu_check(device: str, dry: bool) -> dict:
    """Training throughput, peak memory and sampling speed of the mel diffusion model on ``device``."""
    from clipsonic.diffusion import MelDiffusion

    dev = resolve_device(device)
    model_cfg = dict(compose("clipsonic", "train", ["model=tiny" if dry else "model=paper"]).model)
    model_cfg.pop("_target_")
    mel = {
        "sample_rate": 16000,
        "n_fft": 1024,
        "hop_length": 256,
        "n_mels": 32 if dry else 128,
        "frames": 32 if dry else 128,
    }
    batch, steps, sample_batch = (4, 2, 2) if dry else (32, 20, 16)
    torch.manual_seed(0)
    model = MelDiffusion.from_config(mel=mel, stats={"mean": 0.0, "std": 1.0}, cond_dim=512, **model_cfg).to(dev)
    opt = model.configure_optimizers()["optimizer"]
    amp = autocast_dtype(dev, "bf16-mixed")
    mels = torch.randn(batch, 1, mel["n_mels"], mel["frames"], device=dev)
    cond = torch.nn.functional.normalize(torch.randn(batch, 512, device=dev), dim=-1)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = model._loss(mels, cond, drop=0.1)
        loss.backward()
        opt.step()

    model.train()
    train_s, peak = timed_steps(step, steps, dev)
    g = torch.Generator(device=dev).manual_seed(0)
    with torch.autocast(dev.type, dtype=amp or torch.float32, enabled=amp is not None):
        model.sample(cond[:sample_batch], "ddim", 2, 3.0, g)  # warm-up
        sync(dev)
        t0 = time.perf_counter()
        out = model.sample(cond[:sample_batch], "ddim", 25, 3.0, g)
        sync(dev)
    sample_s = time.perf_counter() - t0
    seconds_each = mel["frames"] * mel["hop_length"] / mel["sample_rate"]
    return {
        "model": "tiny" if dry else "paper",
        "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "mel": mel,
        "train": {
            "batch": batch,
            "steps": steps,
            "precision": "bf16-mixed" if amp else "32-true",
            "segments_per_s": round(batch * steps / train_s, 1),
            "peak_memory_GB": peak,
        },
        "sample": {
            "batch": sample_batch,
            "sampler": "ddim",
            "steps": 25,
            "guidance": 3.0,
            "finite": bool(torch.isfinite(out).all()),
            "audio_seconds_per_s": round(sample_batch * seconds_each / sample_s, 2),
        },
    }


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dry", action="store_true")
    args = ap.parse_args()
    print(json.dumps(gpu_check("cpu" if args.dry else "cuda", args.dry), indent=1))
