"""End-to-end latency of live arrangement per note, from the key's message in to the arranged message out.

- ``live_arranger``: through ``arranger.live.LiveArranger.process`` (the whole per-message work of
  ``python -m arranger.live``: timing, the streaming model, the channel and note-off bookkeeping), on a
  performance of 4-note chords, after a 100-message warm-up, garbage collection on as in a session. Wall
  time, and the thread's CPU time (``cpu_*``: what the work costs, without the waits for a busy CPU).
- ``rtmidi_ports``: through real ports: a virtual keyboard port -> ``arranger.live.play`` in a thread -> a
  virtual synth port, timed from ``send`` to ``receive`` (where the machine has a MIDI system: the ALSA
  sequencer; otherwise the reason it was skipped is recorded).

Models: the LSTM (3x128) and the Transformer decoder (3 layers, d 128) at the shipped sizes. The LSTM uses the
shipped ``bach_lstm`` weights when they are there; otherwise, and for the Transformer decoder, random weights
(the latency does not depend on the weights). Writes benchmarks/results/arranger_live.json.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/arranger_live.py [--threads 2] [--notes 3000] [--note "quiet machine"]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import mido
import numpy as np
import torch
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages"))

from arranger.data import get_spec  # noqa: E402
from arranger.live import LiveArranger, find_port, open_backend, play  # noqa: E402
from arranger.models import build_net  # noqa: E402
from arranger.predict import PRETRAINED, Arranger  # noqa: E402
from gm_common.cli import compose  # noqa: E402
from gm_common.errors import ToolkitError  # noqa: E402


def make_arranger(model: str) -> tuple[Arranger, str]:
    """The model at its shipped size: the shipped weights when there are some, else random ones."""
    if model == "lstm" and (PRETRAINED / "bach_lstm" / "model.safetensors").is_file():
        return Arranger.from_pretrained("bach_lstm"), "shipped bach_lstm"
    cfg = OmegaConf.to_container(compose("arranger", "train", [f"model={model}"]).model)
    dataset = get_spec("bach").as_dict()
    torch.manual_seed(0)
    return Arranger(cfg, dataset, net=build_net(cfg, len(dataset["labels"]))), "random"


def performance(n_notes: int, seed: int = 0) -> list[mido.Message]:
    """4-note chords (one pitch per register), an eighth note apart at 120 qpm, each held until the next."""
    rng = np.random.default_rng(seed)
    messages, previous = [], []
    for k in range(n_notes // 4):
        now = 0.25 * k
        messages += [mido.Message("note_off", note=p, time=now) for p in previous]
        previous = sorted((int(rng.integers(lo, lo + 12)) for lo in (72, 62, 52, 40)), reverse=True)
        messages += [mido.Message("note_on", note=p, velocity=80, time=now) for p in previous]
    return messages


def summary(seconds: list[float], prefix: str = "") -> dict:
    ms = np.array(seconds) * 1e3
    return {
        f"{prefix}p50_ms": float(np.percentile(ms, 50)),
        f"{prefix}p99_ms": float(np.percentile(ms, 99)),
        f"{prefix}max_ms": float(ms.max()),
    }


def through_live_arranger(arranger: Arranger, messages: list[mido.Message]) -> dict:
    """Latency of ``process`` for each note-on (message in -> the arranged message out)."""
    warm = LiveArranger(arranger)
    for msg in messages[:100]:
        warm.process(msg)
    live, latencies, cpu = LiveArranger(arranger), [], []
    for msg in messages:
        start, start_cpu = time.perf_counter(), time.thread_time()
        out = live.process(msg)
        if msg.type == "note_on":
            latencies.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
            assert out and out[0].type == "note_on"
    return {"notes": len(latencies), **summary(latencies), **summary(cpu, "cpu_")}


def through_rtmidi_ports(arranger: Arranger, messages: list[mido.Message]) -> dict:
    """Latency from sending a note-on on a virtual keyboard port to receiving it arranged on a virtual synth port."""
    try:
        backend = open_backend("mido.backends.rtmidi")
        keys = backend.open_output("arranger-bench-keys", virtual=True)
        synth = backend.open_input("arranger-bench-synth", virtual=True)
        inport = backend.open_input(find_port("arranger-bench-keys", backend.get_input_names(), "in_port"))
        outport = backend.open_output(find_port("arranger-bench-synth", backend.get_output_names(), "out_port"))
    except (ToolkitError, OSError) as err:
        return {"unavailable": str(err)}
    threading.Thread(target=play, args=(LiveArranger(arranger), inport, outport), daemon=True).start()
    for _ in range(len(arranger.dataset["labels"])):  # the program changes
        synth.receive()
    latencies = []
    for msg in messages:
        start = time.perf_counter()
        keys.send(msg)
        if msg.type == "note_on":
            synth.receive()
            latencies.append(time.perf_counter() - start)
    return {"notes": len(latencies), **summary(latencies), "api": inport.api}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--notes", type=int, default=3000)
    parser.add_argument("--note", default="", help="the conditions of the run, recorded in the JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    messages = performance(args.notes)
    results = {}
    for model in ("lstm", "transformer_dec"):
        arranger, weights = make_arranger(model)
        results[model] = {
            "weights": weights,
            "live_arranger": through_live_arranger(arranger, messages),
            "rtmidi_ports": through_rtmidi_ports(arranger, messages),
        }
        for path in ("live_arranger", "rtmidi_ports"):
            r = results[model][path]
            line = r.get("unavailable") or ", ".join(f"{k} {v:.3f}" for k, v in r.items() if k.endswith("_ms"))
            print(f"{model:<16} {path:<14} {line}")
    out = ROOT / "benchmarks/results/arranger_live.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "arranger live: per-note latency, message in -> arranged message out",
                "threads": args.threads,
                "note_ons": args.notes,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.system()}",
                "load_average_1min_at_end": os.getloadavg()[0],
                "note": args.note,
                "models": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
