"""The paper's self-attention analysis: ``python -m mmt.analyze_attention checkpoint=RUN``.

For test pieces (the checkpoint's data, first ``max_seq_len`` events), the attention of every note row to
every earlier note row, averaged over heads and layers, is compared with uniform attention over the
visible rows: gain = attention x (number of visible rows). The mean gain (1 = no preference) is reported
by beat distance (query beat - key beat) and by pitch interval (|query pitch - key pitch|, semitones),
as JSON and as a two-panel PNG, with the paper's findings as numbers (:func:`findings`): gain above 1 at the
fifth and the octave (consonant above dissonant intervals) and at recent beats.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from omegaconf import DictConfig

from gm_common.cli import entry_point
from gm_common.errors import ConfigError
from gm_common.files import atomic_write_text, check_writable
from gm_common.plots import save_figure
from mmt.data import make_sample, recorded_split
from mmt.model import MMTTransformer
from mmt.pipeline import MMT
from mmt.representation import F_BEAT, F_PITCH, F_TYPE, TYPE_NOTE


def attention_gains(
    net: MMTTransformer, sequences: list[np.ndarray], max_beat_distance: int = 16, max_interval: int = 24
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean attention gain and number of note pairs per beat distance, then the same per pitch interval."""
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


CONSONANT = (0, 3, 4, 5, 7, 8, 9, 12)  # unison, thirds, fourth, fifth, sixths, octave (semitones)
DISSONANT = (1, 2, 6, 10, 11)  # seconds, tritone, sevenths
RECENT_BEATS = (0, 1, 2, 3)


def findings(beat_gain: np.ndarray, pitch_gain: np.ndarray) -> dict:
    """The paper's two observations as numbers: the gain at the fifth and the octave (above 1?), consonant
    against dissonant intervals, and the most recent beats (above 1?) against the farthest four."""

    def mean(gains: np.ndarray, idx) -> float:
        return float(np.nanmean([gains[i] for i in idx if i < len(gains)]))

    result = {
        "fifth": float(pitch_gain[7]), "octave": float(pitch_gain[12]),
        "consonant_mean": mean(pitch_gain, CONSONANT), "dissonant_mean": mean(pitch_gain, DISSONANT),
        "recent_beats_mean": mean(beat_gain, RECENT_BEATS),
        "far_beats_mean": mean(beat_gain, range(len(beat_gain) - 4, len(beat_gain))),
    }  # fmt: skip
    result["fifth_and_octave_above_1"] = bool(result["fifth"] > 1 and result["octave"] > 1)
    result["consonant_above_dissonant"] = bool(result["consonant_mean"] > result["dissonant_mean"])
    result["recent_beats_above_1"] = bool(result["recent_beats_mean"] > 1)
    return result


def plot(beat_gain: np.ndarray, pitch_gain: np.ndarray, path: Path, overwrite: bool = False) -> Path:
    """The two gain profiles as bar charts side by side, in one PNG."""
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
    return save_figure(fig, path, overwrite)


def _plain(gains: np.ndarray) -> list[float | None]:
    """Gains as JSON values (None where no pair was seen)."""
    return [None if np.isnan(v) else float(v) for v in gains]


def run(cfg: DictConfig) -> dict:
    """Analyse the attention of a checkpoint on its data's pieces; writes the PNG and JSON and returns the result."""
    out_dir = Path(cfg.out_dir)
    png, js = out_dir / "attention.png", out_dir / "attention.json"
    for p in (png, js):
        check_writable(p, bool(cfg.overwrite))
    mmt = MMT.from_pretrained(cfg.checkpoint)
    net, encoding = mmt.net, mmt.encoding
    if not mmt.hyper_parameters.get("data"):
        raise ConfigError("the checkpoint records no data source to analyse")
    split = recorded_split(mmt.hyper_parameters["data"], encoding, cfg.split, mmt.source, int(cfg.n_pieces))
    pieces = list(split.values())
    seqs = [make_sample(notes, encoding.max_beat, net.max_seq_len, None) for notes in pieces]
    beat_gain, beat_n, pitch_gain, pitch_n = attention_gains(
        net, seqs, int(cfg.max_beat_distance), int(cfg.max_interval)
    )
    result = {
        "checkpoint": str(cfg.checkpoint), "split": cfg.split, "n_pieces": len(seqs),
        "beat_distance": {"gain": _plain(beat_gain), "pairs": beat_n.astype(int).tolist()},
        "pitch_interval": {"gain": _plain(pitch_gain), "pairs": pitch_n.astype(int).tolist()},
        "findings": findings(beat_gain, pitch_gain),
    }  # fmt: skip
    plot(np.nan_to_num(beat_gain), np.nan_to_num(pitch_gain), png, bool(cfg.overwrite))
    atomic_write_text(js, json.dumps(result, indent=1))
    print("beat distance  " + " ".join(f"{d}:{g:.2f}" for d, g in enumerate(beat_gain) if np.isfinite(g)))
    print("pitch interval " + " ".join(f"{d}:{g:.2f}" for d, g in enumerate(pitch_gain) if np.isfinite(g)))
    f = result["findings"]
    print(f"fifth {f['fifth']:.2f}, octave {f['octave']:.2f}; consonant {f['consonant_mean']:.2f} vs dissonant "
          f"{f['dissonant_mean']:.2f}; beats 0-3 {f['recent_beats_mean']:.2f} vs the farthest four "
          f"{f['far_beats_mean']:.2f}")  # fmt: skip
    print(f"-> {png}\n-> {js}")
    return result


main = entry_point("mmt", "analyze_attention")(run)

if __name__ == "__main__":
    main()
