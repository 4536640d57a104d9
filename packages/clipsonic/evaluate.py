"""Evaluate IQ / ZS / PD generation on a labelled set's test split (the synthetic set by default; data=everyday
for the everyday sound events).

    python -m clipsonic.evaluate [models=synthetic|<trained folder>] [per_class=16] [guidance=3] [steps=25]
                                 [sampler=ddim] [sweep=[1,2,3,5]] [vocoder=griffinlim|<name>|<ckpt>]
                                 [device=auto|cpu|cuda|cuda:N] [precision=32-true|bf16-mixed|16-mixed]

CLIP, prior and diffusion model run on ``device``; the judge and the vocoder on the CPU.

Queries (``per_class`` of each per class and mode): IQ uses frames of held-out test videos; ZS and PD use
``per_class`` distinct text queries per class in phrasings that training never saw (``query_captions`` of
the world ``data.world`` names, :mod:`clipsonic.data.worlds`; ``a <class name>`` for a folder of real videos).
ZS and PD get the same queries and the same noise, so their difference is paired. The modes are those of
:func:`clipsonic.pipeline.mode_conditions`, the same code as ``clipsonic.generate``.

Metrics (one table, printed and written to ``out_dir/results.json``):
- accuracy (with n and a 95% Wilson interval): an audio classifier trained on the set's real audio judges the
  class of the generated audio; PD - ZS and IQ - PD are given with a 95% interval too;
- FAD: Frechet distance between the classifier's features of generated and of real test audio;
- text-audio: 100 x cosine between the classifier's CLIP-space projection of the audio and the CLIP text
  embedding of the query's class (a CLAP-style score; CLAP itself cannot be downloaded here).
- modality gap: how far the ZS conditions (text embeddings) and the PD conditions (prior samples) are from
  the image embeddings of their class (:mod:`clipsonic.modality_gap`), and the gap of CLIP on its caption pairs.
Labels are used here only, never in training the audio model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from clipsonic.data.worlds import text_queries
from clipsonic.generate import load_pipeline
from clipsonic.pipeline import PRETRAINED, mode_conditions
from gm_common.cli import entry_point
from gm_common.errors import ConfigError, InputFileError
from gm_common.pretrained import print_pretrained

MODES = ("IQ", "ZS", "PD")


def class_names(labels_csv: str, labels: np.ndarray) -> list[str]:
    """Class names from the labels CSV (column class_name), else ``class <k>``."""
    from clipsonic.data.dataset import read_labels

    rows = read_labels(labels_csv).values()
    names = {int(r["label"]): str(r["class_name"]) for r in rows if "class_name" in r}
    return [names.get(k, f"class {k}") for k in range(int(labels.max()) + 1)]


def audio_mels(audio: np.ndarray, mel: dict) -> np.ndarray:
    """Audio [B, samples] -> log-mels [B, n_mels, frames]: what the judge hears."""
    from clipsonic.data.dataset import audio_to_mel

    return np.stack([audio_to_mel(a, mel) for a in audio])


def vocode_and_measure(log_mels: np.ndarray, mel: dict, vocoder: str) -> np.ndarray:
    """Generated log-mels -> audio (Griffin-Lim or a neural vocoder) -> log-mels again (what a listener hears)."""
    from clipsonic.vocoder import vocode_batch

    return audio_mels(vocode_batch(log_mels, mel, vocoder), mel)


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """95% Wilson score interval of a proportion k / n."""
    if n == 0:
        return [float("nan"), float("nan")]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(centre - half), float(centre + half)]


def text_audio_score(z: np.ndarray, class_text: np.ndarray, labels: np.ndarray) -> float:
    """100 x the mean cosine between unit audio projections ``z`` [N, D] and the unit text embedding of each
    one's class (``class_text`` [C, D], ``labels`` [N]): a CLAP-style score from -100 to 100."""
    return float(100 * (np.asarray(z) * np.asarray(class_text)[labels]).sum(1).mean())


def paired_difference(a: np.ndarray, b: np.ndarray, z: float = 1.96) -> dict:
    """Mean of a - b over paired outcomes (0/1 or measures), with a normal-approximation 95% interval."""
    d = np.asarray(a, float) - np.asarray(b, float)
    half = z * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return {"difference": float(d.mean()), "ci95": [float(d.mean() - half), float(d.mean() + half)], "n": int(len(d))}


def iq_rows(
    test_labels: np.ndarray, n_frames: int, names: list[str], k: int, rng: np.random.Generator, labels_csv: str
) -> np.ndarray:
    """``k`` (test video, frame) pairs per class for the IQ queries: distinct videos first (middle frame), then
    other frames of the same videos. Raises when a class has no test video."""
    rows = []
    for c, name in enumerate(names):
        videos = np.flatnonzero(test_labels == c)
        if videos.size == 0:
            raise InputFileError(Path(labels_csv), f"no test video of class {name!r}")
        videos = videos[rng.permutation(videos.size)]
        pairs = [(v, (n_frames // 2 + j) % n_frames) for j in range(n_frames) for v in videos]
        rows += [pairs[i % len(pairs)] for i in range(k)]
    return np.array(rows)


class Evaluator:
    """Holds the models, the queries of each mode and the judge; :meth:`run` measures one setting."""

    def __init__(self, cfg: DictConfig, log=print):
        self.cfg, self.log = cfg, log
        if not cfg.data.labels_csv:
            raise ConfigError("evaluation needs labels (data.labels_csv) for the test split")
        self.pipe = load_pipeline(cfg, with_prior=True)
        self.mel = self.pipe.mel
        if OmegaConf.to_container(cfg.data.mel, resolve=True) != self.mel:
            raise ConfigError(f"data.mel {dict(cfg.data.mel)} differs from the model's mel settings {self.mel}")
        self._load_data()
        self.class_text = self.pipe.clip.embed_texts([f"a {n}" for n in self.names])
        self._load_judge()
        self._make_queries()
        self._pd: torch.Tensor | None = None

    def _load_data(self) -> None:
        """The cached train/test/valid splits, the class names and the real reference audio."""
        from clipsonic.data.dataset import build_cache, file_key, load_split

        self.clip_key = file_key(self.pipe.clip.source)
        data = OmegaConf.to_container(self.cfg.data, resolve=True)
        self.folder = build_cache(data, self.pipe.clip, self.clip_key, log=self.log)
        self.train, self.test = load_split(self.folder, "train"), load_split(self.folder, "test")
        if self.test is None or self.train is None:
            raise InputFileError(Path(self.cfg.data.labels_csv), "labels CSV defines no train or no test split")
        valid = load_split(self.folder, "valid")
        self.names = class_names(self.cfg.data.labels_csv, self.train["labels"])
        self.ref_mels = np.concatenate([r["mels"] for r in (self.test, valid) if r is not None])

    def _load_judge(self) -> None:
        """The audio classifier: reused from ``out_dir/judge.pt`` when trained on the same data, else trained."""
        from clipsonic.judge import judge_audio, load_judge, save_judge, train_judge

        key, path = f"{self.folder.name}:{self.cfg.judge_steps}", Path(self.cfg.out_dir) / "judge.pt"
        self.judge = load_judge(path, key)
        self.judge_seconds: float | None = None  # None: loaded from out_dir/judge.pt
        if self.judge is None:
            self.log("training the audio classifier (judge) on real audio ...")
            t0 = time.perf_counter()
            self.judge = train_judge(
                self.train["mels"],
                self.train["labels"],
                self.class_text,
                int(self.cfg.judge_steps),
                int(self.cfg.seed),
                self.log,
            )
            self.judge_seconds = time.perf_counter() - t0
            save_judge(self.judge, path, key)
        self.ref_feat = judge_audio(self.judge, self.ref_mels)["feat"]

    def _make_queries(self) -> None:
        """``per_class`` IQ (test frames) and text (held-out paraphrases) queries per class, and their labels."""
        k, seed = int(self.cfg.per_class), int(self.cfg.seed)
        self.labels = np.repeat(np.arange(len(self.names)), k)
        n_frames = self.test["embs"].shape[1]
        self.iq_rows = iq_rows(
            self.test["labels"], n_frames, self.names, k, np.random.default_rng(seed), self.cfg.data.labels_csv
        )
        self.queries = [q for qs in text_queries(self.cfg.data.world, self.names, k, seed) for q in qs]
        self.query_text = self.pipe.clip.embed_texts(self.queries)

    def conditions(self, mode: str) -> torch.Tensor:
        """The CLIP conditions of a mode's queries (PD: sampled once, with its own seed, and kept)."""
        if mode.lower() == "pd" and self._pd is not None:
            return self._pd
        text = torch.from_numpy(self.query_text).float()
        image = torch.from_numpy(self.test["embs"][self.iq_rows[:, 0], self.iq_rows[:, 1]]).float()
        generator = torch.Generator().manual_seed(int(self.cfg.seed) + 1)
        with self.pipe.autocast():
            cond = mode_conditions(
                mode.lower(), text, image, self.pipe.prior, generator, int(self.cfg.prior_candidates)
            )
        if mode.lower() == "pd":  # one prior sample per query, reused across guidance scales
            self._pd = cond
        return cond

    def gaps(self) -> dict:
        """Modality gap: ZS conditions (text) and PD conditions (prior samples) against the image embeddings
        of the test videos (all frames), and CLIP's gap on its own caption pairs."""
        from clipsonic.data.captions import caption_embeddings
        from clipsonic.modality_gap import gap_to_images, modality_gap

        images = self.test["embs"].reshape(-1, self.test["embs"].shape[-1])
        image_labels = np.repeat(self.test["labels"], self.test["embs"].shape[1])
        out = {
            f"{m} ({what})": gap_to_images(self.conditions(m).float().cpu().numpy(), self.labels, images, image_labels)
            for m, what in (("IQ", "test frames"), ("ZS", "text queries"), ("PD", "prior samples"))
        }
        if self.cfg.data.captions_csv and Path(self.cfg.data.captions_csv).is_file():
            text, image, labels = caption_embeddings(
                self.cfg.data.captions_csv, self.pipe.clip, self.clip_key, self.cfg.data.cache_dir
            )
            out["CLIP caption pairs"] = modality_gap(text, image, labels if (labels >= 0).all() else None)
        return out

    def measure(self, log_mels: np.ndarray, labels: np.ndarray) -> dict:
        """Accuracy (with its interval), FAD and text-audio score of log-mels heard through the vocoder."""
        from clipsonic.judge import frechet_distance, judge_audio

        j = judge_audio(self.judge, vocode_and_measure(log_mels, self.mel, self.pipe.vocoder))
        correct = j["pred"] == labels
        return {
            "accuracy": float(correct.mean()),
            "accuracy_ci95": wilson(int(correct.sum()), len(correct)),
            "fad": frechet_distance(j["feat"], self.ref_feat),
            "text_audio": text_audio_score(j["z"], self.class_text, labels),
            "correct": correct.astype(int).tolist(),
        }

    def sample(self, mode: str, guidance: float, steps: int, sampler: str, batch: int = 64) -> np.ndarray:
        """The log-mels of every query of ``mode`` (the same initial noise for every mode and call)."""
        g = torch.Generator().manual_seed(int(self.cfg.seed))
        cond = self.conditions(mode)
        return np.concatenate(
            [self.pipe.log_mels(cond[i : i + batch], sampler, steps, guidance, g) for i in range(0, len(cond), batch)]
        )

    def run(self, mode: str, guidance: float, steps: int, sampler: str, batch: int = 64) -> dict:
        """Generate every query of ``mode`` and measure it (with the sampling speed)."""
        t0 = time.perf_counter()
        mels = self.sample(mode, guidance, steps, sampler, batch)
        secs = time.perf_counter() - t0
        res = self.measure(mels, self.labels)
        audio_s = len(mels) * (int(self.mel["frames"]) - 1) * int(self.mel["hop_length"]) / int(self.mel["sample_rate"])
        res.update(n=len(mels), sampling_seconds=secs, audio_seconds_per_second=audio_s / secs)
        return res

    def reference(self) -> dict:
        """The real test audio itself (through the vocoder: an upper bound for generated audio)."""
        res = self.measure(self.test["mels"], self.test["labels"])
        res.pop("correct")
        res.update(n=len(self.test["mels"]))
        return res

    def modes(self, guidance: float) -> dict[str, dict]:
        """IQ, ZS and PD at one guidance scale, with their paired differences."""
        rows = {m: self.run(m, guidance, int(self.cfg.steps), self.cfg.sampler) for m in MODES}
        rows["differences"] = differences(rows)
        return rows


def table_text(rows: dict[str, dict], title: str) -> str:
    """The evaluation table as text (accuracy with interval, FAD, text-audio, n)."""
    lines = [title, f"{'query':<22}{'accuracy':>10}{'95% CI':>16}{'FAD':>10}{'text-audio':>12}{'n':>6}"]
    for name, r in rows.items():
        ci = r.get("accuracy_ci95")
        ci_text = f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
        lines.append(
            f"{name:<22}{r['accuracy']:>10.3f}{ci_text:>16}{r['fad']:>10.3f}{r['text_audio']:>12.2f}{r['n']:>6}"
        )
    return "\n".join(lines)


def differences(rows: dict[str, dict]) -> dict:
    """PD - ZS, IQ - ZS and IQ - PD accuracy (paired by query index), popping the per-query outcomes."""
    correct = {m: np.array(rows[m].pop("correct")) for m in MODES}
    return {
        f"{a} - {b}": paired_difference(correct[a], correct[b]) for a, b in (("PD", "ZS"), ("IQ", "ZS"), ("IQ", "PD"))
    }


def plot_sweep(sweep: dict, path: Path) -> Path:
    """Accuracy, FAD and text-audio score of each mode against the guidance scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gm_common.plots import save_figure

    scales = [float(s) for s in sweep]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, metric in zip(axes, ("accuracy", "fad", "text_audio")):
        for mode in MODES:
            ax.plot(scales, [sweep[s][mode][metric] for s in sweep], marker="o", label=mode)
        ax.set_xlabel("guidance scale")
        ax.set_title(metric)
    axes[0].legend()
    fig.tight_layout()
    return save_figure(fig, path, overwrite=True)


def guidance_sweep(ev: Evaluator, scales: list[float], measured: dict[str, dict]) -> dict:
    """The three modes at each guidance scale (``measured``: the main table's scale, not run again)."""
    sweep = {}
    for scale in map(float, scales):
        sweep[str(scale)] = measured if scale == float(ev.cfg.guidance) else ev.modes(scale)
        print(table_text({m: sweep[str(scale)][m] for m in MODES}, f"guidance {scale}"))
    return sweep


def run(cfg: DictConfig) -> dict:
    """Evaluate the three modes (and optionally a guidance sweep); writes ``out_dir/results.json``."""
    from gm_common.files import atomic_write_text, check_writable
    from gm_common.seed import seed_everything

    if cfg.list_models:
        return print_pretrained(Path(cfg.pretrained_root or PRETRAINED))
    out = Path(cfg.out_dir)
    check_writable(out / "results.json", cfg.overwrite)
    seed_everything(int(cfg.seed))
    ev = Evaluator(cfg)
    rows = {"real audio (vocoded)": ev.reference()}
    measured = ev.modes(float(cfg.guidance))
    rows.update({m: measured[m] for m in MODES})
    rows["chance"] = {"accuracy": 1 / len(ev.names), "fad": float("nan"), "text_audio": float("nan"), "n": 0}
    print(
        table_text(
            rows,
            f"clipsonic evaluation ({cfg.sampler}, {cfg.steps} steps, guidance {cfg.guidance}, "
            f"{cfg.per_class} per class, vocoder {cfg.vocoder})",
        )
    )
    for name, d in measured["differences"].items():
        print(
            f"{name:<10} accuracy {d['difference']:+.3f}  "
            f"95% CI [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]  (n {d['n']}, paired)"
        )
    gaps = ev.gaps()
    for name, gp in gaps.items():
        print(f"gap {name:<20} " + "  ".join(f"{k} {v:.3f}" for k, v in gp.items() if k != "n"))
    plain = OmegaConf.to_container(cfg, resolve=True)
    k = int(cfg.per_class)
    result = {
        "settings": {
            key: plain[key]
            for key in (
                "models",
                "guidance",
                "steps",
                "sampler",
                "per_class",
                "diffusion_ckpt",
                "prior_ckpt",
                "prior_candidates",
                "vocoder",
            )
        },
        "classes": ev.names,
        "example_queries": {n: ev.queries[i * k : (i + 1) * k][:3] for i, n in enumerate(ev.names)},
        "table": rows,
        "differences": measured["differences"],
        "modality_gap": gaps,
        "judge_training_seconds": ev.judge_seconds,
    }
    if cfg.sweep:
        result["guidance_sweep"] = guidance_sweep(ev, list(cfg.sweep), measured)
        print(f"sweep plot: {plot_sweep(result['guidance_sweep'], out / 'guidance_sweep.png')}")
    atomic_write_text(out / "results.json", json.dumps(result, indent=1))
    print(f"results: {out / 'results.json'}")
    return result


main = entry_point("clipsonic", "evaluate")(run)

if __name__ == "__main__":
    main()
