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
    assert len(first) == 6 and len(list(tmp_path.glob("*.npz"))) == 1

    def must_not_parse(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(corpus, "read_music", must_not_parse)
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
