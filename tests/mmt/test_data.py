import numpy as np
import torch

from mmt.data import IGNORE_INDEX, MMTDataModule, collate, encoded_dataset, make_sample
from mmt.representation import TYPE_EOS, TYPE_NOTE, Encoding

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
    assert list(cache_dir.glob("mmt-*.npz")) and list(cache_dir.glob("mmt-*.encoding.json"))
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
