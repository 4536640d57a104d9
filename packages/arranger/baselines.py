"""Non-learned (or trivially fitted) baselines, on numpy note arrays (time, pitch, duration[, label]).

- ``most_common``: every note gets the most frequent training label.
- ``zone``: part k owns a pitch range; boundaries are non-increasing in label order (part 0 highest) and
  fitted by dynamic programming to maximise training accuracy. ``zone_oracle`` fits them on each test
  piece itself (an upper bound for any zone rule).
- ``closest_pitch``: uses entry hints: a part entering at an onset takes the note of that onset whose
  pitch rank equals the part's rank among the sounding parts (labels run high to low); every other note goes
  to the entered part whose last pitch is closest. ``mono`` adds the constraint of one sounding note per part:
  an onset's notes are matched to distinct entered parts, preferring parts that are not sounding, minimising
  the total squared pitch distance (optimal assignment). The mono variant is the paper's closest-pitch
  baseline (the reference implementation's "states" mode); without it, chords collapse onto few parts.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from arranger.representation import entry_hints

BASELINES = {"most_common", "zone", "zone_oracle", "closest_pitch", "closest_pitch_mono"}
BUSY = 1e5  # extra cost of giving a note to a part that is still sounding (closest_pitch mono)


def fit_zone(pitch: np.ndarray, labels: np.ndarray, n_parts: int) -> list[int]:
    """Boundaries b_1 >= ... >= b_{K-1}: part 0 gets pitch >= b_1, part k gets b_{k+1} <= pitch < b_k,
    part K-1 gets pitch < b_{K-1}. Maximises the number of correct training notes (exact DP)."""
    counts = np.zeros((128, n_parts), np.int64)
    np.add.at(counts, (np.clip(pitch, 0, 127), labels), 1)
    # Go from the highest pitch down; state = current part (non-decreasing index as pitch falls).
    # best[p, k] = max correct over pitches >= p with pitch p assigned to part k.
    best = np.full((129, n_parts), -np.inf)
    back = np.zeros((128, n_parts), np.int64)
    best[128, :] = 0.0
    for p in range(127, -1, -1):
        prev = best[p + 1]  # part assigned to pitch p+1: must be <= k
        run_max = np.maximum.accumulate(prev)
        run_arg = np.zeros(n_parts, np.int64)
        for k in range(n_parts):
            run_arg[k] = int(np.argmax(prev[: k + 1]))
        best[p] = run_max + counts[p]
        back[p] = run_arg
    # Reconstruct the part of each pitch.
    assign = np.zeros(128, np.int64)
    k = int(np.argmax(best[0]))
    for p in range(128):
        assign[p] = k
        k = back[p, k]
    bounds = []
    for b in range(1, n_parts):
        # lowest pitch that belongs to a part < b
        above = np.flatnonzero(assign < b)
        bounds.append(int(above.min()) if len(above) else 128)
    return bounds


def zone_predict(pitch: np.ndarray, bounds: list[int]) -> np.ndarray:
    """Part of each pitch under zone boundaries (see ``fit_zone``)."""
    pitch = np.asarray(pitch)
    return (
        np.sum(pitch[:, None] < np.asarray(bounds)[None, :], axis=1).astype(np.int64)
        if bounds
        else np.zeros(len(pitch), np.int64)
    )


def closest_pitch(notes: np.ndarray, entry: np.ndarray, mono: bool = False) -> np.ndarray:
    """Closest-pitch assignment given (N, K) entry hints (see module doc). Notes sorted by time.

    Distances are squared pitch differences (as in the reference implementation). With ``mono``, an onset
    of at most K notes is matched to distinct parts by an optimal assignment in which a part still
    sounding costs ``BUSY`` extra (allowed only when no free part is left) and a part not yet entered is
    excluded; larger onsets (and every onset without ``mono``) go note by note to the closest part."""
    time, pitch, dur = notes[:, 0], notes[:, 1].astype(np.float64), notes[:, 2]
    n, k = len(notes), entry.shape[1]
    out = np.zeros(n, np.int64)
    last_pitch = np.full(k, np.nan)
    busy_until = np.full(k, -1, np.int64)
    i = 0
    while i < n:
        j = i
        while j < n and time[j] == time[i]:
            j += 1
        group = sorted(range(i, j), key=lambda q: -pitch[q])
        entering = [p for p in range(k) if entry[i, p] == 0 and np.isnan(last_pitch[p])]
        taken: set[int] = set()
        rest = list(group)
        if entering:
            # Parts are in label order = high to low; an entering part takes the note of the same rank
            # among this onset's notes as its rank among the parts sounding from now on.
            present = sorted(set(entering) | {p for p in range(k) if not np.isnan(last_pitch[p]) and entry[i, p] > 0})
            for part in entering:
                if not rest:
                    break
                rank = min(present.index(part), len(group) - 1)
                q = group[rank] if group[rank] in rest else rest[0]
                out[q] = part
                taken.add(part)
                rest.remove(q)
        entered = [p for p in range(k) if entry[i, p] >= 0 and not np.isnan(last_pitch[p]) and p not in taken]
        if mono and rest and len(group) <= k and len(rest) <= len(entered):
            cost = (pitch[rest][:, None] - last_pitch[entered][None, :]) ** 2
            cost += BUSY * (busy_until[entered] > time[i])[None, :]
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                out[rest[r]] = entered[c]
            rest = []
        for q in rest:
            active = entered or [p for p in range(k) if entry[q, p] >= 0] or list(range(k))
            dist = [(pitch[q] - last_pitch[p]) ** 2 if not np.isnan(last_pitch[p]) else 1e6 for p in active]
            out[q] = active[int(np.argmin(dist))]
        for q in group:
            last_pitch[out[q]] = pitch[q]
            busy_until[out[q]] = max(busy_until[out[q]], time[q] + dur[q])
        i = j
    return out


class Baseline:
    """A baseline with a plain-dict state (saved in a weights-only checkpoint)."""

    def __init__(self, kind: str, n_parts: int, state: dict | None = None):
        if kind not in BASELINES:
            raise ValueError(f"unknown baseline {kind!r}; valid: {', '.join(sorted(BASELINES))}")
        self.kind, self.n_parts, self.state = kind, n_parts, dict(state or {})

    def fit(self, examples) -> "Baseline":
        """Fit the most-common label and the zone boundaries on training examples."""
        labels = np.concatenate([ex.notes[:, 3] for ex in examples])
        pitch = np.concatenate([ex.notes[:, 1] for ex in examples])
        self.state["most_common"] = int(np.bincount(labels, minlength=self.n_parts).argmax())
        self.state["bounds"] = fit_zone(pitch, labels, self.n_parts)
        return self

    def predict(self, notes: np.ndarray, hint_labels: np.ndarray | None = None) -> np.ndarray:
        """Labels for notes (time, pitch, duration[, label]); hints (closest-pitch) and the oracle zone
        use ``hint_labels`` (the true labels at evaluation, the input's tracks at inference)."""
        n = len(notes)
        if self.kind == "most_common":
            return np.full(n, self.state["most_common"], np.int64)
        if self.kind == "zone":
            return zone_predict(notes[:, 1], self.state["bounds"])
        if hint_labels is None:
            raise ValueError(f"baseline {self.kind} needs part hints (the true parts of the input)")
        if self.kind == "zone_oracle":
            return zone_predict(notes[:, 1], fit_zone(notes[:, 1], hint_labels, self.n_parts))
        entry = entry_hints(notes[:, 0], hint_labels, self.n_parts)
        return closest_pitch(notes, entry, mono=self.kind == "closest_pitch_mono")
