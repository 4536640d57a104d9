"""Evaluate IQ / ZS / PD generation on a labelled set's test split (the synthetic set by default).

    python -m clipsonic.evaluate [per_class=8] [guidance=3] [steps=25] [sampler=ddim] [sweep=[1,2,3,5]]

Metrics (one table, printed and written to ``out_dir/results.json``):
- accuracy: an audio classifier trained on the set's real audio judges the class of the generated audio;
- FAD: Frechet distance between the classifier's features of generated and of real test audio;
- text-audio: 100 x cosine between the classifier's CLIP-space projection of the audio and the CLIP text
  embedding of the query's class (a CLAP-style score; CLAP itself cannot be downloaded here).
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


def vocode_and_measure(log_mels: np.ndarray, mel: dict) -> np.ndarray:
    """Generated log-mels -> Griffin-Lim audio -> log-mels again (what a listener's audio would give)."""
    from clipsonic.data.dataset import audio_to_mel
    from clipsonic.vocoder import vocode

    return np.stack([audio_to_mel(vocode(m, mel), mel) for m in log_mels])


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
        if judge is None:
            log("training the audio classifier (judge) on real audio ...")
            judge = train_judge(self.train["mels"], self.train["labels"], self.class_text, int(cfg.judge_steps), int(cfg.seed), log)
            save_judge(judge, out / "judge.pt", key)
        self.judge = judge
        # reference: real test (+valid) audio
        ref = [self.test] + ([valid] if valid is not None else [])
        self.ref_mels = np.concatenate([r["mels"] for r in ref])
        from clipsonic.metrics import judge_audio

        self.ref_feat = judge_audio(judge, self.ref_mels)["feat"]
        # queries: per class, IQ uses held-out test videos' middle frames; ZS/PD the class prompt
        rng = np.random.default_rng(int(cfg.seed))
        k = int(cfg.per_class)
        self.labels = np.repeat(np.arange(len(self.names)), k)
        iq = []
        for c in range(len(self.names)):
            rows = np.flatnonzero(self.test["labels"] == c)
            if rows.size == 0:
                raise InputFileError(Path(cfg.data.labels_csv), f"no test video of class {self.names[c]!r}")
            iq.append(rows[rng.permutation(rows.size)[:k]] if rows.size >= k else np.resize(rows, k))
        self.iq_rows = np.concatenate(iq)

    def conditions(self, mode: str, generator: torch.Generator) -> torch.Tensor:
        if mode == "iq":
            e = self.test["embs"][self.iq_rows]
            return torch.from_numpy(e[:, e.shape[1] // 2]).float()
        text = torch.from_numpy(self.class_text[self.labels]).float()
        return text if mode == "zs" else self.prior.sample(text, generator=generator)

    def measure(self, log_mels: np.ndarray, labels: np.ndarray, vocoded: bool = True) -> dict:
        from clipsonic.metrics import frechet_distance, judge_audio

        mels = vocode_and_measure(log_mels, self.mel) if vocoded else log_mels
        j = judge_audio(self.judge, mels)
        return {
            "accuracy": float((j["pred"] == labels).mean()),
            "fad": frechet_distance(j["feat"], self.ref_feat),
            "text_audio": float(100 * (j["z"] * self.class_text[labels]).sum(1).mean()),
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
    lines = [title, f"{'query':<22}{'accuracy':>10}{'FAD':>10}{'text-audio':>12}{'n':>6}"]
    for name, r in rows.items():
        lines.append(f"{name:<22}{r['accuracy']:>10.3f}{r['fad']:>10.3f}{r['text_audio']:>12.2f}{r.get('n', 0):>6}")
    text = "\n".join(lines)
    print(text)
    return text


@cli
def run(cfg: DictConfig) -> dict:
    from gm_common.files import atomic_write_text, check_writable
    from gm_common.seed import seed_everything

    out = Path(cfg.out_dir)
    check_writable(out / "results.json", cfg.overwrite)
    seed_everything(int(cfg.seed))
    ev = Evaluator(cfg)
    rows = {"real audio (vocoded)": ev.reference()}
    for mode in ("iq", "zs", "pd"):
        rows[mode.upper()] = ev.run(mode, float(cfg.guidance), int(cfg.steps), cfg.sampler)
    rows["chance"] = {"accuracy": 1 / len(ev.names), "fad": float("nan"), "text_audio": float("nan"), "n": 0}
    print_table(rows, f"clipsonic evaluation ({cfg.sampler}, {cfg.steps} steps, guidance {cfg.guidance}, {cfg.per_class} per class)")
    result = {"settings": {k: OmegaConf.to_container(cfg, resolve=True)[k] for k in ("guidance", "steps", "sampler", "per_class", "diffusion_ckpt", "prior_ckpt")},
              "classes": ev.names, "table": rows}
    if cfg.sweep:
        sweep = {}
        for gs in cfg.sweep:
            if float(gs) == float(cfg.guidance):  # already measured for the main table
                sweep[str(float(gs))] = {m: rows[m] for m in ("IQ", "ZS", "PD")}
                continue
            sweep[str(float(gs))] = {m.upper(): ev.run(m, float(gs), int(cfg.steps), cfg.sampler) for m in ("iq", "zs", "pd")}
            print_table(sweep[str(float(gs))], f"guidance {gs}")
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
