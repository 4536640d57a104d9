"""Datasets for MMT: the music21 corpus (default) or any folder of MIDI/MusicXML files.

Pieces are read through ``gm_common.corpus`` (converted once, cached), every part is given a General MIDI
program (MIDI files: the file's program; scores: the part's name, see :mod:`mmt.parts`), encoded with
:mod:`mmt.representation` one piece at a time, and the encoded notes are cached again in memory-mapped shards
(``mmt-<key>/``) beside the encoding they were made with; training reads them lazily, a piece per sample, so a
dataset larger than memory trains. Splits are ``gm_common.corpus.split_811`` by seed.

Training samples: random transposition -5..+6 semitones (kept inside the MIDI range), a random window
of at most ``max_beat`` beats (with more than 10 notes where possible), cut to ``max_seq_len`` rows
keeping the end-of-song row. Targets of padding rows are ``IGNORE_INDEX`` so the loss skips them.

``layout=infill`` (:data:`LAYOUTS`) writes each sample in the infill layout of :func:`mmt.representation.infill_codes`
instead, for a model that adds a part to given ones (:func:`infill_sample`): the target is one of the window's
parts at random, each other part is left out with probability ``drop_parts`` (one always stays), and the window
is cut at a beat so that every part fits in ``max_seq_len`` rows (the target's notes come last: a plain cut
would drop them). ``layout=interleave`` is the same sample in the interleaved layout of
:func:`mmt.representation.interleave_codes` (the other parts' notes ``ahead`` beats early among the target's).
The layout is a data setting, so a checkpoint records it in its ``data`` hyper-parameters (:func:`layout_of`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from gm_common.corpus import (
    PieceStore,
    ShardedArrays,
    ShardWriter,
    corpus_root,
    default_cache_dir,
    list_music_files,
    load_collection,
    load_folder,
    load_pieces,
    new_cache_folder,
    once_per_node,
    split_811,
)
from gm_common.errors import ConfigError, InputFileError
from gm_common.files import atomic_write_text
from gm_common.training import loader_options
from mmt.parts import PART_PROGRAMS, VOICE_PARTS, assign_programs
from mmt.representation import (
    TYPE_EOS,
    TYPE_NOTE,
    Encoding,
    codes_from_notes,
    extract_notes,
    infill_codes,
    infill_marker,
    interleave_codes,
)

log = logging.getLogger(__name__)
IGNORE_INDEX = -100
DATA_CACHE_VERSION = 2  # 2: a folder of memory-mapped shards (1: one .npz)
LAYOUTS = ("time", "infill", "interleave")  # data.layout: the paper's order, or an order of a part to add
PART_LAYOUTS = ("infill", "interleave")  # the layouts of models that add parts
SPLIT_FILE = "split.json"  # a run's (and a shipped model's) piece names per split, beside its checkpoints


# -- encoded dataset (cached) -------------------------------------------------------------------
def load_pieces_for(source: dict, resolution: int, cache_dir: Path, workers: int | None = None) -> list[PieceStore]:
    """Pieces of a data source: ``{"collections": [...], "folder": None, "limit": N}`` (music21 corpus; ``limit``
    keeps the first N files of each collection) or ``{"folder": path, ...}`` (a user folder), converted in
    ``workers`` processes (None: every core, as the files make worth it)."""
    if source["folder"]:
        return [load_folder(source["folder"], resolution, cache_dir, workers=workers)]
    if not source["collections"]:
        raise ConfigError("data: give either data.folder or a non-empty data.collections")
    limit = int(source["limit"]) if source["limit"] else None
    return [
        load_collection(name, resolution, cache_dir, limit=limit, workers=workers) for name in source["collections"]
    ]


class EncodedPieces(Mapping[str, np.ndarray]):
    """``{piece name: notes (N, 5)}`` of an encoded dataset, read lazily from memory-mapped shards."""

    def __init__(self, folder: Path):
        self.names: list[str] = json.loads((folder / "names.json").read_text())
        self.notes = ShardedArrays(folder / "notes")
        self.position = {name: i for i, name in enumerate(self.names)}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.notes[self.position[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def select(self, names: list[str]) -> ShardedArrays:
        """The notes of ``names``, in that order, still unread."""
        return self.notes.subset([self.position[n] for n in names])


def encoded_dataset(
    source: dict,
    encoding: Encoding,
    cache_dir: str | Path | None = None,
    min_notes: int = 50,
    workers: int | None = None,
) -> EncodedPieces:
    """``{piece name: notes (N, 5)}`` of every usable piece of ``source``: encoded once, one piece at a time, into
    a cache folder ``mmt-<key>/`` (with the encoding it was made with), then read lazily from it."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    cache = encoded_cache(source, encoding, cache_dir, min_notes)
    with once_per_node():
        if not (cache / "names.json").is_file():  # the key covers the encoding: a cache found is this one's
            _encode_pieces(source, encoding, cache_dir, min_notes, workers, cache)
    return EncodedPieces(cache)


def encoded_cache(source: dict, encoding: Encoding, cache_dir: Path, min_notes: int = 50) -> Path:
    """The cache folder of :func:`encoded_dataset` for these arguments (it may not exist yet)."""
    spec = json.dumps(
        {"v": DATA_CACHE_VERSION, "source": {k: str(v) for k, v in sorted(source.items())}, "enc": encoding.to_dict(),
         "min": min_notes, "table": PART_PROGRAMS, "voices": VOICE_PARTS},
        sort_keys=True,
    )  # fmt: skip
    folder = source["folder"]
    if folder:  # a user folder: the key also covers its files (names, sizes, times)
        stats = [(str(p), p.stat().st_size, int(p.stat().st_mtime)) for p in list_music_files(folder)]
        spec += json.dumps(stats)
    return cache_dir / f"mmt-{hashlib.sha1(spec.encode()).hexdigest()[:16]}"


def _encode_pieces(
    source: dict, encoding: Encoding, cache_dir: Path, min_notes: int, workers: int | None, cache: Path
) -> None:
    names = []
    with new_cache_folder(cache) as tmp:
        writer = ShardWriter(tmp / "notes")
        for store in load_pieces_for(source, encoding.resolution, cache_dir, workers):
            for i in range(len(store)):
                notes = extract_notes(assign_programs(store[i]).music, encoding)
                if len(notes) >= min_notes:
                    writer.append(notes.astype(np.int32))
                    names.append(store.name(i))
        if not names:
            where = source["folder"] or ", ".join(source["collections"])
            raise InputFileError(Path(str(where)), f"no piece with at least {min_notes} encodable notes")
        writer.close()
        encoding.save(tmp / "encoding.json")
        (tmp / "names.json").write_text(json.dumps(names))
    log.info("encoded %d pieces into %s", len(names), cache)


# -- training samples ---------------------------------------------------------------------------
def layout_of(data: dict | None) -> str:
    """The layout a checkpoint's ``data`` hyper-parameters record (``time`` where they predate the option)."""
    return str((data or {}).get("layout") or "time")


def fit_infill(notes: np.ndarray, max_len: int, extra_rows: int = 0) -> np.ndarray:
    """The notes (sorted) before the latest beat at which they fit, with their header, marker, end-of-song and
    ``extra_rows`` more, in ``max_len`` rows (all of one beat when even that beat alone does not fit)."""
    room = max_len - len(np.unique(notes[:, 4])) - 4 - extra_rows
    if len(notes) <= room:
        return notes
    cut = int(notes[max(room, 0), 0])
    fit = notes[notes[:, 0] < cut]
    return fit if len(fit) else notes[notes[:, 0] == notes[0, 0]][: max(room, 1)]


def infill_sample(notes: np.ndarray, max_seq_len: int, rng: np.random.Generator | None = None,
                  drop_parts: float = 0.0, ahead: int | None = None) -> np.ndarray:  # fmt: skip
    """The infill layout of a window's notes (the interleaved one, the other parts ``ahead`` beats early, where
    ``ahead`` is given): with ``rng`` a random target part and each other part left out with probability
    ``drop_parts`` (at least one kept); without, the part ``len(notes) % n_parts`` (a fixed choice spread over
    parts) and no part left out. Cut at a beat to fit ``max_seq_len`` rows (:func:`fit_infill`)."""
    parts = np.unique(notes[:, 4])
    if not len(parts):
        return codes_from_notes(notes)
    if rng is None:
        target = int(parts[len(notes) % len(parts)])
    else:
        target = int(rng.choice(parts))
        others = parts[parts != target]
        dropped = others[rng.random(len(others)) < drop_parts]
        if len(dropped) == len(others) and len(others):
            dropped = np.delete(dropped, rng.integers(len(dropped)))
        notes = notes[~np.isin(notes[:, 4], dropped)]
    if ahead is None:
        return infill_codes(fit_infill(notes, max_seq_len), target)
    onset_rows = int((notes[:, 4] == target).sum())  # the interleaved layout writes each of the target's notes twice
    return interleave_codes(fit_infill(notes, max_seq_len, onset_rows), target, ahead)


def make_sample(
    notes: np.ndarray,
    max_beat: int,
    max_seq_len: int,
    rng: np.random.Generator | None = None,
    min_window_notes: int = 10,
    layout: str = "time",
    drop_parts: float = 0.0,
    ahead: int = 1,
) -> np.ndarray:
    """One code sequence from a piece's notes: with ``rng``, a random transposition (-5..+6, kept in
    range) and a random window of ``max_beat`` beats; without, the first ``max_beat`` beats as is. In the
    ``infill`` and ``interleave`` layouts, :func:`infill_sample` of that window (``ahead``: the interleaved one's)."""
    notes = np.array(notes, dtype=np.int64, copy=True)
    if rng is not None and len(notes):
        lo = max(-5, -int(notes[:, 2].min()))
        hi = min(6, 127 - int(notes[:, 2].max()))
        notes[:, 2] += int(rng.integers(lo, hi + 1)) if hi >= lo else 0
    last_beat = int(notes[:, 0].max()) if len(notes) else 0
    start = 0
    if last_beat >= max_beat and rng is not None:
        for _ in range(10):
            start = int(rng.integers(0, last_beat - max_beat + 2))
            n_in = np.count_nonzero((notes[:, 0] >= start) & (notes[:, 0] < start + max_beat))
            if n_in > min_window_notes:
                break
    notes = notes[(notes[:, 0] >= start) & (notes[:, 0] < start + max_beat)]
    notes[:, 0] -= start
    if layout in PART_LAYOUTS:
        return infill_sample(notes, max_seq_len, rng, drop_parts, ahead if layout == "interleave" else None)
    codes = codes_from_notes(notes)
    if len(codes) > max_seq_len:
        codes = np.concatenate([codes[: max_seq_len - 1], codes[-1:]])
    return codes


class MusicDataset(Dataset):
    """Code sequences of pieces (each piece's notes read when its sample is made); random (augmented) samples
    when ``augment``."""

    def __init__(self, pieces: Sequence[np.ndarray], max_beat: int, max_seq_len: int, augment: bool,
                 layout: str = "time", drop_parts: float = 0.0, ahead: int = 1):  # fmt: skip
        self.pieces, self.max_beat, self.max_seq_len, self.augment = pieces, max_beat, max_seq_len, augment
        self.layout, self.drop_parts, self.ahead = layout, drop_parts, ahead
        self._rng: np.random.Generator | None = None

    def __len__(self) -> int:
        return len(self.pieces)

    def __getitem__(self, i: int) -> torch.Tensor:
        rng = None
        if self.augment:
            if self._rng is None:  # one generator per worker process, seeded by torch's per-worker seed
                self._rng = np.random.default_rng(torch.initial_seed() % 2**32)
            rng = self._rng
        sample = make_sample(self.pieces[i], self.max_beat, self.max_seq_len, rng, layout=self.layout,
                             drop_parts=self.drop_parts, ahead=self.ahead)  # fmt: skip
        return torch.from_numpy(sample)


def part_targets(codes: np.ndarray) -> np.ndarray:
    """The rows an interleaved sample's positions learn to predict: the next row up to the marker, and from there on
    the added part's next row (a note's onset, the note, or end-of-song), whatever rows of the other parts come
    first. Those rows are given when a part is added (:func:`mmt.sampling.generate_among`), so the model never learns
    to predict them, and at every row it predicts what it is to write next."""
    codes = np.asarray(codes)
    targets = codes[1:].copy()
    at = infill_marker(codes)
    if at is None:
        return targets
    rows = np.arange(len(codes))
    ours = (rows > at) & (((codes[:, 0] == TYPE_NOTE) & (codes[:, 5] == codes[at, 5])) | (codes[:, 0] == TYPE_EOS))
    upcoming = np.minimum.accumulate(np.where(ours, rows, len(codes) - 1)[::-1])[::-1]  # the first such row from each
    targets[at:] = codes[upcoming[at + 1 :]]
    return targets


def collate(batch: list[torch.Tensor], part_loss: bool = False, next_note: bool = False) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence: ``x`` = rows[:-1], ``y`` = rows[1:] with padding = IGNORE_INDEX; with
    ``part_loss`` (infill samples) the rows up to the marker are IGNORE_INDEX too: only the added part is learned;
    with ``next_note`` (interleaved samples) ``y`` is :func:`part_targets`."""
    length = max(len(s) for s in batch)
    x = torch.zeros(len(batch), length - 1, 6, dtype=torch.long)
    y = torch.full((len(batch), length - 1, 6), IGNORE_INDEX, dtype=torch.long)
    for i, s in enumerate(batch):
        x[i, : len(s) - 1] = s[:-1]
        y[i, : len(s) - 1] = torch.from_numpy(part_targets(s.numpy())) if next_note else s[1:]
        marker = infill_marker(s.numpy()) if part_loss else None
        if marker is not None:
            y[i, :marker] = IGNORE_INDEX
    return {"x": x, "y": y}


class MMTDataModule(L.LightningDataModule):
    """Train/valid/test splits (8:1:1 by seed) of an encoded dataset."""

    def __init__(
        self,
        encoding: Encoding,
        collections: list[str] | None = None,
        folder: str | None = None,
        limit: int | None = None,
        max_beat: int = 256,
        max_seq_len: int = 1024,
        batch_size: int = 8,
        num_workers: int = 0,
        pin_memory: bool | str = "auto",
        persistent_workers: bool = True,
        seed: int = 0,
        cache_dir: str | None = None,
        min_notes: int = 50,
        convert_workers: int | None = None,
        layout: str = "time",
        drop_parts: float = 0.0,
        part_loss: bool = False,
        ahead: int = 1,
    ):
        super().__init__()
        if max_beat > encoding.max_beat:
            raise ConfigError(f"data.max_beat={max_beat} exceeds the encoding's max_beat={encoding.max_beat}")
        if layout not in LAYOUTS:
            raise ConfigError(f"data.layout={layout!r}; valid: {', '.join(LAYOUTS)}")
        if not 0.0 <= drop_parts < 1.0:
            raise ConfigError(f"data.drop_parts={drop_parts}: expected a probability in [0, 1)")
        if part_loss and layout != "infill":
            raise ConfigError("data.part_loss=true needs data.layout=infill (the loss of the added part's rows)")
        if ahead < 0:
            raise ConfigError(f"data.ahead={ahead}: expected a number of beats >= 0")
        self.layout, self.drop_parts, self.part_loss, self.ahead = layout, float(drop_parts), bool(part_loss), ahead
        self.encoding = encoding
        self.source = {"collections": list(collections or []), "folder": folder, "limit": limit}
        self.max_beat, self.max_seq_len, self.batch_size = max_beat, max_seq_len, batch_size
        self.loader_options = loader_options(num_workers, pin_memory, persistent_workers)
        self.seed, self.cache_dir, self.min_notes, self.convert_workers = seed, cache_dir, min_notes, convert_workers
        self.pieces: EncodedPieces | None = None
        self.splits: dict[str, list[str]] = {}

    def setup(self, stage: str | None = None) -> None:
        """Read the encoded dataset (encoded first, once per node under DDP) and split it 8:1:1 by seed."""
        if self.pieces is None:
            self.pieces = encoded_dataset(
                self.source, self.encoding, self.cache_dir, self.min_notes, self.convert_workers
            )
            self.splits = split_811(list(self.pieces), self.seed)
            if not self.splits["train"]:
                raise ConfigError(f"data: too few pieces ({len(self.pieces)}) for a train/valid/test split")

    def encoded(self) -> bool:
        """Whether the whole source is encoded in the cache already (:meth:`setup` then converts nothing)."""
        cache_dir = Path(self.cache_dir) if self.cache_dir else default_cache_dir()
        return (encoded_cache(self.source, self.encoding, cache_dir, self.min_notes) / "names.json").is_file()

    def dataset(self, split: str, augment: bool) -> MusicDataset:
        """The pieces of ``split`` as a dataset (augmented: random transposition and window)."""
        self.setup()
        assert self.pieces is not None
        return MusicDataset(self.pieces.select(self.splits[split]), self.max_beat, self.max_seq_len, augment,
                            self.layout, self.drop_parts, self.ahead)  # fmt: skip

    def _loader(self, split: str, augment: bool, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.dataset(split, augment),
            batch_size=self.batch_size,
            shuffle=shuffle,
            collate_fn=partial(collate, part_loss=self.part_loss, next_note=self.layout == "interleave"),
            drop_last=False,
            **self.loader_options,
        )

    def train_dataloader(self) -> DataLoader:
        """Batches of the training (shuffled, augmented) split."""
        return self._loader("train", True, True)

    def val_dataloader(self) -> DataLoader:
        """Batches of the validation split."""
        return self._loader("valid", False, False)

    def test_dataloader(self) -> DataLoader:
        """Batches of the test split."""
        return self._loader("test", False, False)


def save_split(datamodule: MMTDataModule, path: str | Path) -> Path:
    """Write the piece names of each split (and the source they name files of) as JSON, so that an evaluation
    reads only the pieces it needs (:func:`recorded_split`)."""
    datamodule.setup()
    atomic_write_text(path, json.dumps({"source": datamodule.source, **datamodule.splits}, indent=0))
    return Path(path)


class RecordSplit(L.Callback):
    """Writes the split's piece names (:func:`save_split`) into the run folder when training starts (rank zero)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            datamodule = trainer.datamodule
            save_split(getattr(datamodule, "music", datamodule), self.path)  # a baseline's data wraps MMT's


def file_beside(checkpoint: str | Path, name: str) -> Path | None:
    """The file ``name`` of a checkpoint (a file or a run folder): beside a shipped model's weights or in its run's
    folder; None where there is none."""
    checkpoint = Path(checkpoint)
    for folder in (checkpoint, checkpoint.parent, checkpoint.parent.parent):
        if (folder / name).is_file():
            return folder / name
    return None


def split_file(checkpoint: str | Path) -> Path | None:
    """The :data:`SPLIT_FILE` of a checkpoint: beside a shipped model's weights or in a run's folder."""
    return file_beside(checkpoint, SPLIT_FILE)


def source_root(data: Mapping) -> Path:
    """The folder a model's data (its ``data`` hyper-parameters) names its pieces under: ``folder``, or the corpus."""
    return Path(data["folder"]) if data.get("folder") else corpus_root()


def recorded_split(data: dict, encoding: Encoding, split: str, checkpoint: str | Path | None = None,
                   limit: int | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """``{name: notes}`` of one split (its first ``limit`` pieces) of the data a checkpoint records (its ``data``
    hyper-parameters). Where the checkpoint's :data:`SPLIT_FILE` names the pieces, they are read from the whole
    source's encoded cache if it exists, else only their files are converted; without one, the whole source is
    converted, to split it again."""
    recorded = split_file(checkpoint) if checkpoint else None
    datamodule = MMTDataModule(encoding, **{k: v for k, v in data.items() if k != "_target_"})
    if recorded is None or datamodule.encoded():
        datamodule.setup()
        assert datamodule.pieces is not None
        names = json.loads(recorded.read_text())[split] if recorded else datamodule.splits[split]
        return {name: datamodule.pieces[name] for name in names[:limit]}
    names = json.loads(recorded.read_text())[split][:limit]
    root = source_root(data)
    store = load_pieces([root / name for name in names], encoding.resolution, data.get("cache_dir"), root=root,
                        desc=f"converting {len(names)} {split} pieces")  # fmt: skip
    return {store.name(i): extract_notes(assign_programs(store[i]).music, encoding) for i in range(len(store))}
