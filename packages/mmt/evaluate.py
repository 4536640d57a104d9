"""Objective evaluation as the paper's Table 3: ``python -m mmt.evaluate [checkpoint=NAME|RUN] [n_samples=50]``.

Unconditioned samples (generated here with the checkpoint, or read from ``samples_dir``) and the ground
truth (the test split of the data the checkpoint was trained on, or ``truth_dir``) are cut to their first
``max_beats`` beats and scored with MusPy: pitch-class entropy, scale consistency and groove consistency
(measure = 4 beats). Also: length in seconds and notes per second (uncut, at ``tempo_qpm``). Reported as
mean and 95 % interval (1.96 standard errors); JSON to ``out`` and a printed table.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import muspy
import numpy as np
import torch
from omegaconf import DictConfig

from gm_common.cli import entry_point
from gm_common.corpus import list_music_files
from gm_common.device import resolve_device
from gm_common.errors import ConfigError, InputFileError
from gm_common.files import atomic_write_text, check_writable
from gm_common.notes import read_music
from gm_common.pretrained import print_pretrained
from mmt.data import recorded_split
from mmt.model import sequence_loss
from mmt.pipeline import MMT, PRETRAINED, prompt_notes, unconditional_prompt
from mmt.representation import Encoding, codes_from_notes, decode
from mmt.sampling import SamplingConfig

log = logging.getLogger(__name__)
METRICS = ("pitch_class_entropy", "scale_consistency", "groove_consistency", "length_s", "notes_per_s", "tracks")


def cut(music: muspy.Music, beats: int) -> muspy.Music:
    """A copy holding only the notes that start in the first ``beats`` beats."""
    out = music.deepcopy()
    limit = beats * music.resolution
    for track in out.tracks:
        track.notes = [n for n in track.notes if n.time < limit]
    out.tracks = [t for t in out.tracks if t.notes]
    return out


def score(music: muspy.Music, max_beats: int = 64, tempo_qpm: float = 100.0) -> dict[str, float]:
    """The metrics of one piece (NaN where a metric is undefined, e.g. no notes)."""
    n_notes = sum(len(t.notes) for t in music.tracks)
    end = max((n.time + n.duration for t in music.tracks for n in t.notes), default=0)
    length = end / music.resolution * 60.0 / tempo_qpm
    c = cut(music, max_beats)
    nan = float("nan")
    has = any(t.notes for t in c.tracks)
    res = {
        "pitch_class_entropy": float(muspy.pitch_class_entropy(c)) if has else nan,
        "scale_consistency": 100.0 * float(muspy.scale_consistency(c)) if has else nan,
        "groove_consistency": 100.0 * float(muspy.groove_consistency(c, 4 * music.resolution)) if has else nan,
        "length_s": length,
        "notes_per_s": n_notes / length if length > 0 else nan,
        "tracks": float(sum(1 for t in music.tracks if t.notes)),
    }
    return res


def piece_loss(mmt: MMT, score: str | Path, rows: int = 256) -> float:
    """Teacher-forced loss (the six fields' cross-entropies summed) of a model on the first ``rows`` events of a
    score read as a prompt is (a deterministic figure of a shipped model's card)."""
    codes = torch.as_tensor(codes_from_notes(prompt_notes(score, mmt.encoding)))[None, :rows].to(mmt.device)
    with torch.no_grad():
        return float(sequence_loss(mmt.net, codes[:, :-1], codes[:, 1:])[0])


def summarise(scores: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and 95 % interval half-width (1.96 standard errors) of each metric over pieces."""
    out = {}
    for m in METRICS:
        v = np.array([s[m] for s in scores], dtype=float)
        v = v[np.isfinite(v)]
        n = len(v)
        mean = float(v.mean()) if n else float("nan")
        ci = float(1.96 * v.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
        out[m] = {"mean": mean, "ci95": ci, "n": n}
    return out


def truth_pieces(cfg: DictConfig, hp: dict | None, encoding: Encoding) -> list[muspy.Music]:
    """Ground truth: MIDI/MusicXML files of ``truth_dir``, else the test split of the checkpoint's data
    (as the model sees it: encoded and decoded)."""
    if cfg.truth_dir:
        return [read_music(p, resolution=encoding.resolution) for p in list_music_files(cfg.truth_dir)]
    if not hp or not hp.get("data"):
        raise ConfigError("no ground truth: give truth_dir=<folder> (the checkpoint records no data source)")
    return [
        decode(codes_from_notes(notes), encoding) for notes in recorded_split(hp["data"], encoding, "test").values()
    ]


def read_samples(folder: str | Path, resolution: int) -> list[muspy.Music]:
    """The MIDI files of a folder (else every music file) as music; an unreadable sample scores as empty."""
    files = list_music_files(folder)
    files = [f for f in files if f.suffix.lower() in (".mid", ".midi")] or files
    if not files:
        raise InputFileError(Path(folder), "no MIDI files to evaluate")
    samples = []
    for f in files:
        try:
            samples.append(read_music(f, resolution=resolution))
        except InputFileError as err:  # a generated sample may be empty: it scores as such
            log.warning("%s", err)
            samples.append(muspy.Music(resolution=resolution))
    return samples


def run(cfg: DictConfig) -> dict:
    """Score generated (or given) samples against the ground truth; writes the JSON and returns it."""
    if cfg.list_models:
        print_pretrained(PRETRAINED)
        return {}
    if cfg.torch_threads:
        torch.set_num_threads(int(cfg.torch_threads))
    out = check_writable(cfg.out, bool(cfg.overwrite))
    device = resolve_device(cfg.device)  # a GPU asked for and not there: an error before anything loads
    if not cfg.checkpoint and not cfg.samples_dir:
        raise ConfigError(
            "give checkpoint=<name, run or .ckpt> (to generate samples) or samples_dir=<folder of MIDI files>"
        )
    mmt = MMT.from_pretrained(cfg.checkpoint, device=device) if cfg.checkpoint else None
    hp, encoding = (mmt.hyper_parameters, mmt.encoding) if mmt else (None, Encoding())
    if cfg.samples_dir:
        samples = read_samples(cfg.samples_dir, encoding.resolution)
    else:
        sampling = SamplingConfig(float(cfg.temperature), float(cfg.filter_threshold), float(cfg.top_p))
        seqs = mmt.sample(
            unconditional_prompt(), int(cfg.n_samples), sampling, int(cfg.seed), cfg.max_events, int(cfg.batch_size)
        )
        samples = [mmt.decode(s) for s in seqs]
    truth = truth_pieces(cfg, hp, encoding)
    beats, qpm = int(cfg.max_beats), float(cfg.tempo_qpm)
    result = {
        "ground_truth": summarise([score(m, beats, qpm) for m in truth]),
        "samples": summarise([score(m, beats, qpm) for m in samples]),
        "n_truth": len(truth),
        "n_samples": len(samples),
        "max_beats": beats,
        "tempo_qpm": qpm,
        "checkpoint": str(cfg.checkpoint),
    }
    gt, sm = result["ground_truth"], result["samples"]
    result["differences"] = {m: sm[m]["mean"] - gt[m]["mean"] for m in METRICS}
    atomic_write_text(out, json.dumps(result, indent=1))
    print(format_table(result))
    print(f"-> {out}")
    return result


def format_table(result: dict) -> str:
    """The evaluation result as a printed table (ground truth, samples, difference)."""
    head = (f"{'':16s} {'n':>4s} {'length (s)':>14s} {'notes/s':>12s} {'pitch-class ent.':>17s} {'scale cons. %':>15s} "
            f"{'groove cons. %':>15s} {'tracks':>12s}")  # fmt: skip
    lines = [f"MMT objective evaluation (first {result['max_beats']} beats; mean +- 95 % interval)", head]
    for label, key, n in (
        ("ground truth", "ground_truth", result["n_truth"]),
        ("MMT samples", "samples", result["n_samples"]),
    ):
        r = result[key]
        cells = [
            f"{r[m]['mean']:.3f}+-{r[m]['ci95']:.3f}"
            if m == "pitch_class_entropy"
            else f"{r[m]['mean']:.2f}+-{r[m]['ci95']:.2f}"
            for m in METRICS
        ]
        lines.append(
            f"{label:16s} {n:4d} {cells[3]:>14s} {cells[4]:>12s} {cells[0]:>17s} {cells[1]:>15s} {cells[2]:>15s}"
            f" {cells[5]:>12s}"
        )
    d = result["differences"]
    cells = [f"{d['length_s']:14.2f}", f"{d['notes_per_s']:12.2f}", f"{d['pitch_class_entropy']:17.3f}",
             f"{d['scale_consistency']:15.2f}", f"{d['groove_consistency']:15.2f}", f"{d['tracks']:12.2f}"]  # fmt: skip
    lines.append(f"{'difference':16s} {'':4s} " + " ".join(cells))
    return "\n".join(lines)


main = entry_point("mmt", "evaluate")(run)

if __name__ == "__main__":
    main()
