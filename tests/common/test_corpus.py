import os
import shutil
from pathlib import Path

import pytest

import gm_common.corpus as corpus
from gm_common.errors import ConfigError, InputFileError
from gm_common.notes import music_from_tracks, write_midi


def test_collections_are_listed():
    assert len(corpus.list_collection("bach_chorales")) >= 400
    quartets = corpus.list_collection("string_quartets")
    assert len(quartets) >= 40 and not any("k545" in str(p) for p in quartets)
    with pytest.raises(ConfigError, match="bach_chorales"):
        corpus.list_collection("no_such_collection")


def test_split_is_deterministic_and_disjoint():
    names = [f"piece{i}" for i in range(409)]
    a, b = corpus.split_811(names, seed=0), corpus.split_811(list(reversed(names)), seed=0)
    assert a == b
    assert corpus.split_811(names, seed=1) != a
    sets = [set(a[k]) for k in ("train", "valid", "test")]
    assert sum(len(s) for s in sets) == len(names) and set().union(*sets) == set(names)
    assert len(a["valid"]) == len(a["test"]) == 41


def test_collection_cache_is_used_on_second_load(tmp_path, monkeypatch):
    paths = corpus.list_collection("bach_chorales")[:6]
    first = corpus.load_pieces(paths, resolution=12, cache_dir=tmp_path)
    assert len(first) == 6 and [p.name for p in tmp_path.iterdir()] == [first.folder.name]

    def must_not_parse(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(corpus, "read_tracks", must_not_parse)
    second = corpus.load_pieces(paths, resolution=12, cache_dir=tmp_path)
    assert [p.name for p in second] == [p.name for p in first]
    for a, b in zip(first, second):
        assert [(t.name, t.program, t.is_drum) for t in a.music.tracks] == [
            (t.name, t.program, t.is_drum) for t in b.music.tracks
        ]
        assert [[(n.time, n.pitch, n.duration) for n in t.notes] for t in a.music.tracks] == [
            [(n.time, n.pitch, n.duration) for n in t.notes] for t in b.music.tracks
        ]


def test_user_folder_is_loaded_recursively_and_bad_files_reported(tmp_path, caplog):
    import numpy as np

    (tmp_path / "a" / "b").mkdir(parents=True)
    music = music_from_tracks([("Piano", 0, False, np.array([[0, 60, 12], [12, 64, 12]]))], 12)
    write_midi(music, tmp_path / "a" / "one.mid")
    write_midi(music, tmp_path / "a" / "b" / "two.midi")
    (tmp_path / "a" / "bad.mid").write_bytes(b"not a midi file")
    (tmp_path / "a" / "notes.txt").write_text("ignored")
    pieces = corpus.load_folder(tmp_path / "a", resolution=12, cache_dir=tmp_path / "cache")
    assert sorted(p.name for p in pieces) == ["b/two.midi", "one.mid"]
    assert "skipped 1 of 3 files" in caplog.text
    with pytest.raises(InputFileError, match="no music files"):
        corpus.load_folder(tmp_path / "cache", resolution=12, cache_dir=tmp_path / "cache2")


def test_shards_are_read_lazily_in_order_and_pickle_without_their_maps(tmp_path):
    import pickle

    import numpy as np

    items = [np.arange(3 * n, dtype=np.int32).reshape(n, 3) for n in (2, 0, 5, 1, 4)]
    writer = corpus.ShardWriter(tmp_path / "s", shard_rows=6)
    for item in items:
        writer.append(item)
    writer.close()
    assert len(list((tmp_path / "s").glob("shard-*.npy"))) == 3  # 2+0 | 5+1 | 4: no item split across shards
    arrays = corpus.ShardedArrays(tmp_path / "s")
    assert len(arrays) == 5 and arrays.lengths.tolist() == [2, 0, 5, 1, 4]
    assert all(np.array_equal(a, b) for a, b in zip(arrays, items))
    assert isinstance(arrays[2].base, np.memmap) or isinstance(arrays[2], np.memmap)
    assert not arrays[2].flags.writeable
    copy = pickle.loads(pickle.dumps(arrays))
    assert copy._shards is None and len(pickle.dumps(arrays)) < 1000
    assert [len(a) for a in copy.subset([4, 0])] == [4, 2] and np.array_equal(copy.subset([4, 0])[0], items[4])


def _random_midi(path, seed: int, n: int = 40) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = np.column_stack([np.arange(n) * 12, rng.integers(40, 90, n), np.full(n, 12)])
    write_midi(music_from_tracks([("Piano", 0, False, rows), ("Bass", 33, False, rows - [0, 24, 0])], 12), path)


@pytest.mark.parametrize("workers", [1, 2])
def test_corrupt_files_among_good_ones_are_skipped_and_counted(tmp_path, caplog, workers):
    folder = tmp_path / "songs"
    for i in range(6):
        _random_midi(folder / f"song{i}.mid", seed=i)
    (folder / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x00\x0cMTrk\xff\xff")
    (folder / "empty.mid").write_bytes(b"")
    store = corpus.load_folder(folder, 12, tmp_path / "cache", workers=workers)
    assert [store.name(i) for i in range(len(store))] == [f"song{i}.mid" for i in range(6)]
    assert "skipped 2 of 8 files" in caplog.text and len(store.skipped) == 2
    assert any("corrupt.mid" in reason for reason in store.skipped)
    assert store.n_notes() == 6 * 80
    name, program, is_drum, notes = store.tracks(5)[1]
    assert (name, program, is_drum) == ("Bass", 33, False) and notes.shape == (40, 4)
    assert [(t.name, len(t.notes)) for t in store[-1].music.tracks] == [("Piano", 40), ("Bass", 40)]
    with pytest.raises(IndexError):
        store.tracks(6)


def test_cache_travels_with_a_copied_folder_and_follows_its_contents(tmp_path, monkeypatch):
    for i in range(2):
        _random_midi(tmp_path / "a" / f"{i}.mid", seed=i)
    first = corpus.load_folder(tmp_path / "a", 12, tmp_path / "cache")
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "a")  # another place, newer times
    os.utime(tmp_path / "elsewhere" / "a" / "0.mid", (2e9, 2e9))
    monkeypatch.setattr(corpus, "read_tracks", lambda *a, **k: pytest.fail("the copied cache should be used"))
    assert corpus.load_folder(tmp_path / "elsewhere" / "a", 12, tmp_path / "cache").folder == first.folder

    monkeypatch.undo()
    (tmp_path / "elsewhere" / "a" / "0.mid").unlink()
    _random_midi(tmp_path / "elsewhere" / "a" / "0.mid", seed=7)  # new contents: a new conversion
    assert corpus.load_folder(tmp_path / "elsewhere" / "a", 12, tmp_path / "cache").folder != first.folder


def test_worker_count_follows_the_request_else_what_the_files_are_worth():
    midi = [Path(f"{i}.mid") for i in range(3 * corpus.MIDI_FILES_PER_WORKER)]
    scores = [Path(f"{i}.mxl") for i in range(corpus.SCORE_FILES_PER_WORKER - 1)]
    assert corpus.convert_workers(2, midi[:1]) == 1 and corpus.convert_workers(2, midi[:5]) == 2
    assert corpus.convert_workers(None, midi[:100] + scores) == 1  # starting a worker costs more than it saves
    assert corpus.convert_workers(None, midi) == min(3, len(os.sched_getaffinity(0)))


def test_midi_read_straight_into_arrays_matches_read_music(tmp_path):
    import numpy as np

    from gm_common.notes import read_music, read_tracks, tracks_from_music

    _random_midi(tmp_path / "a.mid", seed=3)
    for resolution in (12, 5):  # as written, and re-quantised (short notes keep one tick)
        tracks, qpm = read_tracks(tmp_path / "a.mid", resolution)
        music = read_music(tmp_path / "a.mid", resolution)
        expected = tracks_from_music(music)
        assert [t[:3] for t in tracks] == [t[:3] for t in expected] and qpm == music.tempos[0].qpm
        assert all(np.array_equal(a[3], b[3]) for a, b in zip(tracks, expected))
        assert min(int(t[3][:, 2].min()) for t in tracks) >= 1


@pytest.mark.parametrize("workers", [1, 2])
def test_pieces_keep_the_file_order_although_the_largest_are_converted_first(tmp_path, workers):
    folder = tmp_path / "songs"
    sizes = [5, 60, 20, 90, 10]  # notes per track: the files are converted largest first
    for i, n in enumerate(sizes):
        _random_midi(folder / f"song{i}.mid", seed=i, n=n)
    store = corpus.load_folder(folder, 12, tmp_path / "cache", workers=workers)
    assert [store.name(i) for i in range(len(store))] == [f"song{i}.mid" for i in range(5)]
    assert [[len(t[3]) for t in store.tracks(i)] for i in range(5)] == [[n, n] for n in sizes]
    assert [t[0] for t in store.tracks(3)] == ["Piano", "Bass"] and store.tracks(3)[1][3][0, 1] < store.tracks(3)[0][3][
        0, 1
    ]
