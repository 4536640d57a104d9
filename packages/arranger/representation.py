"""The note representation: a piece as an array of notes with a part per note, and the model's features of it.

``encode(music)`` gives the pitched notes of a ``muspy.Music`` as rows (time, pitch, duration, velocity) at
resolution 24 in model order (time, then pitch descending, then duration, then part) with the part of each
note; ``decode(notes, parts, dataset)`` writes them back as one track per part with the dataset's programs.

The model sees per-note features (``make_features``):
- ``pitch`` 0..127 (128 = padding), ``position`` = time mod 24, ``beat`` = time // 24 (sinusoidal in the
  model), ``duration`` clipped to 0..192;
- entry hints (n_notes, n_parts): for each part, -1 before its first note, 0 at the onset of its first
  note, +1 after (computed per part from the part's own first onset: no shift between parts); a part that
  never plays is -1 throughout;
- pitch hints (n_parts, 2): each part's mean pitch as (mean - 60) / 12 and a presence flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import muspy
import numpy as np
import torch

from gm_common.notes import DEFAULT_QPM, first_qpm, music_from_tracks

RESOLUTION = 24
MAX_DURATION = 192
PAD_PITCH = 128
IGNORE = -100
NO_NOTES = np.zeros((0, 4), np.int64)


@dataclass
class Encoding:
    """A piece's pitched notes in model order with their parts, and what passes through unchanged."""

    notes: np.ndarray  # (N, 4) time, pitch, duration, velocity
    parts: np.ndarray  # (N,) part index of each note
    drums: np.ndarray  # (M, 4) time, pitch, duration, velocity
    qpm: float
    time_signatures: list[muspy.TimeSignature]


def _rows(track: muspy.Track) -> np.ndarray:
    return np.array([(n.time, n.pitch, n.duration, n.velocity) for n in track.notes], np.int64).reshape(-1, 4)


def encode(music: muspy.Music, track_parts: Sequence[int | None] | None = None, dedup: bool = False) -> Encoding:
    """The pitched notes of ``music`` (at resolution 24) in model order, each with the part of its track.

    ``track_parts[i]`` is the part of track ``i`` (None: the track is dropped); by default a track's part is
    its rank among the pitched tracks. ``dedup`` drops a note that repeats the (time, pitch, duration) of an
    earlier one (the lowest part is kept) and notes without duration, as the training data does.
    """
    if track_parts is None:
        pitched = [i for i, track in enumerate(music.tracks) if not track.is_drum]
        track_parts = [pitched.index(i) if i in pitched else None for i in range(len(music.tracks))]
    notes, parts, drums = [], [], []
    for track, part in zip(music.tracks, track_parts):
        if track.is_drum:
            drums.append(_rows(track))
        elif part is not None:
            notes.append(_rows(track))
            parts.append(np.full(len(track.notes), part, np.int64))
    notes = np.concatenate(notes) if notes else NO_NOTES
    parts = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    order = np.lexsort((parts, notes[:, 2], -notes[:, 1], notes[:, 0]))
    notes, parts = notes[order], parts[order]
    if dedup:
        keep = np.ones(len(notes), bool)
        keep[1:] = np.any(notes[1:, :3] != notes[:-1, :3], axis=1)
        keep &= notes[:, 2] > 0
        notes, parts = notes[keep], parts[keep]
    drums = np.concatenate(drums) if drums else NO_NOTES
    drums = drums[np.lexsort((drums[:, 1], drums[:, 0]))]
    return Encoding(notes, parts, drums, first_qpm(music), list(music.time_signatures[:1]))


def decode(
    notes: np.ndarray,
    parts: np.ndarray,
    dataset: dict,
    programs: Sequence[int] | None = None,
    drums: np.ndarray = NO_NOTES,
    qpm: float = DEFAULT_QPM,
    time_signatures: Sequence[muspy.TimeSignature] = (),
) -> muspy.Music:
    """One track per part of ``dataset`` (its labels and programs, or ``programs``) holding the notes given
    that part, plus a drum track when ``drums`` has notes."""
    programs = dataset["programs"] if programs is None else programs
    tracks = [
        (name, int(program), False, notes[parts == k])
        for k, (name, program) in enumerate(zip(dataset["labels"], programs))
    ]
    if len(drums):
        tracks.append(("Drums", 0, True, drums))
    music = music_from_tracks(tracks, RESOLUTION, tempo_qpm=qpm)
    music.time_signatures = list(time_signatures)
    return music


def entry_hints(time: np.ndarray, labels: np.ndarray, n_parts: int) -> np.ndarray:
    """(N, n_parts) int8 in {-1, 0, 1}: part k's state at each note's onset."""
    time = np.asarray(time)
    out = np.full((len(time), n_parts), -1, np.int8)
    for k in range(n_parts):
        idx = np.flatnonzero(labels == k)
        if len(idx):
            out[:, k] = np.sign(time - time[idx].min()).astype(np.int8)
    return out


def pitch_hints(pitch: np.ndarray, labels: np.ndarray, n_parts: int) -> np.ndarray:
    """(n_parts, 2) float32: (mean pitch - 60) / 12 and presence flag per part."""
    out = np.zeros((n_parts, 2), np.float32)
    for k in range(n_parts):
        sel = labels == k
        if sel.any():
            out[k] = ((pitch[sel].mean() - 60.0) / 12.0, 1.0)
    return out


def make_features(
    notes: np.ndarray, n_parts: int, hints_from: np.ndarray | None = None, transpose: int = 0
) -> dict[str, np.ndarray]:
    """Features of one sequence. ``notes`` columns time, pitch, duration[, label]. Hints are computed
    from ``hints_from`` labels (default: the notes' labels when present)."""
    notes = np.asarray(notes, np.int64)
    time, pitch, duration = notes[:, 0], np.clip(notes[:, 1] + transpose, 0, 127), notes[:, 2]
    labels = notes[:, 3] if notes.shape[1] > 3 else None
    hint_labels = hints_from if hints_from is not None else labels
    feats = {
        "pitch": pitch,
        "position": time % RESOLUTION,
        "beat": time // RESOLUTION,
        "duration": np.clip(duration, 0, MAX_DURATION),
        "time": time,
        "label": labels if labels is not None else np.full(len(time), IGNORE),
    }
    if hint_labels is not None:
        feats["entry"] = entry_hints(time, hint_labels, n_parts).astype(np.float32)
        feats["pitch_hint"] = pitch_hints(pitch, hint_labels, n_parts)
    else:
        feats["entry"] = np.zeros((len(time), n_parts), np.float32)
        feats["pitch_hint"] = np.zeros((n_parts, 2), np.float32)
    return feats


def collate(items: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Pad a list of feature dicts into a batch; ``mask`` is True on real notes, labels IGNORE on pads."""
    n = max(len(it["pitch"]) for it in items)
    b = len(items)
    k = items[0]["entry"].shape[1]
    out = {
        "pitch": torch.full((b, n), PAD_PITCH, dtype=torch.long),
        "position": torch.zeros((b, n), dtype=torch.long),
        "beat": torch.zeros((b, n), dtype=torch.long),
        "duration": torch.zeros((b, n), dtype=torch.long),
        "time": torch.zeros((b, n), dtype=torch.long),
        "entry": torch.zeros((b, n, k), dtype=torch.float32),
        "pitch_hint": torch.zeros((b, k, 2), dtype=torch.float32),
        "label": torch.full((b, n), IGNORE, dtype=torch.long),
        "mask": torch.zeros((b, n), dtype=torch.bool),
    }
    for i, it in enumerate(items):
        m = len(it["pitch"])
        for key in ("pitch", "position", "beat", "duration", "time", "label"):
            out[key][i, :m] = torch.as_tensor(np.asarray(it[key], np.int64))
        out["entry"][i, :m] = torch.as_tensor(it["entry"])
        out["pitch_hint"][i] = torch.as_tensor(it["pitch_hint"])
        out["mask"][i, :m] = True
    return out
