"""Griffin-Lim vs neural vocoders on held-out real audio: the real segments' log-mels (the test split, or
``--split valid``, where some clips hold a second source) are vocoded and compared with the real audio
(log-spectral distance, log-mel L1), judged by the evaluation's audio classifier (accuracy with its 95 %
interval, and its mean probability of the true class: finer where every vocoder reaches 100 %), and timed one
clip at a time on ``--threads`` torch threads (x real time: seconds of audio per second of compute, of the
median clip). ``--generated-per-class N`` adds the evaluation of
generated audio (IQ / ZS / PD, the same models, queries, noise and judge) through Griffin-Lim and each neural
vocoder. Each neural vocoder is compared with Griffin-Lim on the same clips: paired 95 % intervals of the
differences in LSD, in the judge's accuracy and in its probability; it "beats" Griffin-Lim on one when the whole
interval is on its side.

    python benchmarks/clipsonic_vocoder.py [--vocoder synthetic --vocoder <ckpt>] [--n-iter 32] [key=value ...]
    python benchmarks/clipsonic_vocoder.py --tiny --vocoder <ckpt> models=<tiny folder> ...   # seconds

``key=value`` are ``clipsonic.evaluate`` overrides (the models, ``root`` with the world's data, ...); each
vocoder is a shipped model set's name or a checkpoint (``python -m clipsonic.train_vocoder``).
Prints a table and writes benchmarks/results/clipsonic_vocoder.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

TARGET = 20.0  # x real time on 2 cores (issue 13)
GRIFFIN_LIM_NAME = "Griffin-Lim"


def log_spectral_distance(fake: np.ndarray, real: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """Per clip: the mean over frames of the RMS (over frequency) difference of the log power spectra, in dB."""
    import torch

    from clipsonic.neural_vocoder import log_spectral_distance as lsd

    return lsd(torch.from_numpy(np.asarray(fake)), torch.from_numpy(np.asarray(real)), n_fft, hop).numpy()


def timed_vocoding(log_mels: np.ndarray, mel: dict, vocoder: str, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Audio of each log-mel, vocoded one clip at a time (as a listener waits for it), and each clip's seconds."""
    from clipsonic.vocoder import vocode_batch

    vocode_batch(log_mels[:1], mel, vocoder, n_iter)  # warm-up: loading, first-call allocations
    audio, seconds = [], []
    for m in log_mels:
        t0 = time.perf_counter()
        audio.append(vocode_batch(m[None], mel, vocoder, n_iter))
        seconds.append(time.perf_counter() - t0)
    return np.concatenate(audio), np.array(seconds)


def generated(overrides: list[str], vocoders: dict[str, str], per_class: int) -> dict:
    """IQ, ZS and PD audio generated once (the evaluation's models, queries and noise) and heard through each
    vocoder: the judge's accuracy, FAD and text-audio score per mode, and each neural vocoder's paired accuracy
    difference from Griffin-Lim (per mode and over the three modes together)."""
    from clipsonic.evaluate import MODES, Evaluator, paired_difference
    from gm_common.cli import compose

    ev = Evaluator(compose("clipsonic", "evaluate", [*overrides, f"per_class={per_class}"]))
    guidance, steps, sampler = float(ev.cfg.guidance), int(ev.cfg.steps), str(ev.cfg.sampler)
    out: dict = {"per_class": per_class, "guidance": guidance, "steps": steps, "sampler": sampler}
    correct: dict[str, dict[str, np.ndarray]] = {name: {} for name in vocoders}
    for mode in MODES:
        mels = ev.sample(mode, guidance, steps, sampler)
        for name, vocoder in vocoders.items():
            ev.pipe.vocoder = vocoder
            row = ev.measure(mels, ev.labels)
            correct[name][mode] = np.array(row.pop("correct"))
            row["n"] = len(mels)
            out.setdefault(name, {})[mode] = row
    gl = correct.pop(GRIFFIN_LIM_NAME)
    for name, mine in correct.items():
        diffs = {mode: paired_difference(mine[mode], gl[mode]) for mode in MODES}
        diffs["all modes"] = d = paired_difference(*(np.concatenate([c[m] for m in MODES]) for c in (mine, gl)))
        out[name]["accuracy minus Griffin-Lim"] = diffs
        lo, hi = d["ci95"]
        print(f"generated audio, {name} - Griffin-Lim: {d['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}] (n {d['n']})")
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run the comparison; returns what it writes."""
    import torch
    from omegaconf import OmegaConf

    from clipsonic.data.audio import audio_segments
    from clipsonic.data.dataset import audio_to_mel, load_split
    from clipsonic.evaluate import Evaluator, paired_difference, wilson
    from clipsonic.judge import judge_audio
    from clipsonic.pipeline import resolve_part
    from clipsonic.vocoder import GRIFFIN_LIM
    from gm_common.checkpoint import load_checkpoint
    from gm_common.cli import compose
    from gm_common.files import atomic_write_text

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--vocoder", action="append", help="a shipped model set's name or a checkpoint (repeatable; default: models=)"
    )
    ap.add_argument("--n-iter", type=int, default=None, help="Griffin-Lim iterations (default 32; --tiny: 4)")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads of the timing (2 on a loaded 2-core box: slower)"
    )
    ap.add_argument("--generated-per-class", type=int, default=0, help="also evaluate generated audio (0: skip)")
    ap.add_argument(
        "--split", choices=("test", "valid"), default="test", help="the real clips (valid: some hold two sources)"
    )
    ap.add_argument("--tiny", action="store_true", help="4 Griffin-Lim iterations, judge 3 steps: seconds")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "clipsonic_vocoder.json"))
    ap.add_argument("overrides", nargs="*", help="clipsonic.evaluate overrides (models=..., root=..., ...)")
    args = ap.parse_args(argv)
    n_iter = args.n_iter or (4 if args.tiny else 32)
    overrides = [*(["judge_steps=3"] if args.tiny else []), *args.overrides]
    cfg = compose("clipsonic", "evaluate", overrides)
    neural = {name: str(resolve_part(name, "vocoder")) for name in args.vocoder or [str(cfg.models)]}
    torch.set_num_threads(args.threads)
    ev = Evaluator(cfg)
    mel, labels = ev.mel, (ev.test if args.split == "test" else load_split(ev.folder, args.split))["labels"]
    real = audio_segments(OmegaConf.to_container(cfg.data, resolve=True))[args.split]  # the cache's order
    real_mels = np.stack([audio_to_mel(a, mel) for a in real])
    clip_s = real.shape[1] / mel["sample_rate"]

    per_clip: dict[str, dict[str, np.ndarray]] = {}  # row -> measure -> one value per clip (paired differences)

    def row(name: str, audio: np.ndarray | None, seconds: np.ndarray | None) -> dict:
        mels = real_mels if audio is None else np.stack([audio_to_mel(a, mel) for a in audio])
        judged = judge_audio(ev.judge, mels)
        correct = judged["pred"] == labels
        per_clip[name] = {"judge_probability": judged["prob"][np.arange(len(labels)), labels], "correct": correct}
        r = {"accuracy": float(correct.mean()), "accuracy_ci95": wilson(int(correct.sum()), len(correct))}
        r["judge_probability"] = float(per_clip[name]["judge_probability"].mean())  # of the true class
        r["n"] = int(len(correct))
        if audio is not None:
            per_clip[name]["lsd_db"] = log_spectral_distance(audio, real)
            r.update(
                lsd_db=float(per_clip[name]["lsd_db"].mean()),
                log_mel_l1=float(np.abs(mels - real_mels).mean()),
                seconds=float(seconds.sum()),
                x_real_time=clip_s / float(np.median(seconds)),  # the median clip: robust to the machine's load
            )
        return r

    rows = {"real audio (no vocoder)": row("real audio (no vocoder)", None, None)}
    griffin_lim = f"Griffin-Lim ({n_iter} iterations)"
    for name, voc in ((griffin_lim, GRIFFIN_LIM), *((f"neural: {n}", path) for n, path in neural.items())):
        rows[name] = row(name, *timed_vocoding(real_mels, mel, voc, n_iter))
    print(f"{'vocoder':<28}{'accuracy':>10}{'95% CI':>15}{'p(class)':>10}{'LSD dB':>9}{'mel L1':>9}{'x real time':>13}")
    for name, r in rows.items():
        ci = f"[{r['accuracy_ci95'][0]:.2f}, {r['accuracy_ci95'][1]:.2f}]"
        print(
            f"{name:<28}{r['accuracy']:>10.3f}{ci:>15}{r['judge_probability']:>10.3f}"
            f"{r.get('lsd_db', float('nan')):>9.2f}{r.get('log_mel_l1', float('nan')):>9.3f}"
            f"{r.get('x_real_time', float('nan')):>13.1f}"
        )

    def versus_griffin_lim(name: str) -> dict:
        """Paired differences (same clips) from Griffin-Lim; 'beats' when the whole 95 % interval is on its side."""
        mine, gl = per_clip[f"neural: {name}"], per_clip[griffin_lim]
        lsd = paired_difference(mine["lsd_db"], gl["lsd_db"])
        prob = paired_difference(mine["judge_probability"], gl["judge_probability"])
        accuracy = paired_difference(mine["correct"], gl["correct"])
        return {
            "lsd_db_minus_griffin_lim": lsd,
            "lsd_beats_griffin_lim": lsd["ci95"][1] < 0,
            "accuracy_minus_griffin_lim": accuracy,
            "accuracy_beats_griffin_lim": accuracy["ci95"][0] > 0,
            "judge_probability_minus_griffin_lim": prob,
            "judge_probability_beats_griffin_lim": prob["ci95"][0] > 0,
            f"at_least_{TARGET:.0f}x_real_time": rows[f"neural: {name}"]["x_real_time"] >= TARGET,
        }

    verdict = {name: versus_griffin_lim(name) for name in neural}
    for name, v in verdict.items():
        print(f"{name}: " + "  ".join(f"{k} {ok}" for k, ok in v.items() if isinstance(ok, bool)))
        for k in ("lsd_db_minus_griffin_lim", "accuracy_minus_griffin_lim", "judge_probability_minus_griffin_lim"):
            print(f"  {k} {v[k]['difference']:+.3f} [{v[k]['ci95'][0]:+.3f}, {v[k]['ci95'][1]:+.3f}]")
    result = {
        "settings": {
            "mel": mel,
            "models": str(cfg.models),
            "world": str(cfg.data.world),
            "neural_vocoders": neural,
            "neural_vocoder_hyper_parameters": {
                name: {k: v for k, v in load_checkpoint(path)["hyper_parameters"].items() if k != "mel"}
                for name, path in neural.items()
            },
            "griffin_lim_iterations": n_iter,
            "split": args.split,
            "segments": int(len(real)),
            "torch_threads": torch.get_num_threads(),
            "machine": f"{os.cpu_count()} CPU cores",
            "tiny": args.tiny,
        },
        "table": rows,
        "verdict": verdict,
    }
    if args.generated_per_class:
        vocoders = {GRIFFIN_LIM_NAME: GRIFFIN_LIM, **{f"neural: {n}": path for n, path in neural.items()}}
        result["generated_audio"] = generated(overrides, vocoders, args.generated_per_class)
    atomic_write_text(Path(args.out), json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
