"""Load on the studio: concurrent clients (``gradio_client``) on localhost for a bounded number of requests and time.

Starts ``python -m studio`` on a free local port (its own work and Gradio cache folders), sends one request per tab
(the models load), then ``--warmup`` requests under the same load as the run (not counted: the server's threads and
memory allocator settle), then ``--clients`` threads send requests round-robin over the tabs (Arrange: a Bach
chorale; Compose: unconditional, a new seed each time; Sound: "dog barking" and other everyday prompts, pd) until
``--requests`` are done or ``--max-seconds`` pass. Reports throughput and p50/p99 latency per tab, failures
(target: none), request folders left behind (target: none) and the server's resident memory with the models
loaded, after the warm-up and after the run (target: under 10 % growth across the run), sampled every 2 s.

    .venv/bin/python benchmarks/studio_load.py [--requests 200] [--clients 4] [--concurrency 2] [--sound-steps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "studio_load.json"
TABS = ("arrange", "compose", "sound")
SOUNDS = ("dog barking", "church bell ringing", "rain falling", "a car engine")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def chorale() -> str:
    import music21

    return str(music21.corpus.getWork("bach/bwv10.7"))


def request(client: Client, tab: str, i: int, piece: str, steps: int) -> None:
    """One request of ``tab`` (the ``i``-th overall); raises if it fails or returns nothing."""
    if tab == "arrange":
        out = client.predict(handle_file(piece), "bach_bilstm", api_name="/arrange")
    elif tab == "compose":
        out = client.predict("corpus_tiny", "unconditional", [], None, 4, i, 1.0, api_name="/compose")
        if out[2] is None and "no notes" in out[3]:
            return  # an empty sample is an answer, not a failure
    else:
        out = client.predict(SOUNDS[i % len(SOUNDS)], "everyday", "pd", i, 3.0, steps, None, api_name="/sound")
    if not out or out[0] is None:
        raise RuntimeError(f"{tab}: empty answer {out}")


def start_server(port: int, work: Path, concurrency: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_TEMP_DIR": str(work / "gradio-cache"), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "studio",
        f"port={port}",
        f"work_root={work / 'requests'}",
        f"concurrency={concurrency}",
        "queue_size=64",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 300) -> Client:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            return Client(url, verbose=False)
        except Exception:
            time.sleep(1)
    raise RuntimeError(f"the server did not answer in {timeout} s")


def run_phase(url: str, piece: str, args: argparse.Namespace, n: int, max_seconds: float, pid: int) -> dict:
    """``n`` requests (round-robin over the tabs) from ``args.clients`` client threads, at most ``max_seconds``:
    latencies and failures per tab, the server's memory every 2 s, the wall time."""
    latencies: dict[str, list[float]] = {t: [] for t in TABS}
    failures: dict[str, list[str]] = {t: [] for t in TABS}
    samples: list[tuple[int, float]] = []  # (requests answered, server RSS MB)
    counter = iter(range(n))
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    finished = threading.Event()

    def worker() -> None:
        own = Client(url, verbose=False)
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            tab = TABS[i % len(TABS)]
            start = time.monotonic()
            try:
                request(own, tab, i, piece, args.sound_steps)
                latencies[tab].append(time.monotonic() - start)
            except Exception as err:
                failures[tab].append(f"{type(err).__name__}: {str(err)[:200]}")

    def sampler() -> None:
        while not finished.wait(2.0):
            samples.append((sum(len(v) for v in latencies.values()), rss_mb(pid)))

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.clients)]
    threading.Thread(target=sampler, daemon=True).start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finished.set()
    return {"latencies": latencies, "failures": failures, "samples": samples, "wall": time.monotonic() - started}


def verdict(result: dict, max_growth_percent: float = 10.0) -> dict[str, bool]:
    """The targets: every request answered, no request folder left, memory growth across the run under 10 %."""
    return {
        "no_failures": result["failures"] == 0 and result["requests_done"] > 0,
        "no_request_folders_left": result["request_folders_left"] == 0,
        "memory_growth_under_10_percent": result["server_rss_mb"]["growth_percent"] < max_growth_percent,
    }


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=30, help="requests under the same load before memory is measured")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=2, help="the server's concurrency limit")
    ap.add_argument("--max-seconds", type=float, default=900)
    ap.add_argument("--sound-steps", type=int, default=10)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    piece = chorale()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory(prefix="studio-load-") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        proc = start_server(port, work, args.concurrency)
        try:
            client = wait_until_up(url, proc)
            startup = time.monotonic() - t0
            for i, tab in enumerate(TABS):  # every model loads once
                request(client, tab, i, piece, args.sound_steps)
            rss_loaded = rss_mb(proc.pid)
            # a warm-up under the same concurrent load (not counted): the server's threads and allocator settle
            warm = run_phase(url, piece, args, args.warmup, args.max_seconds, proc.pid)
            rss_before = rss_mb(proc.pid)
            phase = run_phase(url, piece, args, args.requests, args.max_seconds, proc.pid)
            latencies, failures, samples, wall = phase["latencies"], phase["failures"], phase["samples"], phase["wall"]
            time.sleep(1.0)  # the last requests' folders are removed after their answers
            rss_after = rss_mb(proc.pid)
            leftovers = len(list((work / "requests").glob("studio-*"))) if (work / "requests").exists() else 0
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    done = sum(len(v) for v in latencies.values())
    tabs = {
        t: {
            "requests": len(latencies[t]),
            "failures": len(failures[t]),
            "per_second": len(latencies[t]) / wall,
            "p50_s": percentile(latencies[t], 50),
            "p99_s": percentile(latencies[t], 99),
            "max_s": max(latencies[t], default=None),
            "failure_examples": failures[t][:3],
        }
        for t in TABS
    }
    result = {
        "settings": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "compose": "corpus_tiny, unconditional",
            "arrange": "bach_bilstm, bwv10.7 (206 notes)",
            "sound": "everyday, pd, guidance 3",
            "server": "python -m studio concurrency=<--concurrency> queue_size=64, OMP_NUM_THREADS=1 (one torch thread "
            "per request)",
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores (shared with other work), no GPU",
        "server_startup_s": startup,
        "wall_s": wall,
        "requests_done": done,
        "requests_per_second": done / wall,
        "failures": sum(len(v) for v in failures.values()),
        "request_folders_left": leftovers,
        "warmup_failures": sum(len(v) for v in warm["failures"].values()),
        "server_rss_mb": {
            "models_loaded": rss_loaded,
            "after_warmup": rss_before,
            "after_run": rss_after,
            "growth_percent": 100 * (rss_after - rss_before) / rss_before,
            "peak_during_run": max([m for _, m in samples] + [rss_after]),
            "samples": [{"answered": n, "rss_mb": round(m, 1)} for n, m in samples],
        },
        "tabs": tabs,
    }
    result["verdict"] = verdict(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")

    print(
        f"{done} requests in {wall:.1f} s ({done / wall:.2f}/s) from {args.clients} clients, server concurrency "
        f"{args.concurrency}; failures {result['failures']}; request folders left {leftovers}"
    )
    print(f"{'tab':<10}{'requests':>9}{'failures':>9}{'req/s':>8}{'p50 s':>8}{'p99 s':>8}")
    for t, r in tabs.items():
        p50, p99 = r["p50_s"] or float("nan"), r["p99_s"] or float("nan")
        print(f"{t:<10}{r['requests']:>9}{r['failures']:>9}{r['per_second']:>8.2f}{p50:>8.2f}{p99:>8.2f}")
    m = result["server_rss_mb"]
    print("targets: " + ", ".join(f"{k} {'yes' if ok else 'NO'}" for k, ok in result["verdict"].items()))
    print(
        f"server memory: {m['models_loaded']:.0f} MB with the models loaded, {m['after_warmup']:.0f} MB after "
        f"{args.warmup} warm-up requests, {m['after_run']:.0f} MB after {done} more "
        f"({m['growth_percent']:+.1f} %; peak {m['peak_during_run']:.0f} MB)\n-> {args.out}"
    )


if __name__ == "__main__":
    main()
