"""The card's command for every sound event: ``python -m clipsonic.generate "<class name>" seed=<s>`` with
generate's defaults (mode, sampler, steps, guidance, models), for ``--seeds`` seeds per class, judged by the
evaluation's audio classifier. Prints the per-class table (accuracy with its 95 % Wilson interval and what the
misses were heard as) and checks the target of issue 13: "dog barking" judged as dog barking in >= 80 % of 20.

    python benchmarks/clipsonic_prompts.py [--seeds 20] [--mode pd] [--vocoder everyday ...] [key=value ...]

``--vocoder`` (repeatable) also hears the same samples through another vocoder (a shipped name or a checkpoint),
with its per-class table and its paired difference from generate's vocoder over all prompts and seeds.

``key=value`` are ``clipsonic.evaluate`` overrides (``data=everyday`` and generate's ``models`` by default; the
judge is trained once and cached in the evaluation's ``out_dir``). Writes benchmarks/results/clipsonic_prompts.json.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

TARGET = {"prompt": "dog barking", "accuracy": 0.8}


def per_class_table(names: list[str], heard: dict[str, list[int]]) -> list[dict]:
    """One row per prompt: how often the judge heard its own class, with the interval and the other classes heard."""
    from clipsonic.evaluate import wilson

    rows = []
    for label, name in enumerate(names):
        preds = heard[name]
        k = sum(p == label for p in preds)
        others = Counter(names[p] for p in preds if p != label).most_common()
        rows.append(
            {
                "prompt": name,
                "n": len(preds),
                "accuracy": k / len(preds),
                "ci95": wilson(k, len(preds)),
                "misses": others,
            }
        )
    return rows


def target_row(rows: list[dict]) -> tuple[dict | None, bool]:
    """The row of ``TARGET``'s prompt (None when the set has no such class) and whether it meets the target."""
    target = next((r for r in rows if r["prompt"] == TARGET["prompt"]), None)
    return target, target is not None and target["accuracy"] >= TARGET["accuracy"]


def versus(names: list[str], heard: dict[str, list[int]], other: dict[str, list[int]]) -> dict:
    """Paired difference (other - heard) of the hits over every prompt and seed, with its 95 % interval."""
    from clipsonic.evaluate import paired_difference

    def hits(h: dict[str, list[int]]) -> list[bool]:
        return [p == label for label, name in enumerate(names) for p in h[name]]

    return paired_difference(hits(other), hits(heard))


def main(argv: list[str] | None = None) -> dict:
    import numpy as np

    from clipsonic.evaluate import Evaluator, audio_mels
    from clipsonic.judge import judge_audio
    from clipsonic.pipeline import resolve_part
    from clipsonic.vocoder import vocode_batch
    from gm_common.cli import compose
    from gm_common.files import atomic_write_text

    gen = compose("clipsonic", "generate", [])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--mode", default=str(gen.mode), help="default: generate's")
    ap.add_argument("--steps", type=int, default=int(gen.steps), help="default: generate's")
    ap.add_argument("--prior-candidates", type=int, default=int(gen.prior_candidates), help="default: generate's")
    ap.add_argument("--vocoder", action="append", default=[], help="also hear the samples through this vocoder")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "clipsonic_prompts.json"))
    args, overrides = ap.parse_known_args(argv)
    cfg = compose("clipsonic", "evaluate", ["data=everyday", f"models={gen.models}", *overrides])
    ev = Evaluator(cfg)
    settings = {
        "mode": args.mode,
        "sampler": str(gen.sampler),
        "steps": args.steps,
        "guidance": float(gen.guidance),
        "prior_candidates": args.prior_candidates,
    }
    print(f"models {cfg.models}, {settings}, seeds 0..{args.seeds - 1}, vocoder {cfg.vocoder}")
    others = {v: str(resolve_part(v, "vocoder")) for v in args.vocoder}
    heard: dict[str, list[int]] = {}
    heard_by: dict[str, dict[str, list[int]]] = {v: {} for v in others}
    for name in ev.names:
        out = [ev.pipe(name, n=1, seed=s, **settings) for s in range(args.seeds)]
        # exactly what `python -m clipsonic.generate "<name>" seed=<s>` writes
        audio = np.concatenate([o.audio for o in out])
        heard[name] = judge_audio(ev.judge, audio_mels(audio, ev.mel))["pred"].tolist()
        log_mels = np.concatenate([o.log_mels for o in out])
        for v, path in others.items():
            audio = vocode_batch(log_mels, ev.mel, path)
            heard_by[v][name] = judge_audio(ev.judge, audio_mels(audio, ev.mel))["pred"].tolist()
        print(f"  {name:<22} {np.mean(np.array(heard[name]) == ev.names.index(name)):.2f}")
    rows = per_class_table(ev.names, heard)
    print(f"\n{'prompt':<22}{'judged right':>13}{'95% CI':>16}  heard instead")
    for r in rows:
        misses = ", ".join(f"{n} {c}" for n, c in r["misses"][:3])
        lo, hi = r["ci95"]
        print(f"{r['prompt']:<22}{r['accuracy']:>13.2f}{f'[{lo:.2f}, {hi:.2f}]':>16}  {misses}")
    mean = float(np.mean([r["accuracy"] for r in rows]))
    target, met = target_row(rows)
    print(f"mean over prompts {mean:.3f} (chance {1 / len(rows):.3f})")
    if target is not None:
        verdict = "met" if met else "not met"
        print(f'"{TARGET["prompt"]}": {target["accuracy"]:.2f} of {target["n"]} seeds (target >= 0.80: {verdict})')
    result = {
        "models": str(cfg.models),
        "vocoder": str(cfg.vocoder),
        "settings": settings,
        "seeds": args.seeds,
        "rows": rows,
        "mean_accuracy": mean,
        "chance": 1 / len(rows),
        "target": {**TARGET, "met": met},
        "other_vocoders": {},
    }
    for v, path in others.items():
        table = per_class_table(ev.names, heard_by[v])
        diff = versus(ev.names, heard, heard_by[v])
        result["other_vocoders"][v] = {"path": path, "rows": table, "minus_generate_vocoder": diff}
        result["other_vocoders"][v]["mean_accuracy"] = float(np.mean([r["accuracy"] for r in table]))
        lo, hi = diff["ci95"]
        print(f"vocoder {v}: " + ", ".join(f"{r['prompt']} {r['accuracy']:.2f}" for r in table))
        print(f"  minus {cfg.vocoder}: {diff['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}] (n {diff['n']})")
    atomic_write_text(Path(args.out), json.dumps(result, indent=1))
    print(f"results: {args.out}")
    return result


if __name__ == "__main__":
    main()
