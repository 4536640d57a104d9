import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from gm_common.errors import ConfigError
from mmt.data import (
    IGNORE_INDEX,
    MMTDataModule,
    collate,
    encoded_dataset,
    fit_infill,
    layout_of,
    make_sample,
    part_targets,
)
from mmt.representation import (
    TYPE_EOS,
    TYPE_NOTE,
    Encoding,
    codes_from_notes,
    infill_marker,
    interleave_codes,
    notes_from_infill,
)

ENC = Encoding()


def _notes(n_beats=100):
    rng = np.random.default_rng(0)
    rows = {(b, int(rng.integers(0, 12)), int(rng.integers(50, 70)), 12, 25) for b in range(n_beats) for _ in range(2)}
    return np.array(sorted(rows))


def test_make_sample_window_transpose_and_cut():
    notes = _notes()
    rng = np.random.default_rng(1)
    for _ in range(20):
        s = make_sample(notes, max_beat=16, max_seq_len=40, rng=rng)
        assert len(s) <= 40 and s[-1, 0] == TYPE_EOS and s[0].tolist() == [0] * 6
        body = s[s[:, 0] == TYPE_NOTE]
        assert body[:, 1].max() <= 16 and body[:, 1].min() >= 1
    plain = make_sample(notes, max_beat=16, max_seq_len=10_000, rng=None)
    body = plain[plain[:, 0] == TYPE_NOTE]
    assert np.array_equal(body[:, 3] - 1, notes[notes[:, 0] < 16, 2])  # no transposition without rng
    # transposition keeps pitches in range
    high = notes.copy()
    high[:, 2] = 127
    s = make_sample(high, 16, 1000, rng)
    assert s[s[:, 0] == TYPE_NOTE, 3].max() <= 128


def test_collate_pads_with_ignore_index():
    a, b = torch.ones(5, 6, dtype=torch.long), torch.ones(3, 6, dtype=torch.long) * 2
    batch = collate([a, b])
    assert batch["x"].shape == (2, 4, 6)
    assert (batch["y"][1, 2:] == IGNORE_INDEX).all() and (batch["y"][1, :2] == 2).all()


def test_datamodule_split_and_cache(cache_dir):
    dm = MMTDataModule(ENC, collections=["bach_chorales"], limit=12, max_beat=32, max_seq_len=128, batch_size=4,
                       cache_dir=str(cache_dir))  # fmt: skip
    dm.setup()
    splits = dm.splits
    assert len(splits["train"]) + len(splits["valid"]) + len(splits["test"]) == len(dm.pieces)
    assert not set(splits["train"]) & set(splits["test"])
    assert (dm.pieces.notes.folder.parent / "encoding.json").is_file()
    again = encoded_dataset(dm.source, ENC, cache_dir)  # from the cache
    assert all(np.array_equal(again[k], dm.pieces[k]) for k in dm.pieces)
    batch = next(iter(dm.train_dataloader()))
    assert batch["x"].shape[0] == 4 and batch["x"].shape[1] <= 127


def test_user_folder_of_midi_files(tmp_path):
    from gm_common.notes import music_from_tracks, write_midi

    folder = tmp_path / "songs"
    rng = np.random.default_rng(0)
    for i in range(5):
        rows = np.array([[t * 240, int(rng.integers(48, 84)), 240] for t in range(80)])
        music = music_from_tracks([("Violin", 40, False, rows), ("Cello", 42, False, rows - [0, 24, 0])], 480)
        write_midi(music, folder / f"sub/song{i}.mid")
    (folder / "broken.mid").write_bytes(b"not midi")  # skipped with a warning
    dm = MMTDataModule(
        ENC, folder=str(folder), max_beat=64, max_seq_len=128, batch_size=2, cache_dir=str(tmp_path / "c")
    )
    dm.setup()
    assert len(dm.pieces) == 5 and len(dm.splits["test"]) == 1
    notes = next(iter(dm.pieces.values()))
    assert set(notes[:, 4].tolist()) == {ENC.instrument_code("violin"), ENC.instrument_code("cello")}


def test_chorales_encode_as_four_voice_tracks_and_merged_as_one(cache_dir):
    source = {"collections": ["bach_chorales"], "folder": None, "limit": 12}
    split = encoded_dataset(source, ENC, cache_dir)
    merged = encoded_dataset(source, Encoding(voices="merged"), cache_dir)
    satb = {ENC.instrument_code(n) for n in ("soprano", "alto", "tenor", "bass")}
    voices = Encoding(voices="merged").instrument_code("voices")
    assert split.keys() == merged.keys() and len(split) >= 10
    for name, notes in split.items():
        vocal = {int(c) for c in np.unique(notes[:, 4]) if ENC.instrument_programs[c - 1] == 52}
        assert vocal == satb, name  # every chorale: its four parts, each its own class
        assert voices in merged[name][:, 4] and len(notes) >= len(merged[name])
    plain = [n for n, notes in split.items() if set(np.unique(notes[:, 4]).tolist()) == satb]
    assert len(plain) >= 8 and all(set(np.unique(merged[n][:, 4]).tolist()) == {voices} for n in plain)


def test_convert_workers_key_reaches_the_conversion_and_training_reads_the_shards_lazily(tmp_path, monkeypatch):
    import pickle

    from hydra.utils import instantiate

    import gm_common.corpus as corpus
    from gm_common.cli import compose
    from gm_common.notes import music_from_tracks, write_midi

    rng = np.random.default_rng(0)
    for i in range(6):
        rows = np.array([[t * 12, int(rng.integers(48, 84)), 12] for t in range(60)])
        write_midi(music_from_tracks([("Violin", 40, False, rows)], 12), tmp_path / "songs" / f"song{i}.mid")
    requested, real = [], corpus.convert_workers

    def spy(workers, paths):
        requested.append(workers)
        return real(workers, paths)

    monkeypatch.setattr(corpus, "convert_workers", spy)
    overrides = ["data=folder", f"data.folder={tmp_path / 'songs'}", f"data.cache_dir={tmp_path / 'c'}",
                 "data.convert_workers=2", "data.max_beat=32", "data.batch_size=2"]  # fmt: skip
    cfg = compose("mmt", "train", overrides)
    dm = instantiate(cfg.data, _partial_=True, _convert_="all")(encoding=ENC)
    dm.setup()
    assert requested == [2] and len(dm.pieces) == 6
    train = dm.dataset("train", augment=True)
    assert isinstance(train.pieces, corpus.ShardedArrays) and len(train) == len(dm.splits["train"])
    assert len(pickle.dumps(train)) < 2000  # DataLoader workers get the index, not the notes
    assert np.array_equal(train.pieces[0], dm.pieces[dm.splits["train"][0]])
    assert len(train[0]) > 10


@pytest.mark.slow
def test_ddp_converts_and_encodes_once_per_node(tmp_path):
    from tests.mmt.conftest import tiny_overrides

    cache = tmp_path / "cache"
    overrides = [*tiny_overrides(cache, tmp_path / "run", steps=2), "trainer=ddp_cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mmt.train", *overrides], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "weights agree across 2 ranks" in proc.stdout
    assert proc.stderr.count("converting bach_chorales:   0%") == 1  # one rank converted; the other read the cache
    assert len(list(cache.glob("pieces-*"))) == len(list(cache.glob("mmt-*"))) == 1


def test_a_run_records_its_split_and_evaluations_convert_only_the_pieces_they_read(trained_run, monkeypatch, tmp_path):
    import json

    import mmt.data
    from gm_common.checkpoint import load_checkpoint
    from mmt.data import SPLIT_FILE, recorded_split, split_file

    recorded = json.loads((trained_run / SPLIT_FILE).read_text())
    data = load_checkpoint(trained_run / "checkpoints" / "last.ckpt")["hyper_parameters"]["data"]
    full = recorded_split(data, ENC, "test")  # without the file: the whole source is converted and split again
    assert list(full) == recorded["test"] and recorded["source"]["collections"] == ["bach_chorales"]
    assert not set(recorded["test"]) & set(recorded["train"]) and len(recorded["train"]) > len(recorded["test"])
    assert split_file(trained_run / "checkpoints" / "best.ckpt") == trained_run / SPLIT_FILE

    converted = []
    real = mmt.data.load_pieces
    monkeypatch.setattr(mmt.data, "load_pieces_for", lambda *a, **k: pytest.fail("converted the whole source"))
    monkeypatch.setattr(mmt.data, "load_pieces", lambda paths, *a, **k: converted.append(paths) or real(paths, *a, **k))
    cached = recorded_split(data, ENC, "valid", trained_run)  # the whole source is encoded: read from its cache
    assert list(cached) == recorded["valid"] and not converted
    data = {**data, "cache_dir": str(tmp_path)}  # a new machine: nothing cached
    first = recorded_split(data, ENC, "test", trained_run / "checkpoints" / "best.ckpt", limit=1)
    assert list(first) == recorded["test"][:1]
    assert [p.name for p in converted[0]] == [recorded["test"][0].split("/")[-1]]
    np.testing.assert_array_equal(first[recorded["test"][0]], full[recorded["test"][0]])


def _four_parts(n_beats=40):
    """Four parts (codes 25..28), one note per beat each."""
    return np.array(sorted((b, 0, 60 + 3 * i, 12, 25 + i) for b in range(n_beats) for i in range(4)))


def test_infill_samples_put_a_random_part_last_and_drop_others():
    notes = _four_parts()
    rng = np.random.default_rng(0)
    targets, kept = set(), []
    for _ in range(60):
        s = make_sample(notes, 16, 1000, rng, layout="infill", drop_parts=0.5)
        context, added, target = notes_from_infill(s, ENC)
        assert s[-1, 0] == TYPE_EOS and len(added) == 16 and (added[:, 4] == target).all()
        parts = set(np.unique(context[:, 4]).tolist())
        assert 1 <= len(parts) <= 3 and target not in parts  # at least one other part stays
        targets.add(target)
        kept.append(len(parts))
    assert targets == {25, 26, 27, 28} and min(kept) < 3 and max(kept) == 3
    plain = make_sample(notes, 16, 1000, None, layout="infill")  # validation: fixed target, nothing dropped
    assert np.array_equal(plain, make_sample(notes, 16, 1000, None, layout="infill"))
    assert len(np.unique(notes_from_infill(plain, ENC)[0][:, 4])) == 3
    # the time layout is as before
    assert infill_marker(make_sample(notes, 16, 1000, np.random.default_rng(0))) is None


def test_interleaved_samples_hold_the_infill_samples_notes_in_the_interleaved_order():
    notes = _four_parts()
    for seed in range(5):
        infill = make_sample(notes, 16, 1000, np.random.default_rng(seed), layout="infill", drop_parts=0.5)
        mixed = make_sample(notes, 16, 1000, np.random.default_rng(seed), layout="interleave", drop_parts=0.5, ahead=2)
        context, added, target = notes_from_infill(infill, ENC)
        assert np.array_equal(mixed, interleave_codes(np.unique(np.concatenate([context, added]), axis=0), target, 2))
    assert len(make_sample(notes, 100, 60, None, layout="interleave")) <= 60  # cut as the infill layout


def test_an_interleaved_sample_learns_the_added_parts_next_note_at_every_row():
    notes = np.array(sorted((b, 0, 60 + i, 12, code) for b in range(3) for i, code in enumerate((25, 26, 27))))
    codes = interleave_codes(notes, 27, 1)
    targets = part_targets(codes)
    marker = infill_marker(codes)
    assert np.array_equal(targets[:marker], codes[1 : marker + 1])  # the header: the next row
    ours = [i for i in range(marker + 1, len(codes)) if codes[i, 5] == 27 or codes[i, 0] == TYPE_EOS]
    for i in range(marker, len(codes) - 1):  # then the part's next note (or end-of-song), whatever comes between
        assert np.array_equal(targets[i], codes[min(j for j in ours if j > i)])
    assert (targets[marker:, 5] != 25).all() and (targets[marker:, 5] != 26).all()  # never another part's note
    batch = collate([torch.from_numpy(codes)], next_note=True)
    assert torch.equal(batch["y"][0], torch.from_numpy(targets))
    assert torch.equal(batch["x"][0], torch.from_numpy(codes[:-1]))
    assert np.array_equal(part_targets(codes_from_notes(notes)), codes_from_notes(notes)[1:])  # time layout: as ever


def test_an_infill_sample_is_cut_at_a_beat_so_that_the_target_fits():
    notes = _four_parts(100)
    s = make_sample(notes, 100, 60, None, layout="infill")
    context, added, target = notes_from_infill(s, ENC)
    assert len(s) <= 60 and len(added) > 0
    assert context[:, 0].max() == added[:, 0].max()  # every part cut at the same beat
    assert len(fit_infill(notes, 60)) == 4 * 13  # 60 rows: 4 instruments, 4 more rows, 13 whole beats of 4 notes


def test_layout_option_checks_and_is_recorded(cache_dir):
    with pytest.raises(ConfigError, match="data.layout='bars'; valid: time, infill, interleave"):
        MMTDataModule(ENC, collections=["bach_chorales"], layout="bars")
    with pytest.raises(ConfigError, match="drop_parts"):
        MMTDataModule(ENC, collections=["bach_chorales"], layout="infill", drop_parts=1.0)
    with pytest.raises(ConfigError, match="data.ahead=-1: expected a number of beats >= 0"):
        MMTDataModule(ENC, collections=["bach_chorales"], layout="interleave", ahead=-1)
    assert layout_of(None) == layout_of({"max_beat": 32}) == "time" and layout_of({"layout": "infill"}) == "infill"
    dm = MMTDataModule(ENC, collections=["bach_chorales"], limit=12, max_beat=32, max_seq_len=128, batch_size=4,
                       cache_dir=str(cache_dir), layout="infill", drop_parts=0.3)  # fmt: skip
    batch = next(iter(dm.train_dataloader()))
    for row in batch["x"]:
        assert infill_marker(row.numpy()) is not None
    dm.layout = "interleave"  # its batches learn the part's next note
    batch = next(iter(dm.train_dataloader()))
    for x, y in zip(batch["x"], batch["y"]):
        at = infill_marker(x.numpy())
        note = (y[at:, 0] == TYPE_NOTE) & (y[at:, 5] == x[at, 5])
        assert (note | (y[at:, 0] == TYPE_EOS) | (y[at:, 0] == IGNORE_INDEX)).all()


def test_part_loss_learns_only_the_added_parts_rows():
    notes = np.array([[b, 0, 60 + p, 4, p] for b in range(4) for p in (1, 2, 3)], dtype=np.int64)
    sample = torch.from_numpy(make_sample(notes, 8, 64, layout="infill"))
    marker = infill_marker(sample.numpy())
    whole, part = collate([sample]), collate([sample], part_loss=True)
    assert torch.equal(whole["x"], part["x"])
    assert (part["y"][0, :marker] == IGNORE_INDEX).all()  # the other parts and the marker: context, not learned
    assert torch.equal(part["y"][0, marker:], whole["y"][0, marker:])  # the added part's notes and end-of-song
    assert (part["y"][0, marker:, 0] != IGNORE_INDEX).sum() == 5  # four notes, then end-of-song


def test_part_loss_needs_the_infill_layout():
    with pytest.raises(ConfigError, match="data.part_loss=true needs data.layout=infill"):
        MMTDataModule(Encoding(), collections=["bach_chorales"], part_loss=True)
