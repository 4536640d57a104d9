"""Griffin-Lim vs neural vocoders on held-out real audio: the real test segments' log-mels are vocoded and
compared with the real audio (log-spectral distance, log-mel L1), judged by the evaluation's audio classifier
(accuracy with its 95 % interval), and timed one clip at a time on ``--threads`` torch threads (x real time:
seconds of audio per second of compute, of the median clip). ``--generated-per-class N`` adds the evaluation of
generated audio (IQ / ZS / PD, the same models, queries, noise and judge) through Griffin-Lim and each neural
vocoder.

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


def log_spectral_distance(fake: np.ndarray, real: np.ndarray, n_fft: int = 1024, hop: int = 256) -> float:
    """Mean over clips and frames of the RMS (over frequency) difference of the log power spectra, in dB."""
    import librosa

    out = []
    for f, r in zip(fake, real):
        pf = np.abs(librosa.stft(f, n_fft=n_fft, hop_length=hop)) ** 2 + 1e-8
        pr = np.abs(librosa.stft(r, n_fft=n_fft, hop_length=hop)) ** 2 + 1e-8
        out.append(np.sqrt(((10 * np.log10(pr / pf)) ** 2).mean(0)).mean())
    return float(np.mean(out))


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


def generated(overrides: list[str], neural: str, per_class: int) -> dict:
    """The evaluation table (real audio, IQ, ZS, PD) with Griffin-Lim and with the neural vocoder."""
    from clipsonic.evaluate import MODES, Evaluator
    from gm_common.cli import compose

    out = {"per_class": per_class}
    for name, vocoder in (("griffinlim", "griffinlim"), ("neural", neural)):
        ev = Evaluator(compose("clipsonic", "evaluate", [*overrides, f"per_class={per_class}", f"vocoder={vocoder}"]))
        rows = {"real audio (vocoded)": ev.reference(), **ev.modes(float(ev.cfg.guidance))}
        out[name] = {k: rows[k] for k in ("real audio (vocoded)", *MODES, "differences")}
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run the comparison; returns what it writes."""
    import torch
    from omegaconf import OmegaConf

    from clipsonic.data.audio import audio_segments
    from clipsonic.data.dataset import audio_to_mel
    from clipsonic.evaluate import Evaluator, wilson
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
    mel, labels = ev.mel, ev.test["labels"]
    real = audio_segments(OmegaConf.to_container(cfg.data, resolve=True))["test"]  # the cache's test split, same order
    real_mels = np.stack([audio_to_mel(a, mel) for a in real])
    clip_s = real.shape[1] / mel["sample_rate"]

    def row(audio: np.ndarray | None, seconds: np.ndarray | None) -> dict:
        mels = real_mels if audio is None else np.stack([audio_to_mel(a, mel) for a in audio])
        correct = judge_audio(ev.judge, mels)["pred"] == labels
        r = {"accuracy": float(correct.mean()), "accuracy_ci95": wilson(int(correct.sum()), len(correct))}
        r["n"] = int(len(correct))
        if audio is not None:
            r.update(
                lsd_db=log_spectral_distance(audio, real),
                log_mel_l1=float(np.abs(mels - real_mels).mean()),
                seconds=float(seconds.sum()),
                x_real_time=clip_s / float(np.median(seconds)),  # the median clip: robust to the machine's load
            )
        return r

    rows = {"real audio (no vocoder)": row(None, None)}
    griffin_lim = f"Griffin-Lim ({n_iter} iterations)"
    for name, voc in ((griffin_lim, GRIFFIN_LIM), *((f"neural: {n}", path) for n, path in neural.items())):
        rows[name] = row(*timed_vocoding(real_mels, mel, voc, n_iter))
    print(f"{'vocoder':<28}{'accuracy':>10}{'95% CI':>15}{'LSD dB':>9}{'mel L1':>9}{'x real time':>13}")
    for name, r in rows.items():
        ci = f"[{r['accuracy_ci95'][0]:.2f}, {r['accuracy_ci95'][1]:.2f}]"
        print(
            f"{name:<28}{r['accuracy']:>10.3f}{ci:>15}{r.get('lsd_db', float('nan')):>9.2f}"
            f"{r.get('log_mel_l1', float('nan')):>9.3f}{r.get('x_real_time', float('nan')):>13.1f}"
        )
    gl = rows[griffin_lim]
    verdict = {
        name: {
            "lsd_beats_griffin_lim": rows[f"neural: {name}"]["lsd_db"] < gl["lsd_db"],
            "accuracy_beats_griffin_lim": rows[f"neural: {name}"]["accuracy"] > gl["accuracy"],
            f"at_least_{TARGET:.0f}x_real_time": rows[f"neural: {name}"]["x_real_time"] >= TARGET,
        }
        for name in neural
    }
    for name, v in verdict.items():
        print(f"{name}: " + "  ".join(f"{k} {ok}" for k, ok in v.items()))
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
            "test_segments": int(len(real)),
            "torch_threads": torch.get_num_threads(),
            "machine": f"{os.cpu_count()} CPU cores",
            "tiny": args.tiny,
        },
        "table": rows,
        "verdict": verdict,
    }
    if args.generated_per_class:
        result["generated_audio"] = {
            name: generated(overrides, path, args.generated_per_class) for name, path in neural.items()
        }
    atomic_write_text(Path(args.out), json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
