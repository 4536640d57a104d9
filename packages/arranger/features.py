"""Per-note features (resolution 24) and batching.

For notes (time, pitch, duration) sorted by time:
- ``pitch`` 0..127 (128 = padding), ``position`` = time mod 24, ``beat`` = time // 24 (sinusoidal in the
  model), ``duration`` clipped to 0..192, ``frequency`` (Hz, used by the MLP features);
- entry hints (n_notes, n_parts): for each part, -1 before its first note, 0 at the onset of its first
  note, +1 after (computed per part from the part's own first onset: no shift between parts); a part that
  never plays is -1 throughout;
- pitch hints (n_parts,): each part's mean pitch (absent part: 0 with a presence flag), given to the model
  as (mean - 60) / 12 and the flag.
"""

from __future__ import annotations

import numpy as np
import torch

RESOLUTION = 24
MAX_DURATION = 192
PAD_PITCH = 128
IGNORE = -100


def entry_hints(time: np.ndarray, labels: np.ndarray, n_parts: int) -> np.ndarray:
    """(N, n_parts) int8 in {-1, 0, 1}: part k's state at each note's onset."""
    time = np.asarray(time)
    out = np.full((len(time), n_parts), -1, np.int8)
    for k in range(n_parts):
        idx = np.flatnonzero(labels == k)
        if len(idx) == 0:
            continue
        first = time[idx].min()
        out[:, k] = np.sign(time - first).astype(np.int8)
    return out


def pitch_hints(pitch: np.ndarray, labels: np.ndarray, n_parts: int) -> np.ndarray:
    """(n_parts, 2) float32: (mean pitch - 60) / 12 and presence flag per part."""
    out = np.zeros((n_parts, 2), np.float32)
    for k in range(n_parts):
        sel = labels == k
        if sel.any():
            out[k] = ((pitch[sel].mean() - 60.0) / 12.0, 1.0)
    return out


def frequency(pitch: np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(pitch, np.float64) - 69.0) / 12.0)


def make_features(
    notes: np.ndarray, n_parts: int, hints_from: np.ndarray | None = None, transpose: int = 0
) -> dict[str, np.ndarray]:
    """Features of one sequence. ``notes`` columns time, pitch, duration[, label]. Hints are computed
    from ``hints_from`` labels (default: the notes' labels when present)."""
    notes = np.asarray(notes, np.int64)
    time, pitch, dur = notes[:, 0], np.clip(notes[:, 1] + transpose, 0, 127), notes[:, 2]
    labels = notes[:, 3] if notes.shape[1] > 3 else None
    hint_labels = hints_from if hints_from is not None else labels
    feats = {
        "pitch": pitch,
        "position": time % RESOLUTION,
        "beat": time // RESOLUTION,
        "duration": np.clip(dur, 0, MAX_DURATION),
        "time": time,
    }
    if hint_labels is not None:
        feats["entry"] = entry_hints(time, hint_labels, n_parts).astype(np.float32)
        feats["pitch_hint"] = pitch_hints(pitch, hint_labels, n_parts)
    else:
        feats["entry"] = np.zeros((len(time), n_parts), np.float32)
        feats["pitch_hint"] = np.zeros((n_parts, 2), np.float32)
    feats["label"] = labels if labels is not None else np.full(len(time), IGNORE)
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
