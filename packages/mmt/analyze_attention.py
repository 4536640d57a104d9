"""The paper's self-attention analysis: ``python -m mmt.analyze_attention checkpoint=RUN``.

For test pieces (the checkpoint's data, first ``max_seq_len`` events), the attention of every note row to
every earlier note row, averaged over heads and layers, is compared with uniform attention over the
visible rows: gain = attention x (number of visible rows). The mean gain (1 = no preference) is reported
by beat distance (query beat - key beat) and by pitch interval (|query pitch - key pitch|, semitones),
as JSON and as a two-panel PNG.
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from gm_common.corpus import split_811  # noqa: E402
from gm_common.errors import ConfigError  # noqa: E402
from gm_common.files import atomic_path, atomic_write_text, check_writable  # noqa: E402
from gm_common.cli import clear_errors  # noqa: E402
from mmt.data import encoded_dataset, make_sample  # noqa: E402
from mmt.generate import resolve_checkpoint  # noqa: E402
from mmt.model import MMTTransformer, load_model  # noqa: E402
from mmt.representation import F_BEAT, F_PITCH, F_TYPE, TYPE_NOTE  # noqa: E402


def attention_gains(net: MMTTransformer, sequences: list[np.ndarray], max_beat_distance: int = 16, max_interval: int = 24):
    """Sums and counts of attention gain per beat distance and per pitch interval over ``sequences``."""
    beat_sum, beat_n = np.zeros(max_beat_distance + 1), np.zeros(max_beat_distance + 1)
    pitch_sum, pitch_n = np.zeros(max_interval + 1), np.zeros(max_interval + 1)
    for seq in sequences:
        x = torch.as_tensor(seq[: net.max_seq_len], dtype=torch.long).unsqueeze(0)
        maps = net.attention_maps(x)
        att = torch.stack(maps).mean(dim=(0, 2))[0].numpy()  # (T, T), mean over layers and heads
        t = att.shape[0]
        gain = att * np.arange(1, t + 1)[:, None]  # ratio to uniform over the i + 1 visible rows
        codes = x[0].numpy()
        notes = np.nonzero(codes[:, F_TYPE] == TYPE_NOTE)[0]
        if len(notes) < 2:
            continue
        qi, kj = np.meshgrid(notes, notes, indexing="ij")
        keep = kj < qi
        qi, kj = qi[keep], kj[keep]
        g = gain[qi, kj]
        dbeat = codes[qi, F_BEAT] - codes[kj, F_BEAT]
        dpitch = np.abs(codes[qi, F_PITCH] - codes[kj, F_PITCH])
        sel = dbeat <= max_beat_distance
        np.add.at(beat_sum, dbeat[sel], g[sel])
        np.add.at(beat_n, dbeat[sel], 1)
        sel = dpitch <= max_interval
        np.add.at(pitch_sum, dpitch[sel], g[sel])
        np.add.at(pitch_n, dpitch[sel], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return beat_sum / beat_n, beat_n, pitch_sum / pitch_n, pitch_n


def plot(beat_gain: np.ndarray, pitch_gain: np.ndarray, path: Path, overwrite: bool = False) -> Path:
    check_writable(path, overwrite)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    axes[0].bar(np.arange(len(beat_gain)), beat_gain, color="tab:blue")
    axes[0].set_xlabel("beat distance (query - key)")
    axes[1].bar(np.arange(len(pitch_gain)), pitch_gain, color="tab:orange")
    axes[1].set_xlabel("pitch interval (semitones)")
    for ax in axes:
        ax.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
        ax.set_ylabel("mean relative attention gain")
    fig.suptitle("MMT self-attention between notes (1 = uniform attention)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def run(cfg: DictConfig) -> dict:
    out_dir = Path(cfg.out_dir)
    png, js = out_dir / "attention.png", out_dir / "attention.json"
    for p in (png, js):
        check_writable(p, bool(cfg.overwrite))
    net, encoding, hp = load_model(resolve_checkpoint(cfg.checkpoint))
    data = dict(hp.get("data") or {})
    if not data:
        raise ConfigError("the checkpoint records no data source to analyse")
    source = {"collections": list(data.get("collections") or []), "folder": data.get("folder"), "limit": data.get("limit")}
    pieces = encoded_dataset(source, encoding, data.get("cache_dir"), int(data.get("min_notes", 50)))
    names = split_811(list(pieces), int(data.get("seed", 0)))[cfg.split][: int(cfg.n_pieces)]
    seqs = [make_sample(pieces[n], encoding.max_beat, net.max_seq_len, None) for n in names]
    beat_gain, beat_n, pitch_gain, pitch_n = attention_gains(net, seqs, int(cfg.max_beat_distance), int(cfg.max_interval))
    result = {
        "checkpoint": str(cfg.checkpoint), "split": cfg.split, "n_pieces": len(seqs),
        "beat_distance": {"gain": [None if np.isnan(v) else float(v) for v in beat_gain], "pairs": beat_n.astype(int).tolist()},
        "pitch_interval": {"gain": [None if np.isnan(v) else float(v) for v in pitch_gain], "pairs": pitch_n.astype(int).tolist()},
    }  # fmt: skip
    plot(np.nan_to_num(beat_gain), np.nan_to_num(pitch_gain), png, bool(cfg.overwrite))
    atomic_write_text(js, json.dumps(result, indent=1))
    print("beat distance  " + " ".join(f"{d}:{g:.2f}" for d, g in enumerate(beat_gain) if np.isfinite(g)))
    print("pitch interval " + " ".join(f"{d}:{g:.2f}" for d, g in enumerate(pitch_gain) if np.isfinite(g)))
    print(f"-> {png}\n-> {js}")
    return result


@hydra.main(config_path="../../configs/mmt", config_name="analyze_attention", version_base="1.3")
def main(cfg: DictConfig) -> None:
    clear_errors(run)(cfg)


if __name__ == "__main__":
    main()
