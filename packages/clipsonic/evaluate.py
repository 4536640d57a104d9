"""Evaluate IQ / ZS / PD generation on a labelled set's test split (the synthetic set by default).

    python -m clipsonic.evaluate [per_class=16] [guidance=3] [steps=25] [sampler=ddim] [sweep=[1,2,3,5]] [vocoder=/path.ckpt]

Queries (``per_class`` of each per class and mode): IQ uses frames of held-out test videos; ZS and PD use
``per_class`` distinct text queries per class in phrasings that training never saw
(:func:`clipsonic.data.synthesize.query_captions`; ``a <class name>`` for other data sets). ZS and PD get the
same queries and the same noise, so their difference is paired.

Metrics (one table, printed and written to ``out_dir/results.json``):
- accuracy (with n and a 95% Wilson interval): an audio classifier trained on the set's real audio judges the
  class of the generated audio; PD - ZS and IQ - PD are given with a 95% interval too;
- FAD: Frechet distance between the classifier's features of generated and of real test audio;
- text-audio: 100 x cosine between the classifier's CLIP-space projection of the audio and the CLIP text
  embedding of the query's class (a CLAP-style score; CLAP itself cannot be downloaded here).
- modality gap: how far the ZS conditions (text embeddings) and the PD conditions (prior samples) are from
  the image embeddings of their class (:mod:`clipsonic.gap`), and the gap of CLIP on its caption pairs.
Labels are used here only, never in training the audio model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from gm_common.errors import ConfigError, InputFileError

from clipsonic._cli import cli, compose


def class_names(data_cfg: DictConfig, labels: np.ndarray) -> list[str]:
    """Class names from the labels CSV (column class_name), else ``class <k>``."""
    from clipsonic.data.dataset import read_labels

    rows = read_labels(data_cfg.labels_csv).values()
    names = {int(r["label"]): str(r["class_name"]) for r in rows if "class_name" in r}
    return [names.get(k, f"class {k}") for k in range(int(labels.max()) + 1)]


def vocode_and_measure(log_mels: np.ndarray, mel: dict, vocoder: str = "griffinlim") -> np.ndarray:
    """Generated log-mels -> audio (Griffin-Lim or a neural vocoder) -> log-mels again (what a listener hears)."""
    from clipsonic.data.dataset import audio_to_mel
    from clipsonic.vocoder import vocode_batch

    return np.stack([audio_to_mel(a, mel) for a in vocode_batch(log_mels, mel, vocoder)])


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """95% Wilson score interval of a proportion k / n."""
    if n == 0:
        return [float("nan"), float("nan")]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(centre - half), float(centre + half)]


def paired_difference(a: np.ndarray, b: np.ndarray, z: float = 1.96) -> dict:
    """Mean of a - b over paired 0/1 outcomes, with a normal-approximation 95% interval."""
    d = np.asarray(a, float) - np.asarray(b, float)
    half = z * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return {"difference": float(d.mean()), "ci95": [float(d.mean() - half), float(d.mean() + half)], "n": int(len(d))}


def text_queries(names: list[str], per_class: int, seed: int) -> list[list[str]]:
    """``per_class`` text queries per class: held-out paraphrases for the synthetic concepts, else ``a <name>``."""
    from clipsonic.data.synthesize import CLASS_NAMES, query_captions

    return [query_captions(CLASS_NAMES.index(n), per_class, seed) if n in CLASS_NAMES else [f"a {n}"] * per_class for n in names]


class Evaluator:
    """Holds the models, the queries of each mode and the judge; :meth:`run` measures one setting."""

    def __init__(self, cfg: DictConfig, log=print):
        from clipsonic.clip import load_clip
        from clipsonic.data.dataset import _file_key, build_cache, load_split
        from clipsonic.diffusion import load_diffusion
        from clipsonic.metrics import load_judge, save_judge, train_judge
        from clipsonic.prior import load_prior

        self.cfg, self.log = cfg, log
        if not cfg.data.labels_csv:
            raise ConfigError("evaluation needs labels (data.labels_csv) for the test split")
        self.clip = load_clip(cfg.clip)
        self.model = load_diffusion(cfg.diffusion_ckpt, expect_cond_dim=self.clip.embed_dim)
        self.prior = load_prior(cfg.prior_ckpt, expect_dim=self.clip.embed_dim)
        self.mel = self.model.hparams.mel
        if OmegaConf.to_container(cfg.data.mel, resolve=True) != dict(self.mel):
            raise ConfigError(f"data.mel {dict(cfg.data.mel)} differs from the model's mel settings {dict(self.mel)}")
        folder = build_cache(cfg.data, self.clip, _file_key(Path(cfg.clip.checkpoint)), log=log)
        self.train, self.test = load_split(folder, "train"), load_split(folder, "test")
        if self.test is None or self.train is None:
            raise InputFileError(Path(cfg.data.labels_csv), "labels CSV defines no train or no test split")
        valid = load_split(folder, "valid")
        self.names = class_names(cfg.data, self.train["labels"])
        self.prompts = [f"a {n}" for n in self.names]
        self.class_text = self.clip.embed_texts(self.prompts)
        key = f"{folder.name}:{cfg.judge_steps}"
        out = Path(cfg.out_dir)
        judge = load_judge(out / "judge.pt", key)
        self.judge_seconds: float | None = None  # None: loaded from out_dir/judge.pt
        if judge is None:
            log("training the audio classifier (judge) on real audio ...")
            t0 = time.perf_counter()
            judge = train_judge(self.train["mels"], self.train["labels"], self.class_text, int(cfg.judge_steps), int(cfg.seed), log)
            self.judge_seconds = time.perf_counter() - t0
            save_judge(judge, out / "judge.pt", key)
        self.judge = judge
        # reference: real test (+valid) audio
        ref = [self.test] + ([valid] if valid is not None else [])
        self.ref_mels = np.concatenate([r["mels"] for r in ref])
        from clipsonic.metrics import judge_audio

        self.ref_feat = judge_audio(judge, self.ref_mels)["feat"]
        # queries: per class, IQ uses frames of held-out test videos (distinct videos first, then other frames);
        # ZS/PD held-out text paraphrases
        rng = np.random.default_rng(int(cfg.seed))
        k = int(cfg.per_class)
        self.labels = np.repeat(np.arange(len(self.names)), k)
        n_frames = self.test["embs"].shape[1]
        iq = []
        for c in range(len(self.names)):
            rows = np.flatnonzero(self.test["labels"] == c)
            if rows.size == 0:
                raise InputFileError(Path(cfg.data.labels_csv), f"no test video of class {self.names[c]!r}")
            rows = rows[rng.permutation(rows.size)]
            pairs = [(r, (n_frames // 2 + j) % n_frames) for j in range(n_frames) for r in rows]
            iq += [pairs[i % len(pairs)] for i in range(k)]
        self.iq_rows = np.array(iq)
        self.queries = [q for qs in text_queries(self.names, k, int(cfg.seed)) for q in qs]
        self.query_text = self.clip.embed_texts(self.queries)
        self._pd: torch.Tensor | None = None

    def conditions(self, mode: str, generator: torch.Generator) -> torch.Tensor:
        """The CLIP conditions of a mode's queries (PD: sampled once, with its own seed, and kept)."""
        if mode == "iq":
            return torch.from_numpy(self.test["embs"][self.iq_rows[:, 0], self.iq_rows[:, 1]]).float()
        text = torch.from_numpy(self.query_text).float()
        if mode == "zs":
            return text
        if self._pd is None:  # one prior sample per query, reused across guidance scales
            self._pd = self.prior.sample(text, generator=torch.Generator().manual_seed(int(self.cfg.seed) + 1))
        return self._pd

    def gaps(self) -> dict:
        """Modality gap: ZS conditions (text) and PD conditions (prior samples) against the image embeddings
        of the test videos (all frames), and CLIP's gap on its own caption pairs."""
        from clipsonic.gap import gap_to_images, modality_gap
        from clipsonic.prior import caption_embeddings
        from clipsonic.data.dataset import _file_key

        images = self.test["embs"].reshape(-1, self.test["embs"].shape[-1])
        image_labels = np.repeat(self.test["labels"], self.test["embs"].shape[1])
        g = torch.Generator()
        out = {
            "IQ (test frames)": gap_to_images(self.conditions("iq", g).numpy(), self.labels, images, image_labels),
            "ZS (text queries)": gap_to_images(self.query_text, self.labels, images, image_labels),
            "PD (prior samples)": gap_to_images(self.conditions("pd", g).numpy(), self.labels, images, image_labels),
        }
        if self.cfg.data.get("captions_csv") and Path(self.cfg.data.captions_csv).is_file():
            text, image, labels = caption_embeddings(self.cfg.data.captions_csv, self.clip, _file_key(Path(self.cfg.clip.checkpoint)), self.cfg.data.cache_dir)
            out["CLIP caption pairs"] = modality_gap(text, image, labels if (labels >= 0).all() else None)
        return out

    def measure(self, log_mels: np.ndarray, labels: np.ndarray, vocoded: bool = True) -> dict:
        from clipsonic.metrics import frechet_distance, judge_audio

        mels = vocode_and_measure(log_mels, self.mel, str(self.cfg.get("vocoder", "griffinlim"))) if vocoded else log_mels
        j = judge_audio(self.judge, mels)
        correct = j["pred"] == labels
        return {
            "accuracy": float(correct.mean()),
            "accuracy_ci95": wilson(int(correct.sum()), len(correct)),
            "fad": frechet_distance(j["feat"], self.ref_feat),
            "text_audio": float(100 * (j["z"] * self.class_text[labels]).sum(1).mean()),
            "correct": correct.astype(int).tolist(),
        }

    def run(self, mode: str, guidance: float, steps: int, sampler: str, batch: int = 64) -> dict:
        g = torch.Generator().manual_seed(int(self.cfg.seed))
        cond = self.conditions(mode, g)
        t0 = time.perf_counter()
        mels = np.concatenate([self.model.to_log_mel(self.model.sample(cond[i : i + batch], sampler, steps, guidance, g)).numpy() for i in range(0, len(cond), batch)])
        secs = time.perf_counter() - t0
        res = self.measure(mels, self.labels)
        audio_s = len(mels) * (int(self.mel["frames"]) - 1) * int(self.mel["hop_length"]) / int(self.mel["sample_rate"])
        res.update(n=len(mels), sampling_seconds=secs, audio_seconds_per_second=audio_s / secs)
        return res

    def reference(self) -> dict:
        """The real test audio itself (through the vocoder: an upper bound for generated audio)."""
        mels = self.test["mels"]
        res = self.measure(mels, self.test["labels"])
        res.update(n=len(mels))
        return res


def print_table(rows: dict[str, dict], title: str) -> str:
    lines = [title, f"{'query':<22}{'accuracy':>10}{'95% CI':>16}{'FAD':>10}{'text-audio':>12}{'n':>6}"]
    for name, r in rows.items():
        ci = r.get("accuracy_ci95")
        ci_text = f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
        lines.append(f"{name:<22}{r['accuracy']:>10.3f}{ci_text:>16}{r['fad']:>10.3f}{r['text_audio']:>12.2f}{r.get('n', 0):>6}")
    text = "\n".join(lines)
    print(text)
    return text


def differences(rows: dict[str, dict]) -> dict:
    """PD - ZS, IQ - ZS and IQ - PD accuracy (paired by query index), popping the per-query outcomes."""
    correct = {m: np.array(rows[m].pop("correct")) for m in ("IQ", "ZS", "PD") if "correct" in rows.get(m, {})}
    return {f"{a} - {b}": paired_difference(correct[a], correct[b]) for a, b in (("PD", "ZS"), ("IQ", "ZS"), ("IQ", "PD")) if a in correct and b in correct}


@cli
def run(cfg: DictConfig) -> dict:
    from gm_common.files import atomic_write_text, check_writable
    from gm_common.seed import seed_everything

    from clipsonic.vocoder import check_vocoder

    out = Path(cfg.out_dir)
    check_writable(out / "results.json", cfg.overwrite)
    seed_everything(int(cfg.seed))
    check_vocoder(str(cfg.vocoder))  # a missing / foreign checkpoint fails before any work
    ev = Evaluator(cfg)
    check_vocoder(str(cfg.vocoder), dict(ev.mel))  # its mel settings must be the diffusion model's
    rows = {"real audio (vocoded)": ev.reference()}
    rows["real audio (vocoded)"].pop("correct")
    for mode in ("iq", "zs", "pd"):
        rows[mode.upper()] = ev.run(mode, float(cfg.guidance), int(cfg.steps), cfg.sampler)
    rows["chance"] = {"accuracy": 1 / len(ev.names), "fad": float("nan"), "text_audio": float("nan"), "n": 0}
    diffs = differences(rows)
    print_table(rows, f"clipsonic evaluation ({cfg.sampler}, {cfg.steps} steps, guidance {cfg.guidance}, {cfg.per_class} per class, vocoder {cfg.vocoder})")
    for name, d in diffs.items():
        print(f"{name:<10} accuracy {d['difference']:+.3f}  95% CI [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]  (n {d['n']}, paired)")
    gaps = ev.gaps()
    for name, gp in gaps.items():
        print(f"gap {name:<20} " + "  ".join(f"{k} {v:.3f}" for k, v in gp.items() if k != "n"))
    keys = ("guidance", "steps", "sampler", "per_class", "diffusion_ckpt", "prior_ckpt", "vocoder")
    result = {"settings": {k: OmegaConf.to_container(cfg, resolve=True).get(k) for k in keys},
              "classes": ev.names, "example_queries": {n: ev.queries[i * int(cfg.per_class):(i + 1) * int(cfg.per_class)][:3] for i, n in enumerate(ev.names)},
              "table": rows, "differences": diffs, "modality_gap": gaps,
              "judge_training_seconds": ev.judge_seconds}
    if cfg.sweep:
        sweep = {}
        for gs in cfg.sweep:
            if float(gs) == float(cfg.guidance):  # already measured for the main table
                sweep[str(float(gs))] = {m: rows[m] for m in ("IQ", "ZS", "PD")}
                continue
            sweep[str(float(gs))] = {m.upper(): ev.run(m, float(gs), int(cfg.steps), cfg.sampler) for m in ("iq", "zs", "pd")}
            sweep[str(float(gs))]["differences"] = differences(sweep[str(float(gs))])
            print_table({m: sweep[str(float(gs))][m] for m in ("IQ", "ZS", "PD")}, f"guidance {gs}")
        result["guidance_sweep"] = sweep
        plot_sweep(sweep, out / "guidance_sweep.png")
        print(f"sweep plot: {out / 'guidance_sweep.png'}")
    atomic_write_text(out / "results.json", json.dumps(result, indent=1))
    print(f"results: {out / 'results.json'}")
    return result


def plot_sweep(sweep: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gm_common.files import atomic_path

    scales = [float(s) for s in sweep]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, metric in zip(axes, ("accuracy", "fad", "text_audio")):
        for mode in ("IQ", "ZS", "PD"):
            ax.plot(scales, [sweep[s][mode][metric] for s in sweep], marker="o", label=mode)
        ax.set_xlabel("guidance scale")
        ax.set_title(metric)
    axes[0].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    cli(lambda: run(compose("evaluate", argv)))()


if __name__ == "__main__":
    main()
