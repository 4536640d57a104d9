"""The arranger part of the prepared GPU check (issue 16): ``gpu_check(device, dry)``, which
``benchmarks/gpu_check.py`` calls, returns a JSON-able dict of

- ``train``: training-step throughput (notes/s) of the BiLSTM and the Transformer encoder at the paper's sizes
  (``configs/arranger/model/``), batches of 16 random 500-note crops already on the device (the data loader is
  not timed), Adam, cross-entropy masked on padding, gradients clipped at 1.0 as ``trainer=gpu`` does, under
  bf16 autocast (``trainer=gpu``'s ``bf16-mixed``) and in full precision on CUDA (full precision only on the
  CPU); a few dozen steps after a warm-up, with the peak memory (``torch.cuda.max_memory_allocated``) on CUDA;
- ``inference``: notes/s of ``Arranger.predict`` on a random 20,000-note piece with the shipped ``bach_bilstm``
  and ``bach_lstm`` loaded with ``device=`` (full and ``bf16-mixed`` precision on CUDA), and the share of notes
  given the same part as on the CPU.

A case that fails records its error (one line) instead of stopping the others. ``dry=True`` runs the same code
on the CPU at tiny sizes in seconds (the test of this file does; so the GPU run does not fail on a typo).

    .venv/bin/python benchmarks/arranger_gpu.py --dry
    .venv/bin/python benchmarks/arranger_gpu.py --device cuda --out benchmarks/results/gpu_arranger.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from arranger.data import get_spec
from arranger.models import build_net
from arranger.predict import Arranger
from arranger.representation import IGNORE, collate, make_features
from gm_common.cli import compose
from gm_common.device import autocast_dtype, resolve_device
from gm_common.files import atomic_write_text

TRAIN_MODELS = ("bilstm", "transformer_enc")
SHIPPED = ("bach_bilstm", "bach_lstm")
FULL = {"batch": 16, "crop": 500, "warmup": 5, "steps": 30, "piece": 20_000, "repeats": 3}
DRY = {"batch": 2, "crop": 32, "warmup": 1, "steps": 2, "piece": 300, "repeats": 1}
TINY = {"hidden": 8, "d_model": 16, "heads": 2, "ff": 32, "layers": 1}  # dry-run net sizes


def random_piece(n: int, n_parts: int, seed: int = 0) -> np.ndarray:
    """(n, 4) notes time, pitch, duration, part of a random piece, in model order (time, then pitch descending)."""
    rng = np.random.default_rng(seed)
    notes = np.stack(
        [
            np.sort(rng.integers(0, 6 * n, n)),
            rng.integers(36, 84, n),
            rng.integers(1, 48, n),
            rng.integers(0, n_parts, n),
        ],
        1,
    )
    return notes[np.lexsort((-notes[:, 1], notes[:, 0]))]


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mib(device: torch.device) -> float | None:
    """The most memory torch allocated on a CUDA device since the last reset (MiB); None on the CPU."""
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak-memory measurement on a CUDA device."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def precisions(device: torch.device) -> tuple[str, ...]:
    """The trainer precisions measured on ``device``: mixed ones only where autocast applies (CUDA)."""
    return ("bf16-mixed", "32-true") if device.type == "cuda" else ("32-true",)


def train_throughput(model: str, device: torch.device, sizes: dict, dry: bool, precision: str) -> dict:
    """Training steps per second and notes per second of one model at the paper's size (tiny when ``dry``)."""
    cfg = dict(compose("arranger", "train", [f"model={model}"]).model)
    if dry:
        cfg.update({k: v for k, v in TINY.items() if k in cfg})
    n_parts = len(get_spec("bach").labels)
    torch.manual_seed(0)
    net = build_net(cfg, n_parts).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    dtype = autocast_dtype(device, precision)
    batches = []  # four batches of random crops, cycled
    for b in range(4):
        crops = [random_piece(sizes["crop"], n_parts, b * sizes["batch"] + i) for i in range(sizes["batch"])]
        batches.append({k: v.to(device) for k, v in collate([make_features(c, n_parts) for c in crops]).items()})

    def step(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = net(batch)
        loss = F.cross_entropy(logits.float().flatten(0, 1), batch["label"].flatten(), ignore_index=IGNORE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        return loss.detach()

    reset_peak_memory(device)
    for i in range(sizes["warmup"]):
        step(batches[i % len(batches)])
    synchronize(device)
    t0 = time.perf_counter()
    for i in range(sizes["steps"]):
        loss = step(batches[i % len(batches)])
    synchronize(device)
    seconds = time.perf_counter() - t0
    return {
        "model": {k: v for k, v in cfg.items() if not k.startswith("use_")},
        "parameters": sum(p.numel() for p in net.parameters()),
        "autocast": str(dtype).removeprefix("torch.") if dtype else None,
        "batch": f"{sizes['batch']} x {sizes['crop']} notes",
        "steps": sizes["steps"],
        "steps_per_second": sizes["steps"] / seconds,
        "notes_per_second": sizes["steps"] * sizes["batch"] * sizes["crop"] / seconds,
        "final_loss": float(loss),
        "peak_memory_mib": peak_memory_mib(device),
    }


def inference_throughput(name: str, device: torch.device, sizes: dict) -> dict:
    """Notes per second of ``Arranger.predict`` on one long random piece, per precision, against the CPU."""
    cpu = Arranger.from_pretrained(name, device="cpu")
    notes = random_piece(sizes["piece"], cpu.n_parts)[:, :3]
    reference = cpu.predict(notes)
    result = {"notes": len(notes), "precisions": {}}
    for precision in precisions(device):
        arranger = Arranger.from_pretrained(name, device=device, precision=precision)
        reset_peak_memory(device)
        parts = arranger.predict(notes)  # warm-up
        seconds = []
        for _ in range(sizes["repeats"]):
            t0 = time.perf_counter()
            parts = arranger.predict(notes)  # ends on the CPU: the predictions are copied back
            seconds.append(time.perf_counter() - t0)
        result["precisions"][precision] = {
            "notes_per_second": len(notes) / min(seconds),
            "seconds": min(seconds),
            "same_part_as_cpu": float((parts == reference).mean()),
            "peak_memory_mib": peak_memory_mib(device),
        }
    return result


def attempt(case: Callable[..., dict], *args: object) -> dict:
    """Run one case; a failure is recorded as its one-line error, so that the other cases still run."""
    try:
        return case(*args)
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}".splitlines()[0]}


def gpu_check(device: str, dry: bool) -> dict:
    """The arranger's figures on ``device`` (``dry``: on the CPU at tiny sizes, whatever ``device`` says)."""
    dev = torch.device("cpu") if dry else resolve_device(device)
    sizes = DRY if dry else FULL
    t0 = time.perf_counter()
    result = {
        "toolkit": "arranger",
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version() if dev.type == "cuda" else None,
        "dry": dry,
        "sizes": sizes,
        "train": {
            model: {
                precision: attempt(train_throughput, model, dev, sizes, dry, precision) for precision in precisions(dev)
            }
            for model in TRAIN_MODELS
        },
        "inference": {name: attempt(inference_throughput, name, dev, sizes) for name in SHIPPED},
    }
    result["seconds"] = time.perf_counter() - t0
    return result


def main() -> None:
    """Run the check, print its JSON, and write it to ``--out`` when given."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    ap.add_argument("--dry", action="store_true", help="the same code on the CPU at tiny sizes, in seconds")
    ap.add_argument("--out", type=Path, help="write the JSON here")
    args = ap.parse_args()
    text = json.dumps(gpu_check(args.device, args.dry), indent=2)
    print(text)
    if args.out:
        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
