"""mmt's part of ``benchmarks/gpu_check.py``: the paper-size MMT (6 layers, dim 512) on one device, random
weights and data (speed does not depend on them).

- training: Adam steps on batches of 8 x 1,024 events with bf16 autocast on CUDA; events/s and peak memory;
- generation: events/s with the key/value cache (eager mode) from a start-of-song prompt, 1,024 events, every
  sampling rule on, rows never stopping early, at batch 1, 8 and 64.

``dry=True`` runs the same code on the CPU with the tiny model, short sequences and small batches.
"""

from __future__ import annotations

import time

import torch
from gpu_check import sync, timed_steps

from gm_common.device import autocast_dtype, resolve_device

PAPER = dict(dim=512, depth=6, heads=8, ff_mult=4, dropout=0.2, max_seq_len=1024)
TINY = dict(dim=128, depth=3, heads=4, ff_mult=4, dropout=0.1, max_seq_len=1024)


def gpu_check(device: str, dry: bool) -> dict:
    """Training throughput, peak memory and cached generation speed of MMT on ``device``."""
    from mmt.model import MMTTransformer, count_parameters, sequence_loss
    from mmt.representation import Encoding
    from mmt.sampling import SamplingConfig, generate

    dev = resolve_device(device)
    enc = Encoding(voices="merged")  # the paper's vocabulary
    batch, seq_len, steps = (2, 64, 2) if dry else (8, 1024, 20)
    events, batches = (32, (1, 2)) if dry else (1024, (1, 8, 64))
    torch.manual_seed(0)
    net = MMTTransformer(enc.vocab_sizes, **(TINY if dry else PAPER)).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=5e-4)
    amp = autocast_dtype(dev, "bf16-mixed")
    x = torch.stack([torch.randint(0, v, (batch, seq_len + 1)) for v in enc.vocab_sizes], dim=-1).to(dev)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss, _ = sequence_loss(net, x[:, :-1], x[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    net.train()
    train_s, peak = timed_steps(step, steps, dev)
    rates = {}
    for b in batches:
        prompt = torch.zeros(b, 1, 6, dtype=torch.long, device=dev)
        g = torch.Generator(device=dev).manual_seed(0)
        generate(net, prompt, 16, SamplingConfig(), generator=g, stop_at_eos=False)  # warm-up
        sync(dev)
        t0 = time.perf_counter()
        out = generate(net, prompt, events, SamplingConfig(), generator=g, stop_at_eos=False)
        sync(dev)
        assert out.shape == (b, events, 6)
        rates[f"batch_{b}"] = round(b * (events - 1) / (time.perf_counter() - t0), 1)
    return {
        "model": "tiny" if dry else "paper",
        "params_M": round(count_parameters(net) / 1e6, 2),
        "train": {
            "batch": batch,
            "seq_len": seq_len,
            "steps": steps,
            "precision": "bf16-mixed" if amp else "32-true",
            "events_per_s": round(batch * seq_len * steps / train_s, 1),
            "peak_memory_GB": peak,
        },
        "generate": {"events": events, "cache": "eager key/value cache", "events_per_s": rates},
    }


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dry", action="store_true")
    args = ap.parse_args()
    print(json.dumps(gpu_check("cpu" if args.dry else "cuda", args.dry), indent=1))
