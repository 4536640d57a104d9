"""Datasets for automatic instrumentation: multitrack pieces turned into (mixture notes, part labels).

A dataset is a label set (the parts, in order) with one output program per part, and a rule mapping a
source track to a part:

- ``bach``: music21 Bach chorales; a track is a part when the first word of its name is Soprano, Alto,
  Tenor or Bass (case-insensitive). A piece is kept only when each of the four parts is matched by
  exactly one track; every other track (horns, trumpets, continuo...) is dropped.
- ``quartets``: music21 string quartets (Beethoven, Mozart, Haydn). Part names in these files are
  unreliable (many movements name two or all four staves "Violin I"), so the rule is the score order:
  a piece with exactly four non-drum tracks maps them, in order, to Violin 1, Violin 2, Viola, Cello;
  other pieces are dropped. From a folder (``data.folder=``, e.g. the paper's MusicNet quartet MIDI files)
  tracks map by name instead (Violin I / 1st violin / Violino II / Viola / Violoncello...), several tracks
  may share a part, and unnamed ones are dropped.
- ``game``: a user folder of NES-MDB-style MIDI files; program 80 -> Pulse 1, 81 -> Pulse 2,
  38/39 -> Triangle (or track names p1/p2/tr); noise tracks are drums.
- ``pop``: a user folder of Lakh-style MIDI files; programs 0-7 Piano, 24-31 Guitar, 32-39 Bass,
  40-51 Strings, 56-63 Brass; other programs dropped.
  Folder datasets keep a piece when at least one track maps to a part; ``bach`` and ``quartets`` read a
  folder instead of the corpus when one is given, under the same folder rule.

Every note is a row (time, pitch, duration, label) at resolution 24 in model order
(``arranger.representation.encode``); exact duplicates (same time, pitch, duration) are removed. Drum tracks
are kept aside (``Example.drums``). The examples are made once, one piece at a time, and cached in memory-mapped
shards beside the converted pieces (``arranger-<key>/``); they are read lazily (:class:`ExampleStore`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import muspy
import numpy as np

from arranger.representation import NO_NOTES, RESOLUTION, encode
from gm_common.corpus import (
    Piece,
    PieceStore,
    ShardedArrays,
    ShardWriter,
    load_collection,
    load_folder,
    new_cache_folder,
    once_per_node,
    split_811,
)
from gm_common.errors import ConfigError
from gm_common.notes import DEFAULT_QPM

log = logging.getLogger(__name__)
EXAMPLES_CACHE_VERSION = 1  # bump when the part mapping rules change


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's parts (label order), their output programs, where its files come from, and its rule."""

    name: str
    labels: tuple[str, ...]
    programs: tuple[int, ...]
    source: str  # "corpus:<collection>" or "folder"
    require_all: bool  # piece kept only if every part is present exactly once

    def as_dict(self) -> dict:
        """The plain dict saved in checkpoints: name, labels, programs."""
        return {"name": self.name, "labels": list(self.labels), "programs": list(self.programs)}


DATASETS: dict[str, DatasetSpec] = {
    "bach": DatasetSpec("bach", ("Soprano", "Alto", "Tenor", "Bass"), (73, 68, 71, 70), "corpus:bach_chorales", True),
    "quartets": DatasetSpec(
        "quartets", ("Violin 1", "Violin 2", "Viola", "Cello"), (40, 40, 41, 42), "corpus:string_quartets", True
    ),
    "game": DatasetSpec("game", ("Pulse 1", "Pulse 2", "Triangle"), (80, 81, 38), "folder", False),
    "pop": DatasetSpec("pop", ("Piano", "Guitar", "Bass", "Strings", "Brass"), (0, 24, 32, 48, 61), "folder", False),
}


_VIOLIN = r"\b(violin[oe]?|vln|vn)\.?\s*"
QUARTET_NAMES = (  # (part, pattern) searched in order in a lower-cased track name: "Violino II" is not Violin 1
    (2, r"viola|\bvla\b"),
    (3, r"cello|\bvc\b|\bvlc\b"),
    (1, rf"\b(2nd|second)\b|{_VIOLIN}(2|ii)\b"),
    (0, rf"\b(1st|first)\b|{_VIOLIN}(1|i)\b"),
)


def get_spec(name: str) -> DatasetSpec:
    """The dataset called ``name``; a ConfigError listing the known ones otherwise."""
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
    if spec.name == "quartets":  # by name only from a folder; the corpus goes by score order (track_parts)
        return next((part for part, pattern in QUARTET_NAMES if re.search(pattern, n)), None)
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


def track_parts(spec: DatasetSpec, music: muspy.Music, from_folder: bool = False) -> list[int | None] | None:
    """The part of each track of ``music`` under the dataset's rule (None: dropped), or None when the piece
    does not fit the rule (corpus quartets: exactly four pitched tracks, mapped in score order)."""
    pitched = [i for i, track in enumerate(music.tracks) if not track.is_drum]
    if spec.name == "quartets" and not from_folder:
        if len(pitched) != len(spec.labels):
            return None
        parts = [pitched.index(i) if i in pitched else None for i in range(len(music.tracks))]
    else:
        parts = [track_label(spec, t.name, t.program, t.is_drum) for t in music.tracks]
    seen = sorted(p for p in parts if p is not None)
    if not seen or (spec.require_all and not from_folder and seen != list(range(len(spec.labels)))):
        return None
    return parts


@dataclass
class Example:
    """One piece as a note sequence: ``notes`` (N, 4) int64 columns time, pitch, duration, label."""

    name: str
    notes: np.ndarray
    drums: np.ndarray = field(default_factory=lambda: NO_NOTES)  # time, pitch, duration, velocity
    qpm: float = DEFAULT_QPM

    def __len__(self) -> int:
        return len(self.notes)


def piece_to_example(spec: DatasetSpec, piece: Piece, from_folder: bool = False) -> Example | None:
    """Map a piece's tracks to parts; None when the piece does not fit the dataset's rule."""
    parts = track_parts(spec, piece.music, from_folder)
    if parts is None:
        return None
    enc = encode(piece.music, parts, dedup=True)
    if len(enc.notes) == 0:
        return None
    return Example(piece.name, np.column_stack([enc.notes[:, :3], enc.parts]), enc.drums, enc.qpm)


class ExampleStore(Sequence[Example]):
    """A dataset's examples, read lazily: their notes and drums are views of memory-mapped shards."""

    def __init__(self, folder: Path):
        meta = json.loads((folder / "examples.json").read_text())
        self.names, self.qpms = meta["names"], meta["qpm"]
        self.notes, self.drums = ShardedArrays(folder / "notes"), ShardedArrays(folder / "drums")

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> Example:
        return Example(self.names[i], self.notes[i], self.drums[i], self.qpms[i])


def load_examples(
    dataset: str,
    folder: str | None = None,
    cache_dir: str | None = None,
    limit: int | None = None,
    workers: int | None = None,
) -> ExampleStore:
    """All usable pieces of a dataset: its files converted (in ``workers`` processes; None: every core, as many
    as the files are worth) and mapped to parts once, one piece at a time, into a cache folder read lazily."""
    spec = get_spec(dataset)
    if folder:
        pieces = load_folder(folder, RESOLUTION, cache_dir, workers=workers)
    elif spec.source.startswith("corpus:"):
        pieces = load_collection(spec.source.split(":", 1)[1], RESOLUTION, cache_dir, limit=limit, workers=workers)
    else:
        raise ConfigError(f"dataset {dataset!r} reads a user folder of MIDI files: set data.folder=/path")
    n = len(pieces) if limit is None else min(int(limit), len(pieces))
    from_folder = bool(folder)
    key = {"v": EXAMPLES_CACHE_VERSION, "spec": spec.as_dict(), "pieces": pieces.folder.name, "n": n}
    key = json.dumps(key | ({"from_folder": True} if from_folder else {}))  # the corpus caches keep their keys
    cache = pieces.folder.with_name(f"arranger-{hashlib.sha1(key.encode()).hexdigest()[:16]}")
    with once_per_node():
        if not (cache / "examples.json").is_file():
            _write_examples(spec, pieces, n, cache, from_folder)
    examples = ExampleStore(cache)
    log.info("%s: %d of %d pieces usable, %d notes", dataset, len(examples), n, int(examples.notes.lengths.sum()))
    return examples


def _write_examples(spec: DatasetSpec, pieces: PieceStore, n: int, cache: Path, from_folder: bool) -> None:
    names, qpms = [], []
    with new_cache_folder(cache) as tmp:
        notes, drums = ShardWriter(tmp / "notes"), ShardWriter(tmp / "drums")
        for i in range(n):
            example = piece_to_example(spec, pieces[i], from_folder)
            if example is not None:
                notes.append(example.notes.astype(np.int32))
                drums.append(np.asarray(example.drums, np.int32).reshape(-1, 4))
                names.append(example.name)
                qpms.append(example.qpm)
        if not names:
            raise ConfigError(f"dataset {spec.name!r}: no piece matches the part mapping")
        notes.close()
        drums.close()
        (tmp / "examples.json").write_text(json.dumps({"names": names, "qpm": qpms}))


def split_examples(examples: list[Example], seed: int = 0) -> dict[str, list[Example]]:
    """8:1:1 split by piece name (gm_common.corpus.split_811)."""
    by_name = {ex.name: ex for ex in examples}
    split = split_811(list(by_name), seed)
    return {k: [by_name[n] for n in names] for k, names in split.items()}


def dataset_stats(examples: list[Example]) -> dict:
    """Files, notes and notes per part of a list of examples."""
    labels = np.concatenate([ex.notes[:, 3] for ex in examples])
    return {
        "files": len(examples),
        "notes": int(len(labels)),
        "notes_per_part": np.bincount(labels).tolist(),
    }
