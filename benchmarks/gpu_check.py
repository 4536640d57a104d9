"""One short run that checks every toolkit on a GPU: training steps in bf16 mixed precision (throughput, peak
memory) and generation or inference speed, at paper size.

    .venv/bin/python benchmarks/gpu_check.py            # on CUDA: writes benchmarks/results/gpu_<toolkit>.json
    .venv/bin/python benchmarks/gpu_check.py --dry      # the same code on the CPU at tiny sizes (a test runs it)

Each toolkit's part lives beside its other benchmarks (``benchmarks/<toolkit>_gpu.py``, a function
``gpu_check(device, dry) -> dict``); a part that fails is reported and the others still run, and the exit
status is 1 if any failed. Budget: 8 minutes on one H100, start-up included; the dry run under 2 minutes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
TOOLKITS = ("mmt", "arranger", "clipsonic")


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (timings on CUDA are otherwise only launch times)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(step, steps: int, device: torch.device) -> tuple[float, float | None]:
    """Seconds for ``steps`` calls of ``step`` after one warm-up call, and the peak GPU memory (GB) they used."""
    step()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = time.perf_counter() - t0
    return seconds, torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def machine(device: str) -> dict:
    """What ran the check: the device's name and memory, torch and CUDA versions."""
    info = {"device": device, "torch": torch.__version__, "python": platform.python_version()}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        info.update(gpu=props.name, gpu_memory_GB=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda)
    else:
        info["cpu"] = platform.processor() or platform.machine()
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry", action="store_true", help="CPU, tiny sizes: checks the code, not the GPU")
    ap.add_argument("--only", nargs="+", choices=TOOLKITS, default=list(TOOLKITS))
    ap.add_argument("--out-dir", default=None, help="default: benchmarks/results (outputs/gpu_check_dry with --dry)")
    args = ap.parse_args(argv)
    device = "cpu" if args.dry else "cuda"
    if not args.dry and not torch.cuda.is_available():
        print("error: no CUDA device here; use --dry to check the code on the CPU", file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir or ("outputs/gpu_check_dry" if args.dry else HERE / "results"))
    out_dir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    failed = []
    for name in args.only:
        t0 = time.perf_counter()
        try:
            result = importlib.import_module(f"{name}_gpu").gpu_check(device, args.dry)
        except Exception:  # report and go on: one short GPU lease should check every toolkit
            traceback.print_exc()
            failed.append(name)
            continue
        result = {
            "toolkit": name,
            "dry": args.dry,
            "seconds": round(time.perf_counter() - t0, 1),
            "machine": machine(device),
            **result,
        }
        path = out_dir / f"gpu_{name}.json"
        path.write_text(json.dumps(result, indent=1))
        print(f"[{name}] {result['seconds']} s -> {path}\n{json.dumps(result, indent=1)}", flush=True)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
