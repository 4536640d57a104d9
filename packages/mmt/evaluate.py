"""Objective evaluation as the paper's Table 3, and structure as a listener hears it:
``python -m mmt.evaluate [checkpoint=NAME|RUN] [n_samples=50]``.

Samples (generated here with the checkpoint in one of :data:`MODES`, or read from ``samples_dir``) and the
ground truth (the test split of the data the checkpoint was trained on, as the model sees it: the first
``max_events`` events of each piece's first ``max_beat`` beats; in instrument mode the pieces with exactly its
instruments; or ``truth_dir``) are scored:

- Table 3, on the first ``max_beats`` beats, with MusPy: pitch-class entropy, scale consistency and groove
  consistency (measure = 4 beats); also length in seconds and notes per second (uncut, at ``tempo_qpm``);
- structure (:func:`structure`, uncut): length in beats, the longest silence (no note sounding, in beats; with
  the fraction of pieces over :data:`SILENCE_BEATS`), notes per beat, polyphony (pitches sounding together)
  and tracks sounding per bar. Table 3 cannot see a sample that stops for 200 beats; these can.

Reported as mean and 95 % interval (1.96 standard errors); JSON to ``out`` and a printed table.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict
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
from mmt.data import make_sample, recorded_split
from mmt.model import sequence_loss
from mmt.pipeline import MMT, PRETRAINED, continuation_codes, instrument_prompt, prompt_notes, unconditional_prompt
from mmt.representation import Encoding, codes_from_notes, decode
from mmt.sampling import SamplingConfig, sampling_config

log = logging.getLogger(__name__)
TABLE3 = ("pitch_class_entropy", "scale_consistency", "groove_consistency", "length_s", "notes_per_s", "tracks")
STRUCTURE = ("length_beats", "heard_beats", "longest_silence_beats", "notes_per_beat", "polyphony", "tracks_per_bar")
METRICS = TABLE3 + STRUCTURE
SILENCE_BEATS = (8, 32)  # a silence longer than these (beats) is counted per piece


def cut(music: muspy.Music, beats: int) -> muspy.Music:
    """A copy holding only the notes that start in the first ``beats`` beats."""
    out = music.deepcopy()
    limit = beats * music.resolution
    for track in out.tracks:
        track.notes = [n for n in track.notes if n.time < limit]
    out.tracks = [t for t in out.tracks if t.notes]
    return out


def structure(music: muspy.Music, beats_per_bar: int = 4) -> dict[str, float]:
    """Length and longest silence (nothing sounding, from beat 0 to the last note's end) in beats, the length
    without its silences over 8 beats (``heard_beats``), notes per beat, polyphony (MusPy's: pitches sounding
    together, where any sounds) and tracks sounding per bar (NaN: no notes)."""
    spans = np.array([(n.time, n.time + n.duration) for t in music.tracks for n in t.notes], dtype=np.int64)
    nan = float("nan")
    if not len(spans):
        return {"length_beats": 0.0, "heard_beats": 0.0, "longest_silence_beats": nan, "notes_per_beat": nan,
                "polyphony": nan, "tracks_per_bar": nan}  # fmt: skip
    spans = spans[np.argsort(spans[:, 0], kind="stable")]
    covered = np.maximum.accumulate(spans[:, 1])  # the end of the sound so far, after each onset
    silences = spans[:, 0] - np.concatenate([[0], covered[:-1]])
    res, end = music.resolution, int(covered[-1])
    bar = beats_per_bar * res
    n_bars = max(1, -(-end // bar))
    sounding = 0
    for track in music.tracks:  # the bars in which each track sounds, as a difference array
        if track.notes:
            marks = np.zeros(n_bars + 1, dtype=np.int64)
            np.add.at(marks, [n.time // bar for n in track.notes], 1)
            np.add.at(marks, [(n.time + max(n.duration, 1) - 1) // bar + 1 for n in track.notes], -1)
            sounding += int(np.count_nonzero(np.cumsum(marks)[:n_bars] > 0))
    return {
        "length_beats": end / res,
        "heard_beats": (end - int(silences[silences > SILENCE_BEATS[0] * res].sum())) / res,
        "longest_silence_beats": max(0, int(silences.max())) / res,
        "notes_per_beat": len(spans) / (end / res) if end else nan,
        "polyphony": float(muspy.polyphony(music)),
        "tracks_per_bar": sounding / n_bars,
    }


def score(music: muspy.Music, max_beats: int = 64, tempo_qpm: float = 100.0) -> dict[str, float]:
    """The metrics of one piece, Table 3's and :func:`structure` (NaN where a metric is undefined, e.g. no notes)."""
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
    return res | structure(music)


def piece_loss(mmt: MMT, score: str | Path, rows: int = 256) -> float:
    """Teacher-forced loss (the six fields' cross-entropies summed) of a model on the first ``rows`` events of a
    score read as a prompt is (a deterministic figure of a shipped model's card)."""
    codes = torch.as_tensor(codes_from_notes(prompt_notes(score, mmt.encoding)))[None, :rows].to(mmt.device)
    with torch.no_grad():
        return float(sequence_loss(mmt.net, codes[:, :-1], codes[:, 1:])[0])


def summarise(scores: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and 95 % interval half-width (1.96 standard errors) of each metric over pieces; for the longest
    silence also its median, 90th percentile and maximum, and the fraction of pieces over each of
    :data:`SILENCE_BEATS` (a piece without notes counts as over)."""
    out = {}
    for m in METRICS:
        v = np.array([s[m] for s in scores], dtype=float)
        v = v[np.isfinite(v)]
        n = len(v)
        mean = float(v.mean()) if n else float("nan")
        ci = float(1.96 * v.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
        out[m] = {"mean": mean, "ci95": ci, "n": n}
    silence = np.array([s["longest_silence_beats"] for s in scores], dtype=float)
    if len(silence):
        heard = silence[np.isfinite(silence)]
        quantiles = np.percentile(heard, [50, 90, 100]) if len(heard) else [float("nan")] * 3
        out["longest_silence_beats"].update(
            {"median": float(quantiles[0]), "p90": float(quantiles[1]), "max": float(quantiles[2])}
            | {f"over_{b}": float(np.mean(~(silence <= b))) for b in SILENCE_BEATS}
        )
    return out


def truth_notes(cfg: DictConfig, mmt: MMT | None) -> list[np.ndarray] | None:
    """The encoded pieces of ``cfg.split`` of the checkpoint's data (None with ``truth_dir``)."""
    if cfg.truth_dir:
        return None
    if mmt is None or not mmt.hyper_parameters.get("data"):
        raise ConfigError("no ground truth: give truth_dir=<folder> (the checkpoint records no data source)")
    return list(recorded_split(mmt.hyper_parameters["data"], mmt.encoding, cfg.split, mmt.source).values())


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


MODES = ("unconditional", "instrument", "continuation")
TARGETS = {  # the paper's Table 3 bounds (absolute differences) and structure (issue 30)
    "pitch_class_entropy": 0.25, "scale_consistency": 5.0, "groove_consistency": 5.0,
    "silence_over_8": 0.05, "silence_over_32": 0.0, "notes_per_beat": 0.15, "polyphony": 0.15,
}  # fmt: skip


def generate_samples(mmt: MMT, mode: str, n: int, sampling: SamplingConfig, seed: int = 0,
                     max_events: int | None = None, batch_size: int = 16, instruments: list[str] | None = None,
                     beats: int = 4, pieces: list[np.ndarray] | None = None) -> list[muspy.Music]:  # fmt: skip
    """``n`` samples in one of :data:`MODES`: from start-of-song, from ``instruments``, or continuing the first
    ``beats`` beats of ``pieces`` (encoded notes, spread evenly: sample i continues piece ``i * len(pieces) // n``
    with seed + i)."""
    if mode not in MODES:
        raise ConfigError(f"mode={mode}: expected one of {', '.join(MODES)}")
    if mode == "unconditional":
        seqs = mmt.sample(unconditional_prompt(), n, sampling, seed, max_events, batch_size)
    elif mode == "instrument":
        seqs = mmt.sample(instrument_prompt(list(instruments or []), mmt.encoding), n, sampling, seed, max_events,
                          batch_size)  # fmt: skip
    else:
        if not pieces:
            raise ConfigError("continuation needs pieces to continue")
        prompts = [continuation_codes(pieces[i * len(pieces) // n], beats) for i in range(n)]
        seqs = [mmt.sample(p, 1, sampling, seed + i, max_events)[0] for i, p in enumerate(prompts)]
    return [mmt.decode(s) for s in seqs]


def mode_truth(pieces: list[np.ndarray], mode: str, instruments: list[str] | None, encoding: Encoding,
               rows: int) -> list[muspy.Music]:  # fmt: skip
    """The pieces a mode's samples are compared with, as the model sees them (their first ``rows`` events of the
    first ``max_beat`` beats): in instrument mode those with exactly its instruments (all where none has them)."""
    if mode == "instrument":
        codes = {encoding.instrument_code(str(name)) for name in instruments or []}
        same = [p for p in pieces if set(np.unique(p[:, 4]).tolist()) == codes]
        if not same:
            log.warning("no piece has exactly the instruments %s: samples are compared with all pieces", instruments)
        pieces = same or pieces
    return [decode(make_sample(notes, encoding.max_beat, rows), encoding) for notes in pieces]


def compare(samples: list[muspy.Music], truth: list[muspy.Music], max_beats: int = 64,
            tempo_qpm: float = 100.0) -> dict:  # fmt: skip
    """Samples beside the ground truth: each side's summary, their differences and the :data:`TARGETS` met."""
    gt = summarise([score(m, max_beats, tempo_qpm) for m in truth])
    sm = summarise([score(m, max_beats, tempo_qpm) for m in samples])
    differences = {m: sm[m]["mean"] - gt[m]["mean"] for m in METRICS}
    silence = sm["longest_silence_beats"]
    met = {m: bool(abs(differences[m]) <= TARGETS[m]) for m in TABLE3 if m in TARGETS}
    met |= {f"silence_over_{b}": bool(silence[f"over_{b}"] <= TARGETS[f"silence_over_{b}"]) for b in SILENCE_BEATS}
    met |= {m: bool(abs(differences[m]) <= TARGETS[m] * gt[m]["mean"]) for m in ("notes_per_beat", "polyphony")}
    return {"ground_truth": gt, "samples": sm, "differences": differences, "n_truth": len(truth),
            "n_samples": len(samples), "targets_met": met, "all_targets_met": all(met.values())}  # fmt: skip


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
    if cfg.mode not in MODES:
        raise ConfigError(f"mode={cfg.mode}: expected one of {', '.join(MODES)}")
    mmt = MMT.from_pretrained(cfg.checkpoint, device=device) if cfg.checkpoint else None
    encoding = mmt.encoding if mmt else Encoding()
    rows = int(cfg.max_events or (mmt.net.max_seq_len if mmt else 1024))
    instruments = [str(i) for i in cfg.instruments]
    pieces = truth_notes(cfg, mmt)
    truth = mode_truth(pieces, cfg.mode, instruments, encoding, rows) if pieces else [
        read_music(p, resolution=encoding.resolution) for p in list_music_files(cfg.truth_dir)]  # fmt: skip
    if cfg.samples_dir:
        samples = read_samples(cfg.samples_dir, encoding.resolution)
    else:
        samples = generate_samples(mmt, cfg.mode, int(cfg.n_samples), sampling_config(cfg), int(cfg.seed),
                                   cfg.max_events, int(cfg.batch_size), instruments, int(cfg.beats),
                                   pieces)  # fmt: skip
    result = compare(samples, truth, int(cfg.max_beats), float(cfg.tempo_qpm))
    result |= {"max_beats": int(cfg.max_beats), "tempo_qpm": float(cfg.tempo_qpm), "checkpoint": str(cfg.checkpoint),
               "mode": cfg.mode, "split": cfg.split, "max_events": rows,
               "sampling": asdict(sampling_config(cfg))}  # fmt: skip
    atomic_write_text(out, json.dumps(result, indent=1))
    print(format_table(result))
    print(f"-> {out}")
    return result


def format_table(result: dict) -> str:
    """The evaluation result as two printed tables, Table 3 and structure (ground truth, samples, difference)."""
    rows = [("ground truth", "ground_truth", result["n_truth"]), ("MMT samples", "samples", result["n_samples"])]
    lines = []
    for title, metrics in (("Table 3 (first %d beats)" % result["max_beats"], TABLE3), ("structure", STRUCTURE)):
        lines.append(f"MMT {title}; mean +- 95 % interval")
        lines.append(f"{'':16s} {'n':>4s} " + " ".join(f"{m[:22]:>22s}" for m in metrics))
        for label, key, n in rows:
            r = result[key]
            cells = [f"{r[m]['mean']:.3f}+-{r[m]['ci95']:.3f}" for m in metrics]
            lines.append(f"{label:16s} {n:4d} " + " ".join(f"{c:>22s}" for c in cells))
        d = result["differences"]
        lines.append(f"{'difference':16s} {'':4s} " + " ".join(f"{d[m]:22.3f}" for m in metrics))
    silence = {k: result[k]["longest_silence_beats"] for k in ("ground_truth", "samples")}
    for label, key in (("truth", "ground_truth"), ("samples", "samples")):
        s = silence[key]
        lines.append(f"longest silence, {label}: median {s['median']:.1f}, 90 % {s['p90']:.1f}, max {s['max']:.1f} "
                     f"beats; over 8 beats {s['over_8']:.0%}, over 32 {s['over_32']:.0%}")  # fmt: skip
    missed = [k for k, ok in result["targets_met"].items() if not ok]
    lines.append("targets: all met" if not missed else f"targets missed: {', '.join(missed)}")
    return "\n".join(lines)


main = entry_point("mmt", "evaluate")(run)

if __name__ == "__main__":
    main()
