"""How well a part fits a piece: measures of one part against the piece's other parts and against a reference part
(the one a generated part replaces), as the issue on adding a part (31) defines them.

Notes are (N, 3) integer arrays of ``(time, duration, pitch)`` in ticks (:func:`tick_notes` makes them from encoded
note rows). Every measure is a fraction in [0, 1]:

- :func:`consonance`: of the part's sounding time while another part sounds (ticks, counted once per pitch class
  the part sounds then: a chord counts each of its notes), the time in which its pitch class forms a consonant
  interval (:data:`CONSONANT_INTERVALS`) with every pitch class the other parts sound;
- :func:`coverage`: of the piece's beats, those in which the part sounds at some tick;
- :func:`range_fit`: of the part's notes, those within the reference part's lowest and highest pitch;
- :func:`onset_f1`: the F1 score of the part's onsets against the reference's, each onset a cell of the beat grid
  divided into ``division`` steps (4: sixteenth notes).
A measure with nothing to measure (no sounding tick shared, no note) is NaN.
"""

from __future__ import annotations

import numpy as np

from mmt.representation import Encoding

CONSONANT_INTERVALS = (0, 3, 4, 5, 7, 8, 9)  # pitch-class intervals: unison/octave, thirds, fourth, fifth, sixths
_DISSONANT = np.array([[(a - b) % 12 not in CONSONANT_INTERVALS for b in range(12)] for a in range(12)])


def tick_notes(notes: np.ndarray, encoding: Encoding) -> np.ndarray:
    """Encoded note rows (beat, position, pitch, duration code, instrument code) as (time, duration, pitch) ticks."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 5)
    time = notes[:, 0] * encoding.resolution + notes[:, 1]
    return np.stack([time, encoding.duration_values[notes[:, 3] - 1], notes[:, 2]], axis=1).reshape(-1, 3)


def pitch_class_roll(notes: np.ndarray, length: int) -> np.ndarray:
    """(length, 12) booleans: the pitch classes sounding at each tick (a note sounds from its time for its duration)."""
    marks = np.zeros((length + 1, 12), dtype=np.int64)
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    start = np.clip(notes[:, 0], 0, length)
    end = np.clip(notes[:, 0] + np.maximum(notes[:, 1], 1), 0, length)
    np.add.at(marks, (start, notes[:, 2] % 12), 1)
    np.add.at(marks, (end, notes[:, 2] % 12), -1)
    return np.cumsum(marks, axis=0)[:length] > 0


def _end(*parts: np.ndarray) -> int:
    ends = [int((p[:, 0] + np.maximum(p[:, 1], 1)).max()) for p in parts if len(p)]
    return max(ends, default=0)


def consonance(part: np.ndarray, others: np.ndarray) -> float:
    """The fraction of ``part``'s sounding time with ``others`` sounding that is consonant with them (module
    docstring)."""
    length = _end(part, others)
    mine, theirs = pitch_class_roll(part, length), pitch_class_roll(others, length)
    counted = mine & theirs.any(axis=1, keepdims=True)  # (tick, pitch class of the part) while another part sounds
    if not counted.any():
        return float("nan")
    clash = (theirs.astype(np.int64) @ _DISSONANT.T.astype(np.int64)) > 0  # (tick, pitch class): a dissonance
    return float(1.0 - clash[counted].mean())


def coverage(part: np.ndarray, n_beats: int, resolution: int) -> float:
    """The fraction of the beats 0..``n_beats`` - 1 in which ``part`` sounds."""
    if n_beats <= 0:
        return float("nan")
    sounding = pitch_class_roll(part, n_beats * resolution).any(axis=1)
    return float(sounding.reshape(n_beats, resolution).any(axis=1).mean())


def range_fit(part: np.ndarray, reference: np.ndarray) -> float:
    """The fraction of ``part``'s notes within ``reference``'s lowest and highest pitch."""
    if not len(part) or not len(reference):
        return float("nan")
    pitch = part[:, 2]
    return float(((pitch >= reference[:, 2].min()) & (pitch <= reference[:, 2].max())).mean())


def onset_f1(part: np.ndarray, reference: np.ndarray, resolution: int, division: int = 4) -> float:
    """F1 of ``part``'s onset cells against ``reference``'s, on the beat grid divided into ``division`` steps."""
    step = max(1, resolution // division)
    mine, theirs = set((part[:, 0] // step).tolist()), set((reference[:, 0] // step).tolist())
    if not mine and not theirs:
        return float("nan")
    hits = len(mine & theirs)
    return 2.0 * hits / (len(mine) + len(theirs))
