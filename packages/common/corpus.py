"""Datasets of scores: the music21 corpus (embedded, no download) and any user folder of files.

Pieces are converted once into a compact ``.npz`` cache (notes as integer arrays, track names and
programs as JSON) and read back from it on later runs. Splits are a deterministic 8:1:1 by seed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import muspy
import numpy as np
import torch
from tqdm.auto import tqdm

from gm_common.errors import ConfigError, InputFileError
from gm_common.files import atomic_path
from gm_common.notes import SUPPORTED_SUFFIXES, first_qpm, read_music

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: MusicXML parts named by <part-name> (quartets had every part named alike)

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


@dataclass
class Piece:
    """One cached piece: its name (relative path) and music."""

    name: str
    music: muspy.Music


def _cache_key(paths: list[Path], resolution: int) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}|{resolution}".encode())
    for p in paths:
        st = p.stat()
        h.update(f"|{p}|{st.st_size}|{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _piece_arrays(name: str, music: muspy.Music) -> tuple[dict, list[np.ndarray]]:
    """A piece's cache record: its metadata and one (N, 4) int32 note array per track."""
    tracks, notes = [], []
    for track in music.tracks:
        arr = np.array([(n.time, n.pitch, n.duration, n.velocity) for n in track.notes], dtype=np.int32)
        notes.append(arr.reshape(-1, 4))
        tracks.append([track.name or "", int(track.program), bool(track.is_drum)])
    return {"name": name, "resolution": music.resolution, "qpm": first_qpm(music), "tracks": tracks}, notes


def _read_record(job: tuple[Path, int, str]) -> tuple[dict | str, list[np.ndarray]]:
    """Read one file into its cache record, or the reason it cannot be used (runs in worker processes)."""
    path, resolution, name = job
    try:
        return _piece_arrays(name, read_music(path, resolution=resolution))
    except InputFileError as err:
        return str(err), []


def _encode(records: list[tuple[dict, list[np.ndarray]]]) -> tuple[dict[str, np.ndarray], dict]:
    notes = [arr for _, arrays in records for arr in arrays]
    arrays = {
        "notes": np.concatenate(notes) if notes else np.zeros((0, 4), np.int32),
        "track_lengths": np.array([len(a) for a in notes], dtype=np.int64),
    }
    return arrays, {"version": CACHE_VERSION, "pieces": [info for info, _ in records]}


def _decode(arrays: dict[str, np.ndarray], meta: dict) -> list[Piece]:
    notes, lengths = arrays["notes"], arrays["track_lengths"]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    pieces, k = [], 0
    for info in meta["pieces"]:
        music = muspy.Music(resolution=info["resolution"], tempos=[muspy.Tempo(time=0, qpm=info["qpm"])])
        music.metadata.source_filename = info["name"]
        for name, program, is_drum in info["tracks"]:
            arr = notes[offsets[k] : offsets[k + 1]]
            k += 1
            music.tracks.append(
                muspy.Track(
                    program=program,
                    is_drum=is_drum,
                    name=name,
                    notes=[muspy.Note(int(t), int(p), int(d), int(v)) for t, p, d, v in arr],
                )
            )
        pieces.append(Piece(info["name"], music))
    return pieces


def load_pieces(
    paths: list[Path],
    resolution: int,
    cache_dir: str | Path | None = None,
    root: Path | None = None,
    desc: str = "converting",
    workers: int | None = None,
) -> list[Piece]:
    """Read ``paths`` at ``resolution`` into Pieces, through an on-disk cache keyed by the file list.

    Files are converted in ``workers`` processes (None: every core; small lists in this process).
    Unreadable files are skipped and reported (a warning with the count and first reasons). Under
    DDP (called after the process group exists, e.g. in ``LightningDataModule.setup``) the cache is built
    once per node by local rank 0 and read by the other ranks.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache = cache_dir / f"pieces-{_cache_key(paths, resolution)}"
    npz, js = cache.with_suffix(".npz"), cache.with_suffix(".json")
    local_rank = _distributed_local_rank()
    if local_rank:  # under DDP, only local rank 0 of each node converts; the others wait and read
        torch.distributed.barrier()
    if npz.exists() and js.exists():
        pieces = _decode_file(npz, js)
    else:
        pieces = _convert(paths, resolution, root, desc, npz, js, workers)
    if local_rank == 0:
        torch.distributed.barrier()
    return pieces


def _distributed_local_rank() -> int | None:
    """This process's local rank when a multi-process group is running, else None."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return None
    if torch.distributed.get_world_size() < 2:
        return None
    return int(os.environ.get("LOCAL_RANK", torch.distributed.get_rank()))


def _decode_file(npz: Path, js: Path) -> list[Piece]:
    with np.load(npz) as data:
        return _decode(dict(data), json.loads(js.read_text()))


def convert_workers(requested: int | None, n_files: int) -> int:
    """Worker processes for converting ``n_files``: ``requested`` (None: every core), at most one per 32 files."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores if requested is None else int(requested), n_files // 32))


def _convert(
    paths: list[Path], resolution: int, root: Path | None, desc: str, npz: Path, js: Path, workers: int | None
) -> list[Piece]:
    jobs = [(p, resolution, str(p.relative_to(root)) if root is not None else p.name) for p in paths]
    n = convert_workers(workers, len(jobs))
    with contextlib.ExitStack() as stack:
        if n > 1:  # spawned, not forked: a forked copy of a process running torch threads can deadlock
            pool = stack.enter_context(ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")))
            results = pool.map(_read_record, jobs, chunksize=8)
        else:
            results = map(_read_record, jobs)
        records, failures = [], []
        for info, arrays in tqdm(results, total=len(jobs), desc=desc, unit="file", mininterval=1.0):
            if isinstance(info, str):
                failures.append(info)
            else:
                records.append((info, arrays))
    if failures:
        log.warning("skipped %d of %d files; first: %s", len(failures), len(paths), "; ".join(failures[:3]))
    arrays, meta = _encode(records)
    meta["skipped"] = failures
    with atomic_path(npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    with atomic_path(js) as tmp:
        tmp.write_text(json.dumps(meta))
    return _decode(arrays, meta)


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
) -> list[Piece]:
    """Load a music21 corpus collection, or its first ``limit`` files (converted once, then cached)."""
    paths = list_collection(name)[:limit]
    return load_pieces(paths, resolution, cache_dir, root=corpus_root(), desc=f"converting {name}", workers=workers)


def load_folder(
    folder: str | Path, resolution: int, cache_dir: str | Path | None = None, workers: int | None = None
) -> list[Piece]:
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
