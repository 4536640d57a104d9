"""mmt's part of ``benchmarks/gpu_check.py``: the paper-size MMT (6 layers, dim 512) on one device, random
weights and data (speed does not depend on them).

- training: Adam steps on batches of 8 x 1,024 events with bf16 autocast on CUDA; events/s and peak memory;
- generation: events/s from a start-of-song prompt, 1,024 events, every sampling rule on, rows never stopping
  early, at batch 1, 8 and 64, in the same run: eager cached steps against the static cache replayed as CUDA graphs
  (in fp32, and with TF32 matrix products), and whether the two drew the same tokens from the same seed.

``dry=True`` runs the same code on the CPU with the tiny model, short sequences and small batches (the static
cache's steps run eagerly there: CUDA graphs need CUDA).
"""

from __future__ import annotations

import time
import traceback

import torch
from gpu_check import sync, timed_steps

from gm_common.device import autocast_dtype, resolve_device

PAPER = dict(dim=512, depth=6, heads=8, ff_mult=4, dropout=0.2, max_seq_len=1024)
STATIC = {
    "graph": "static key/value cache, each step and the sampler replayed as a CUDA graph (captures included); "
    "eager: the cached steps launched one operation at a time",
    "static": "static key/value cache, fixed-shape steps run eagerly (what a CUDA graph captures); eager: the cached "
    "steps",
}
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
    net.eval()
    # the graph on CUDA; on the CPU (dry) the same fixed-shape step and sampler, run eagerly
    fast = "graph" if dev.type == "cuda" else "static"
    runs = {"eager": ("cached", False), "fast": (fast, False), "fast_tf32": (fast, True)}
    rates: dict[str, dict[str, float]] = {name: {} for name in runs}
    same_tokens, errors = {}, {}
    for b in batches:
        prompt = torch.zeros(b, 1, 6, dtype=torch.long, device=dev)
        codes = {}
        for name, (decoding, tf32) in runs.items():
            torch.backends.cuda.matmul.allow_tf32 = tf32
            try:
                generate(net, prompt, 16, SamplingConfig(), decoding, stop_at_eos=False)  # warm-up
                g = torch.Generator(device=dev).manual_seed(0)
                sync(dev)
                t0 = time.perf_counter()
                codes[name] = generate(net, prompt, events, SamplingConfig(), decoding, g, stop_at_eos=False)
                sync(dev)
                seconds = time.perf_counter() - t0
            except Exception:  # one GPU lease: keep the other figures, report this one's failure in the JSON
                if dry:
                    raise
                traceback.print_exc()
                errors[f"{name}_batch_{b}"] = traceback.format_exc(limit=-3)
                continue
            finally:
                torch.backends.cuda.matmul.allow_tf32 = False
            assert codes[name].shape == (b, events, 6)
            rates[name][f"batch_{b}"] = round(b * (events - 1) / seconds, 1)
        if "fast" in codes and "eager" in codes:
            same_tokens[f"batch_{b}"] = bool(torch.equal(codes["eager"], codes["fast"]))
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
        "generate": {
            "events": events,
            "decoding": STATIC[fast],
            "events_per_s": rates["fast"],
            "eager_events_per_s": rates["eager"],
            "tf32_events_per_s": rates["fast_tf32"],
            "speedup_over_eager": {
                k: round(v / rates["eager"][k], 2) for k, v in rates["fast"].items() if k in rates["eager"]
            },  # fmt: skip
            "same_tokens_as_eager": same_tokens,
            "errors": errors,
        },
    }


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dry", action="store_true")
    args = ap.parse_args()
    print(json.dumps(gpu_check("cpu" if args.dry else "cuda", args.dry), indent=1))
