"""Datasets for automatic instrumentation: multitrack pieces turned into (mixture notes, part labels).

A dataset is a label set (the parts, in order) with one output program per part, and a rule mapping a
source track to a part:

- ``bach``: music21 Bach chorales; a track is a part when the first word of its name is Soprano, Alto,
  Tenor or Bass (case-insensitive). A piece is kept only when each of the four parts is matched by
  exactly one track; every other track (horns, trumpets, continuo...) is dropped.
- ``quartets``: music21 string quartets (Beethoven, Mozart, Haydn). Part names in these files are
  unreliable (many movements name two or all four staves "Violin I"), so the rule is the score order:
  a piece with exactly four non-drum tracks maps them, in order, to Violin 1, Violin 2, Viola, Cello;
  other pieces are dropped.
- ``game``: a user folder of NES-MDB-style MIDI files; program 80 -> Pulse 1, 81 -> Pulse 2,
  38/39 -> Triangle (or track names p1/p2/tr); noise tracks are drums.
- ``pop``: a user folder of Lakh-style MIDI files; programs 0-7 Piano, 24-31 Guitar, 32-39 Bass,
  40-51 Strings, 56-63 Brass; other programs dropped.
  Folder datasets keep a piece when at least one track maps to a part.

Every note is a row (time, pitch, duration, label) at resolution 24, sorted by time, then pitch
(descending), then label; exact duplicates (same time, pitch, duration) are removed. Drum tracks are
kept aside (``Example.drums``) and passed through at inference.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gm_common.corpus import Piece, load_collection, load_folder, split_811
from gm_common.errors import ConfigError

log = logging.getLogger(__name__)

RESOLUTION = 24


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    labels: tuple[str, ...]
    programs: tuple[int, ...]
    source: str  # "corpus:<collection>" or "folder"
    require_all: bool  # piece kept only if every part is present exactly once

    def as_dict(self) -> dict:
        return {"name": self.name, "labels": list(self.labels), "programs": list(self.programs)}


DATASETS: dict[str, DatasetSpec] = {
    "bach": DatasetSpec("bach", ("Soprano", "Alto", "Tenor", "Bass"), (73, 68, 71, 70), "corpus:bach_chorales", True),
    "quartets": DatasetSpec(
        "quartets", ("Violin 1", "Violin 2", "Viola", "Cello"), (40, 40, 41, 42), "corpus:string_quartets", True
    ),
    "game": DatasetSpec("game", ("Pulse 1", "Pulse 2", "Triangle"), (80, 81, 38), "folder", False),
    "pop": DatasetSpec("pop", ("Piano", "Guitar", "Bass", "Strings", "Brass"), (0, 24, 32, 48, 61), "folder", False),
}


def get_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return DATASETS[name]


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", (name or "").strip().lower())


def track_label(spec: DatasetSpec, name: str, program: int, is_drum: bool) -> int | None:
    """The part index of a source track under the dataset's mapping rule, or None (dropped)."""
    if is_drum:
        return None
    n = _norm(name)
    first = n.split(" ")[0] if n else ""
    if spec.name == "bach":
        return {"soprano": 0, "alto": 1, "tenor": 2, "bass": 3}.get(first)
    if spec.name == "quartets":  # by score order, see piece_to_example; names only as a fallback
        if re.fullmatch(r"(violin|vln\.?|vn\.?) ?(i|1)", n):
            return 0
        if re.fullmatch(r"(violin|vln\.?|vn\.?) ?(ii|2)", n):
            return 1
        if n in ("viola", "vla", "vla."):
            return 2
        if n in ("violoncello", "cello", "vc", "vc.", "vlc", "vlc."):
            return 3
        return None
    if spec.name == "game":
        by_name = {"p1": 0, "p2": 1, "tr": 2}.get(n)
        if by_name is not None:
            return by_name
        return {80: 0, 81: 1, 38: 2, 39: 2}.get(int(program))
    if spec.name == "pop":
        p = int(program)
        for label, (lo, hi) in enumerate([(0, 7), (24, 31), (32, 39), (40, 51), (56, 63)]):
            if lo <= p <= hi:
                return label
        return None
    raise ConfigError(f"no track mapping for dataset {spec.name!r}")


@dataclass
class Example:
    """One piece as a note sequence: ``notes`` (N, 4) int64 columns time, pitch, duration, label."""

    name: str
    notes: np.ndarray
    drums: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int64))  # time, pitch, dur, velocity
    qpm: float = 120.0

    def __len__(self) -> int:
        return len(self.notes)


def sort_dedup(notes: np.ndarray) -> np.ndarray:
    """Sort rows (time, pitch, duration, label, ...) by time, pitch descending, label; drop exact
    (time, pitch, duration) duplicates (the first, lowest-label copy is kept)."""
    notes = np.asarray(notes, dtype=np.int64)
    if len(notes) == 0:
        return notes.reshape(0, notes.shape[1] if notes.ndim == 2 else 4)
    order = np.lexsort((notes[:, 3], notes[:, 2], -notes[:, 1], notes[:, 0]))
    notes = notes[order]
    keep = np.ones(len(notes), bool)
    keep[1:] = np.any(notes[1:, :3] != notes[:-1, :3], axis=1)
    return notes[keep]


def piece_to_example(spec: DatasetSpec, piece: Piece) -> Example | None:
    """Map a piece's tracks to parts; None when the piece does not fit the dataset's rule."""
    music = piece.music
    rows, drums, seen = [], [], []
    pitched = [t for t in music.tracks if not t.is_drum]
    by_order = spec.name == "quartets"
    if by_order and len(pitched) != len(spec.labels):
        return None
    for track in music.tracks:
        arr = np.array([(n.time, n.pitch, n.duration, n.velocity) for n in track.notes], dtype=np.int64).reshape(-1, 4)
        if track.is_drum:
            drums.append(arr)
            continue
        label = pitched.index(track) if by_order else track_label(spec, track.name, track.program, track.is_drum)
        if label is None:
            continue
        seen.append(label)
        arr = arr.copy()
        arr[:, 3] = label
        rows.append(arr)
    if spec.require_all and sorted(seen) != list(range(len(spec.labels))):
        return None
    if not rows:
        return None
    notes = sort_dedup(np.concatenate(rows))
    notes = notes[notes[:, 2] > 0]
    if len(notes) == 0:
        return None
    drum_arr = np.concatenate(drums) if drums else np.zeros((0, 4), np.int64)
    qpm = float(music.tempos[0].qpm) if music.tempos else 120.0
    return Example(piece.name, notes, drum_arr, qpm)


def load_examples(
    dataset: str, folder: str | None = None, cache_dir: str | None = None, limit: int | None = None
) -> list[Example]:
    """All usable pieces of a dataset (converted once and cached by gm_common.corpus)."""
    spec = get_spec(dataset)
    if spec.source.startswith("corpus:"):
        collection = spec.source.split(":", 1)[1]
        if limit is not None:
            from gm_common.corpus import list_collection, load_pieces
            from music21 import corpus

            paths = list_collection(collection)[:limit]
            root = Path(str(corpus.getComposer("bach")[0])).parents[1]
            pieces = load_pieces(paths, RESOLUTION, cache_dir, root=root, desc=f"converting {collection}")
        else:
            pieces = load_collection(collection, RESOLUTION, cache_dir)
    else:
        if not folder:
            raise ConfigError(f"dataset {dataset!r} reads a user folder of MIDI files: set data.folder=/path")
        pieces = load_folder(folder, RESOLUTION, cache_dir)
        if limit is not None:
            pieces = pieces[:limit]
    examples = [ex for p in pieces if (ex := piece_to_example(spec, p)) is not None]
    if not examples:
        raise ConfigError(f"dataset {dataset!r}: no piece matches the part mapping")
    log.info("%s: %d of %d pieces usable, %d notes", dataset, len(examples), len(pieces), sum(map(len, examples)))
    return examples


def split_examples(examples: list[Example], seed: int = 0) -> dict[str, list[Example]]:
    """8:1:1 split by piece name (gm_common.corpus.split_811)."""
    by_name = {ex.name: ex for ex in examples}
    split = split_811(list(by_name), seed)
    return {k: [by_name[n] for n in names] for k, names in split.items()}


def dataset_stats(examples: list[Example]) -> dict:
    labels = np.concatenate([ex.notes[:, 3] for ex in examples])
    return {
        "files": len(examples),
        "notes": int(len(labels)),
        "notes_per_part": np.bincount(labels).tolist(),
    }
