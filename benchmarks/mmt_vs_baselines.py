"""MMT against REMI+ and MMM (MidiTok), the paper's Table 3, in one run on the same data, model size and steps.

1. Tokens per note on the test split (8:1:1, seed 0): MMT's events against MidiTok's REMI+ and MMM tokens of the
   same notes (:mod:`mmt.baselines`), without velocity tokens (MMT has none) and with them (MidiTok's default).
2. Each representation trained with ``python -m mmt.train representation=mmt|remi_plus|mmm`` (the baselines: a
   transformers GPT-2 of the MMT model's size) for ``--steps`` steps, or read from ``--runs``.
3. ``--samples`` unconditional samples of each from start-of-song with a ``--budget`` of 1,024 events (MMT) or
   tokens (REMI+, MMM), all with a key/value cache, ``--batch-size`` at a time, under ``--sampling`` (MMT's
   default, top-k then min-p, or the paper's top-k alone; the baselines take the same top-k and min-p): average
   sample length in seconds (at the tempo MMT decodes with) as it plays and as heard (without its silences over
   8 beats), the samples with such a silence, notes generated per second of generation (wall clock, decoding
   excluded), and MusPy's pitch-class entropy, scale and groove consistency on the first 64 beats
   (``mmt.evaluate.score``).

    .venv/bin/python benchmarks/mmt_vs_baselines.py --steps 2000 [--model paper] [--trainer gpu]
    .venv/bin/python benchmarks/mmt_vs_baselines.py --runs mmt=RUN remi_plus=RUN mmm=RUN   # trained runs
    .venv/bin/python benchmarks/mmt_vs_baselines.py --experiment corpus_tiny --runs ...    # the shipped model's
    ... --run-to-budget --out ...   # end-of-song never sampled: every sample fills the budget (notes per budget)
    .venv/bin/python benchmarks/mmt_vs_baselines.py --tiny                                 # seconds: a smoke run

Prints a table with the ratios MMT/REMI+ and MMT/MMM and writes benchmarks/results/mmt_vs_baselines.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from gm_common.cli import compose
from gm_common.device import resolve_device
from gm_common.files import atomic_write_text
from mmt import train
from mmt.baselines import (
    BASELINES,
    REPRESENTATIONS,
    count_tokens,
    decode_tokens,
    generate_tokens,
    load_baseline,
    music_of,
    tokenizer,
)
from mmt.data import recorded_split
from mmt.evaluate import score, summarise
from mmt.pipeline import MMT, unconditional_prompt
from mmt.representation import Encoding
from mmt.sampling import PRESETS, sampling_preset

TINY = ["model=tiny", "model.dim=32", "model.depth=2", "model.heads=2", "model.max_seq_len=256", "data.limit=12",
        "data.max_beat=32", "data.batch_size=4", "trainer.check_val_every_n_epoch=1",
        "optim.warmup_steps=2"]  # fmt: skip
TABLE3 = ("pitch_class_entropy", "scale_consistency", "groove_consistency")
TEMPO_QPM = 100.0  # the tempo lengths in seconds are read at (mmt.evaluate.score's)


def piece_seconds(notes: np.ndarray, encoding: Encoding, tempo_qpm: float = 100.0) -> float:
    """A piece's length in seconds at MMT's decoding tempo (the end of its last note), as ``mmt.evaluate.score``."""
    ends = notes[:, 0] * encoding.resolution + notes[:, 1] + np.asarray(encoding.duration_values)[notes[:, 3] - 1]
    return float(ends.max()) / encoding.resolution * 60.0 / tempo_qpm


def token_rows(pieces: list[np.ndarray], encoding: Encoding, budget: int) -> dict[str, dict]:
    """Tokens per note of every representation (MidiTok's with and without velocity tokens) over ``pieces``, and
    the seconds of music a budget holds at the pieces' own density (what a model that keeps it would reach)."""
    notes_per_s = sum(len(p) for p in pieces) / sum(piece_seconds(p, encoding) for p in pieces)
    rows = {}
    for name in REPRESENTATIONS:
        for velocities in (False, True) if name != "mmt" else (False,):
            tok = tokenizer(name, velocities) if name != "mmt" else None
            counts = [count_tokens(notes, encoding, tok) for notes in pieces]
            tokens, notes = sum(c[0] for c in counts), sum(c[1] for c in counts)
            rows[name + ("+velocity" if velocities else "")] = {
                "tokens": tokens, "notes": notes, "tokens_per_note": tokens / notes,
                "notes_per_budget": budget * notes / tokens,
                "seconds_per_budget": budget * notes / tokens / notes_per_s,
            }  # fmt: skip
    return rows


def sample(
    name: str, run: Path, n: int, budget: int, batch_size: int, device: torch.device, allow_end: bool = True,
    sampling: str = "default",
) -> tuple[list, float, list[int]]:
    """``n`` unconditional samples of a trained run as ``muspy.Music``, the seconds generation took (after a short
    warm-up run: the first call of a process sets up kernels and, in ``transformers``, seconds of imports) and the
    events or tokens of each sample. ``allow_end=False``: no end-of-song, every sample runs to the budget.
    ``sampling``: MMT's preset; the baselines take its top-k and min-p (``model.generate``'s own)."""
    preset = sampling_preset(sampling, allow_end=allow_end)
    if name == "mmt":
        mmt = MMT.from_pretrained(run, device=device)
        mmt.sample(unconditional_prompt(), 1, preset, 0, 16)
        t0 = time.perf_counter()
        codes = mmt.sample(unconditional_prompt(), n, preset, 0, budget, batch_size)
        seconds = time.perf_counter() - t0
        return [mmt.decode(c) for c in codes], seconds, [len(c) for c in codes]
    net, tok, _ = load_baseline(run, name)
    net.to(device)
    generate_tokens(net, 1, 16)
    t0 = time.perf_counter()
    seqs = generate_tokens(net, n, budget, batch_size, preset.temperature, preset.filter_threshold,
                           allow_end=allow_end, min_p=preset.min_p)  # fmt: skip
    seconds = time.perf_counter() - t0
    return [music_of(decode_tokens(ids, tok)) for ids in seqs], seconds, [len(ids) + 1 for ids in seqs]  # + [BOS]


def generation_row(musics: list, seconds: float, n: int, lengths: list[int], budget: int) -> dict:
    """Sample length (as it plays, and heard: without its silences over 8 beats), notes per sample and per second
    of generation, the tokens used and how many samples ended (end-of-song) before the budget, the longest
    silence, and the Table 3 metrics of samples."""
    scores = [score(m) for m in musics]  # lengths at MMT's decoding tempo (100 qpm)
    notes = sum(sum(len(t.notes) for t in m.tracks) for m in musics)
    summary = summarise(scores)
    return {
        "samples": n,
        "generation_s": round(seconds, 3),
        "avg_length_s": summary["length_s"]["mean"],
        "avg_heard_length_s": summary["heard_beats"]["mean"] * 60.0 / TEMPO_QPM,
        "longest_silence_beats": summary["longest_silence_beats"],
        "notes_per_sample": notes / n,
        "notes_generated_per_s": notes / seconds,
        "tokens_per_sample": float(np.mean(lengths)),
        "ended_before_budget": float(np.mean([length < budget for length in lengths])),
        **{m: summary[m] for m in TABLE3},
    }


def main(argv: list[str] | None = None) -> dict:
    """Count tokens, train (or read) each representation, sample them, print the table and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", nargs="+", default=["bach_chorales", "string_quartets"])
    ap.add_argument("--limit", type=int, default=None, help="first N files of each collection (--tiny: 12)")
    ap.add_argument("--voices", default="split", choices=["split", "merged"])
    ap.add_argument("--model", default="paper", help="the model config of all three (mmt.train model=...)")
    ap.add_argument("--steps", type=int, default=2000, help="training steps of each representation")
    ap.add_argument("--experiment", default=None, help="mmt.train experiment=... (its model, data and steps instead)")
    ap.add_argument("--trainer", default="cpu", help="mmt.train trainer=... (cpu, gpu)")
    ap.add_argument("--runs", nargs="+", default=[], metavar="NAME=RUN", help="trained runs: skip their training")
    ap.add_argument("--representations", nargs="+", default=list(REPRESENTATIONS), choices=list(REPRESENTATIONS),
                    help="the representations compared (mmt first)")
    ap.add_argument("--samples", type=int, default=None, help="per representation (default 100; --tiny: 4)")
    ap.add_argument(
        "--budget",
        type=int,
        default=None,
        help="events (MMT) or tokens (REMI+, MMM) per sample (default 1,024; --tiny: 256)",
    )
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument(
        "--run-to-budget", action="store_true", help="never sample end-of-song: every sample fills the budget"
    )
    ap.add_argument("--sampling", default="default", choices=list(PRESETS),
                    help="MMT's sampling preset (the baselines take its top-k and min-p)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--tiny", action="store_true", help="a 2-layer, 32-unit model on 12 chorales: seconds")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--work-dir", default="outputs/mmt/vs_baselines", help="the training runs go here")
    ap.add_argument("--out", default="benchmarks/results/mmt_vs_baselines.json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tiny:
        args.collections = ["bach_chorales"]
    args.samples = args.samples or (4 if args.tiny else 100)
    args.budget = args.budget or (256 if args.tiny else 1024)
    if args.experiment:  # its model, data and steps
        overrides = [f"experiment={args.experiment}", f"encoding.voices={args.voices}", f"trainer={args.trainer}"]
    else:
        overrides = [f"model={args.model}", f"data.collections=[{','.join(args.collections)}]",
                     f"encoding.voices={args.voices}", f"trainer={args.trainer}", f"trainer.max_steps={args.steps}",
                     f"optim.decay_end_steps={args.steps}", "early_stopping_patience=null"]  # fmt: skip
    overrides += TINY if args.tiny else []
    overrides += [f"data.limit={args.limit}"] if args.limit else []
    overrides += [f"data.cache_dir={args.cache_dir}"] if args.cache_dir else []
    cfg = compose("mmt", "train", overrides)
    args.collections, args.steps = list(cfg.data.collections), int(cfg.trainer.max_steps)
    encoding = Encoding(max_beat=int(cfg.encoding.max_beat), voices=args.voices)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    pieces = list(recorded_split(data, encoding, "test").values())
    tokens = token_rows(pieces, encoding, args.budget)

    runs = {name: Path(run) for name, run in (r.split("=", 1) for r in args.runs)}
    device = resolve_device(args.device)
    generation = {}
    for name in args.representations:
        if name not in runs:
            run_dir = Path(args.work_dir) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
            runs[name] = train.run(
                compose("mmt", "train", [*overrides, f"representation={name}", f"run_dir={run_dir}"])
            )
        musics, seconds, lengths = sample(
            name, runs[name], args.samples, args.budget, args.batch_size, device, not args.run_to_budget, args.sampling
        )
        generation[name] = generation_row(musics, seconds, args.samples, lengths, args.budget)

    ratios = {
        f"mmt/{b}": {k: generation["mmt"][k] / generation[b][k] if generation[b][k] else None
                     for k in ("avg_length_s", "avg_heard_length_s", "notes_generated_per_s", "notes_per_sample")}
        for b in BASELINES if b in generation
    }  # fmt: skip
    print(f"test split of {', '.join(args.collections)} ({len(pieces)} pieces, voices={args.voices})")
    print(f"{'representation':20s} {'tokens/note':>11s} {f'notes in {args.budget}':>14s} {'seconds (data)':>14s}")
    for key, row in tokens.items():
        print(f"{key:20s} {row['tokens_per_note']:11.2f} {row['notes_per_budget']:14.0f} "
              f"{row['seconds_per_budget']:14.1f}")  # fmt: skip
    to_budget = ", end-of-song never sampled" if args.run_to_budget else ""
    print(f"\n{args.samples} samples each, budget {args.budget}{to_budget}, batch {args.batch_size}, "
          f"{args.steps} steps, {device}")  # fmt: skip
    header = ["length s", "heard s", ">8 beats", "notes", "notes/s gen", "tokens", "ended", "PCE", "SC %", "GC %"]
    widths = (9, 8, 8, 7, 12, 7, 6, 6, 6, 6)
    print(f"{'representation':15s} " + " ".join(f"{h:>{w}s}" for h, w in zip(header, widths)))
    for name, row in generation.items():
        table3 = " ".join(f"{row[m]['mean']:6.2f}" for m in TABLE3)
        print(f"{name:15s} {row['avg_length_s']:9.2f} {row['avg_heard_length_s']:8.2f} "
              f"{row['longest_silence_beats']['over_8']:8.0%} {row['notes_per_sample']:7.1f} "
              f"{row['notes_generated_per_s']:12.1f} {row['tokens_per_sample']:7.1f} "
              f"{row['ended_before_budget']:6.0%} {table3}")  # fmt: skip
    for key, r in ratios.items():
        print(f"{key}: " + ", ".join(f"{k} x{v:.2f}" if v is not None else f"{k} -" for k, v in r.items()))
    result = {
        "config": {k: v for k, v in vars(args).items() if k not in ("runs", "out")},
        "runs": {k: str(v) for k, v in runs.items()},
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "test_pieces": len(pieces),
        "tokens": tokens,
        "generation": generation,
        "ratios": ratios,
    }
    atomic_write_text(args.out, json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
