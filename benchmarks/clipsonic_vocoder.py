"""Griffin-Lim vs the neural vocoder on real audio: the real test segments' log-mels are vocoded and compared
with the real audio (log-spectral distance, log-mel L1), judged by the evaluation's audio classifier
(accuracy), and timed (seconds of audio per second of compute, one thread). Then the generated audio of the
evaluation (IQ / ZS / PD, same models, queries, noise and classifier) through each vocoder
(``generated_per_class=0`` skips it).

    python benchmarks/clipsonic_vocoder.py [models=outputs/clipsonic] [n_iter=32] [generated_per_class=16]
                                           [vocoder=outputs/clipsonic/vocoder/checkpoints/last.ckpt]

Prints a table and writes benchmarks/results/clipsonic_vocoder.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def log_spectral_distance(fake, real, n_fft: int = 1024, hop: int = 256) -> float:
    """Mean over clips and frames of the RMS (over frequency) difference of the log power spectra, in dB."""
    import librosa
    import numpy as np

    out = []
    for f, r in zip(fake, real):
        pf = np.abs(librosa.stft(f, n_fft=n_fft, hop_length=hop)) ** 2 + 1e-8
        pr = np.abs(librosa.stft(r, n_fft=n_fft, hop_length=hop)) ** 2 + 1e-8
        out.append(np.sqrt(((10 * np.log10(pr / pf)) ** 2).mean(0)).mean())
    return float(np.mean(out))


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


def main() -> None:
    import numpy as np
    import torch
    from omegaconf import OmegaConf

    from clipsonic.data.audio import audio_segments
    from clipsonic.data.dataset import audio_to_mel
    from clipsonic.evaluate import Evaluator, wilson
    from clipsonic.judge import judge_audio
    from clipsonic.vocoder import vocode_batch
    from gm_common.cli import compose
    from gm_common.files import atomic_write_text

    torch.set_num_threads(1)
    args = dict(a.split("=", 1) for a in sys.argv[1:])
    neural = args.pop("vocoder", "outputs/clipsonic/vocoder/checkpoints/last.ckpt")
    n_iter = int(args.pop("n_iter", 32))
    generated_per_class = int(args.pop("generated_per_class", 16))
    overrides = [f"{k}={v}" for k, v in args.items()]
    cfg = compose("clipsonic", "evaluate", overrides)
    ev = Evaluator(cfg)
    mel, judge, test = ev.mel, ev.judge, ev.test
    real = audio_segments(OmegaConf.to_container(cfg.data, resolve=True))["test"]  # the cache's test split, same order
    real_mels = np.stack([audio_to_mel(a, mel) for a in real])
    labels = test["labels"]
    audio_s = len(real) * real.shape[1] / mel["sample_rate"]

    def row(audio: np.ndarray | None, seconds: float | None) -> dict:
        mels = real_mels if audio is None else np.stack([audio_to_mel(a, mel) for a in audio])
        correct = judge_audio(judge, mels)["pred"] == labels
        r = {
            "accuracy": float(correct.mean()),
            "accuracy_ci95": wilson(int(correct.sum()), len(correct)),
            "n": int(len(correct)),
        }
        if audio is not None:
            r.update(
                lsd_db=log_spectral_distance(audio, real),
                log_mel_l1=float(np.abs(mels - real_mels).mean()),
                seconds=seconds,
                audio_seconds_per_second=audio_s / seconds,
            )
        return r

    rows = {"real audio (no vocoder)": row(None, None)}
    for name, voc in ((f"Griffin-Lim ({n_iter} iterations)", "griffinlim"), ("neural vocoder", neural)):
        if voc != "griffinlim" and not Path(voc).is_file():
            print(f"skipping {name}: {voc} not found (python -m clipsonic.train_vocoder)")
            continue
        vocode_batch(real_mels[:2], mel, voc, n_iter)  # warm-up (loading)
        t0 = time.perf_counter()
        audio = vocode_batch(real_mels, mel, voc, n_iter)
        rows[name] = row(audio, time.perf_counter() - t0)
    print(f"{'vocoder':<28}{'accuracy':>10}{'LSD dB':>9}{'mel L1':>9}{'x real time':>13}")
    for name, r in rows.items():
        print(
            f"{name:<28}{r['accuracy']:>10.3f}{r.get('lsd_db', float('nan')):>9.2f}"
            f"{r.get('log_mel_l1', float('nan')):>9.3f}{r.get('audio_seconds_per_second', float('nan')):>13.1f}"
        )
    steps = {}
    if Path(neural).is_file():
        ck = torch.load(neural, map_location="cpu", weights_only=True)
        steps = {
            "global_step": int(ck.get("global_step", -1)),
            "hyper_parameters": {k: v for k, v in ck["hyper_parameters"].items() if k != "mel"},
        }
    result = {
        "settings": {
            "mel": mel,
            "neural_vocoder": neural,
            "griffin_lim_iterations": n_iter,
            "test_segments": int(len(real)),
        },
        "table": rows,
        "neural_vocoder_training": steps,
        "torch_threads": torch.get_num_threads(),
        "note": "1 thread, on a 2-core machine shared with another training job: speeds are indicative only",
    }
    out = Path(__file__).resolve().parent / "results" / "clipsonic_vocoder.json"
    if generated_per_class:
        result["generated_audio"] = generated(overrides, neural, generated_per_class)
    atomic_write_text(out, json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
