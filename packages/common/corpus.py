"""Datasets of scores: the music21 corpus (embedded, no download) and any user folder of files.

Pieces are converted once, in worker processes, into a cache folder that is read lazily: every track's notes
(integer arrays) in memory-mapped ``.npy`` shards, track names and programs in JSON. A dataset larger than
memory is read a window at a time. Splits are a deterministic 8:1:1 by seed.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from gm_common.errors import ConfigError, InputFileError
from gm_common.notes import MIDI_SUFFIXES, SUPPORTED_SUFFIXES, Track, music_from_tracks, read_tracks

if TYPE_CHECKING:  # worker processes import this module: without torch and MusPy they start in 0.3 s, not 4
    import muspy

log = logging.getLogger(__name__)

CACHE_VERSION = 3  # 3: a folder of memory-mapped shards (2: one .npz; MusicXML parts named by <part-name>)
SHARD_ROWS = 1 << 22  # rows per shard file: 64 MiB of (N, 4) int32 notes
# A spawned worker imports the command's main module first (0.3 s for a script, 5-30 s for a training command that
# loads torch and Lightning), so it is worth it only for this many files: symusic reads a small MIDI file in about
# 1.5 ms on a loaded core (benchmarks/data_scale.py: 20,000 files, 31 s in one process, 58 s in two workers
# that took 32 s to start); MusicXML/ABC/Humdrum scores take 50 ms to seconds each.
MIDI_FILES_PER_WORKER = 16384
SCORE_FILES_PER_WORKER = 32

# music21 corpus collections: name -> (composer directory, file extensions, path substring to exclude).
COLLECTIONS: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "bach_chorales": ("bach", ("mxl",), None),
    "palestrina": ("palestrina", ("krn",), None),
    "monteverdi": ("monteverdi", ("mxl",), None),
    "beethoven_quartets": ("beethoven", ("mxl",), None),
    "mozart_quartets": ("mozart", ("mxl",), "k545"),  # K. 545 is a piano sonata
    "haydn_quartets": ("haydn", ("mxl",), None),
}
# String quartets of the corpus, pooled (Beethoven, Mozart, Haydn).
GROUPS: dict[str, tuple[str, ...]] = {
    "string_quartets": ("beethoven_quartets", "mozart_quartets", "haydn_quartets"),
}


def default_cache_dir() -> Path:
    """``$GM_CACHE_DIR`` if set, else ``~/.cache/genmusic-toolkits``."""
    return Path(os.environ.get("GM_CACHE_DIR", Path.home() / ".cache" / "genmusic-toolkits"))


def list_collection(name: str) -> list[Path]:
    """Files of a music21 corpus collection (see ``COLLECTIONS`` and ``GROUPS``), sorted."""
    if name in GROUPS:
        return sorted(p for member in GROUPS[name] for p in list_collection(member))
    if name not in COLLECTIONS:
        valid = ", ".join(sorted([*COLLECTIONS, *GROUPS]))
        raise ConfigError(f"unknown corpus collection {name!r}; valid: {valid}")
    from music21 import corpus

    composer, extensions, exclude = COLLECTIONS[name]
    paths = {Path(str(p)) for p in corpus.getComposer(composer, fileExtensions=extensions)}
    return sorted(p for p in paths if exclude is None or exclude not in str(p))


def list_music_files(folder: str | Path) -> list[Path]:
    """All MIDI/MusicXML/ABC files under ``folder`` (recursive), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(folder, "not a folder")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


# -- memory-mapped shards -------------------------------------------------------------------------
class ShardWriter:
    """Writes a sequence of arrays (items with the same columns and dtype) into ``.npy`` shards of about
    ``shard_rows`` rows under ``folder``, plus ``index.npy`` (shard, start, stop of each item); holds one shard
    in memory at a time. Read back with :class:`ShardedArrays`."""

    def __init__(self, folder: Path, shard_rows: int = SHARD_ROWS):
        self.folder, self.shard_rows = folder, shard_rows
        folder.mkdir(parents=True)
        self.buffer: list[np.ndarray] = []
        self.rows = 0  # rows in the buffer
        self.shards = 0  # shards written
        self.index: list[tuple[int, int, int]] = []

    def append(self, item: np.ndarray) -> None:
        """Add one item (its rows stay together in one shard)."""
        if self.buffer and self.rows + len(item) > self.shard_rows:
            self._flush()
        self.index.append((self.shards, self.rows, self.rows + len(item)))
        self.buffer.append(item)
        self.rows += len(item)

    def _flush(self) -> None:
        np.save(self.folder / f"shard-{self.shards:05d}.npy", np.concatenate(self.buffer))
        self.buffer, self.rows, self.shards = [], 0, self.shards + 1

    def close(self, order: Sequence[int] | None = None) -> None:
        """Write the last shard and the index (listing the items in ``order`` of appending, when given)."""
        if self.buffer:
            self._flush()
        index = np.array(self.index, dtype=np.int64).reshape(-1, 3)
        np.save(self.folder / "index.npy", index if order is None else index[np.asarray(order, dtype=np.int64)])


class ShardedArrays(Sequence[np.ndarray]):
    """The items a :class:`ShardWriter` wrote, read lazily: each a read-only view of a memory-mapped shard
    (nothing is read before it is used). Pickles without its maps (DataLoader workers open their own)."""

    def __init__(self, folder: Path, index: np.ndarray | None = None):
        self.folder = Path(folder)
        self.index = np.load(self.folder / "index.npy") if index is None else index
        self._shards: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> np.ndarray:
        shard, start, stop = self.index[i]
        if self._shards is None:
            self._shards = [np.load(p, mmap_mode="r") for p in sorted(self.folder.glob("shard-*.npy"))]
        return self._shards[shard][start:stop]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_shards": None}

    @property
    def lengths(self) -> np.ndarray:
        """The number of rows of every item."""
        return self.index[:, 2] - self.index[:, 1]

    def subset(self, items: Sequence[int]) -> ShardedArrays:
        """The items at positions ``items``, in that order (no data is read)."""
        return ShardedArrays(self.folder, self.index[np.asarray(items, dtype=np.int64).reshape(-1)])


@contextlib.contextmanager
def new_cache_folder(folder: Path) -> Iterator[Path]:
    """Build a cache folder atomically: yields a temporary folder that becomes ``folder`` on success (if
    another process made ``folder`` meanwhile, its copy is kept) and is removed on failure."""
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        try:
            tmp.rename(folder)
        except OSError:
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- converted pieces ----------------------------------------------------------------------------
@dataclass
class Piece:
    """One cached piece: its name (relative path) and music."""

    name: str
    music: muspy.Music


class PieceStore(Sequence[Piece]):
    """Converted pieces read lazily from their cache folder: ``store[i]`` builds the i-th :class:`Piece`,
    :meth:`tracks` gives its tracks as arrays (views of the memory-mapped shards, no copy)."""

    def __init__(self, folder: Path):
        meta = json.loads((folder / "pieces.json").read_text())
        self.folder, self.infos, self.skipped = folder, meta["pieces"], meta["skipped"]
        self.notes = ShardedArrays(folder / "notes")
        self.first_track = np.cumsum([0] + [len(info["tracks"]) for info in self.infos])

    def __len__(self) -> int:
        return len(self.infos)

    def __getitem__(self, i: int) -> Piece:
        info = self.infos[i]
        music = music_from_tracks(self.tracks(i), info["resolution"], info["qpm"])
        music.metadata.source_filename = info["name"]
        return Piece(info["name"], music)

    def name(self, i: int) -> str:
        """The i-th piece's name (its path relative to the collection or folder)."""
        return self.infos[i]["name"]

    def tracks(self, i: int) -> list[Track]:
        """The i-th piece's tracks ``(name, program, is_drum, notes[N, 4])``: time, pitch, duration, velocity."""
        i = range(len(self))[i]  # a negative index counts from the end; past the end is an IndexError
        first = int(self.first_track[i])
        return [(n, p, d, self.notes[first + k]) for k, (n, p, d) in enumerate(self.infos[i]["tracks"])]

    def n_notes(self) -> int:
        """Notes of every piece together."""
        return int(self.notes.lengths.sum())


def _cache_key(paths: list[Path], resolution: int, root: Path | None = None) -> str:
    """Key a conversion by the files' names (relative to ``root``) and contents, not by where or when they were
    written, so that a cache copied to another machine (a GPU node, a fresh install) is found there."""
    h = hashlib.sha1(f"v{CACHE_VERSION}|{resolution}".encode())
    for p in paths:
        name = p.relative_to(root).as_posix() if root is not None else str(p)
        h.update(f"|{name}|{hashlib.sha1(p.read_bytes()).hexdigest()}".encode())
    return h.hexdigest()[:16]


def _read_record(job: tuple[Path, int, str]) -> tuple[dict | str, list[np.ndarray]]:
    """Read one file into its cache record (metadata, one note array per track), or the reason it cannot be
    used (runs in worker processes)."""
    path, resolution, name = job
    try:
        tracks, qpm = read_tracks(path, resolution)
    except InputFileError as err:
        return str(err), []
    info = {"name": name, "resolution": resolution, "qpm": qpm, "tracks": [[n, p, d] for n, p, d, _ in tracks]}
    return info, [notes.astype(np.int32) for *_, notes in tracks]


def load_pieces(
    paths: list[Path],
    resolution: int,
    cache_dir: str | Path | None = None,
    root: Path | None = None,
    desc: str = "converting",
    workers: int | None = None,
) -> PieceStore:
    """Read ``paths`` at ``resolution`` into a :class:`PieceStore`, through a cache folder keyed by the file list.

    Files are converted in ``workers`` processes (None: as many as the files make worth it, at most every
    core; see :func:`convert_workers`). Unreadable files are skipped with a warning giving their count and first
    reasons. Under DDP the cache is built once per node by local rank 0 and read by the other ranks (see
    :func:`once_per_node`).
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = cache_dir / f"pieces-{_cache_key(paths, resolution, root)}"
    with once_per_node():
        if not (folder / "pieces.json").is_file():
            _convert(paths, resolution, root, desc, folder, workers)
    return PieceStore(folder)


NODE_WAIT = datetime.timedelta(days=2)  # how long the other ranks of a node wait for local rank 0's conversion
_inside_once_per_node = False  # blocks nested in one another wait only at the outermost


@contextlib.contextmanager
def once_per_node() -> Iterator[None]:
    """Under DDP, run the body in local rank 0 of each node first and in the node's other ranks after it, so that
    they find what it cached. Every rank must enter (e.g. from ``LightningDataModule.setup``, after the process
    group exists); the wait has its own process group with a long timeout. Otherwise just run the body."""
    global _inside_once_per_node
    local_rank = None if _inside_once_per_node else _distributed_local_rank()
    if local_rank is None:
        yield
        return
    import torch

    group = torch.distributed.new_group(backend="gloo", timeout=NODE_WAIT)
    _inside_once_per_node = True
    try:
        if local_rank:
            torch.distributed.barrier(group=group)
        yield
        if local_rank == 0:
            torch.distributed.barrier(group=group)
    finally:
        _inside_once_per_node = False
        torch.distributed.destroy_process_group(group)


def _distributed_local_rank() -> int | None:
    """This process's local rank when a multi-process group is running, else None."""
    torch = sys.modules.get("torch")  # no process group without torch (and importing it here would cost seconds)
    if torch is None or not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return None
    if torch.distributed.get_world_size() < 2:
        return None
    return int(os.environ.get("LOCAL_RANK", torch.distributed.get_rank()))


def convert_workers(requested: int | None, paths: list[Path]) -> int:
    """Worker processes for converting ``paths``: ``requested`` (at most one per file), or with None every core,
    but no more than one per ``MIDI_FILES_PER_WORKER`` MIDI files plus one per ``SCORE_FILES_PER_WORKER`` scores."""
    if requested is not None:
        return max(1, min(int(requested), len(paths)))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    midi = sum(p.suffix.lower() in MIDI_SUFFIXES for p in paths)
    worth = midi // MIDI_FILES_PER_WORKER + (len(paths) - midi) // SCORE_FILES_PER_WORKER
    return max(1, min(cores, worth))


def _convert(
    paths: list[Path], resolution: int, root: Path | None, desc: str, folder: Path, workers: int | None
) -> None:
    # Largest files first, so that no long file is left for one worker at the end; the store keeps `paths` order.
    order = sorted(range(len(paths)), key=lambda i: -paths[i].stat().st_size)
    names = [str(p.relative_to(root)) if root is not None else p.name for p in paths]
    jobs = [(paths[i], resolution, names[i]) for i in order]
    n = convert_workers(workers, paths)
    kept: dict[int, tuple[dict, int]] = {}  # position in `paths` -> (record, its first item in the shards)
    failures = []
    with new_cache_folder(folder) as tmp, contextlib.ExitStack() as stack:
        if n > 1:  # spawned, not forked: a forked copy of a process running torch threads can deadlock
            pool = stack.enter_context(ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")))
            results = pool.map(_read_record, jobs, chunksize=max(1, min(64, len(jobs) // (8 * n))))
        else:
            results = map(_read_record, jobs)
        notes = ShardWriter(tmp / "notes")
        for i, (info, arrays) in zip(order, tqdm(results, total=len(jobs), desc=desc, unit="file", mininterval=1.0)):
            if isinstance(info, str):
                failures.append(info)
                continue
            kept[i] = (info, len(notes.index))
            for track in arrays:
                notes.append(track)
        records = [kept[i] for i in sorted(kept)]  # back in `paths` order
        infos = [info for info, _ in records]
        notes.close(order=[first + k for info, first in records for k in range(len(info["tracks"]))])
        (tmp / "pieces.json").write_text(json.dumps({"version": CACHE_VERSION, "pieces": infos, "skipped": failures}))
    if failures:
        log.warning("skipped %d of %d files; first: %s", len(failures), len(paths), "; ".join(failures[:3]))


def corpus_root() -> Path:
    """The folder of the music21 corpus (piece names are paths relative to it)."""
    from music21 import corpus

    return Path(str(corpus.getComposer("bach")[0])).parents[1]


def load_collection(
    name: str,
    resolution: int,
    cache_dir: str | Path | None = None,
    limit: int | None = None,
    workers: int | None = None,
) -> PieceStore:
    """Load a music21 corpus collection, or its first ``limit`` files (converted once, then cached)."""
    paths = list_collection(name)[:limit]
    return load_pieces(paths, resolution, cache_dir, root=corpus_root(), desc=f"converting {name}", workers=workers)


def load_folder(
    folder: str | Path, resolution: int, cache_dir: str | Path | None = None, workers: int | None = None
) -> PieceStore:
    """Load every MIDI/MusicXML/ABC file under a user folder (recursive), cached like the corpus."""
    folder = Path(folder)
    paths = list_music_files(folder)
    if not paths:
        raise InputFileError(folder, f"no music files ({', '.join(SUPPORTED_SUFFIXES)}) found")
    return load_pieces(paths, resolution, cache_dir, root=folder, desc=f"converting {folder.name}", workers=workers)


def split_811(names: list[str], seed: int = 0) -> dict[str, list[str]]:
    """Deterministic, disjoint 8:1:1 train/valid/test split of ``names`` by ``seed``."""
    names = sorted(names)
    order = np.random.default_rng(seed).permutation(len(names))
    n_valid = n_test = max(1, round(0.1 * len(names))) if len(names) >= 3 else 0
    shuffled = [names[i] for i in order]
    return {
        "test": sorted(shuffled[:n_test]),
        "valid": sorted(shuffled[n_test : n_test + n_valid]),
        "train": sorted(shuffled[n_test + n_valid :]),
    }
