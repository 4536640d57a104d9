import numpy as np
import pytest

from arranger.data import DATASETS, piece_to_example, split_examples, track_label
from arranger.representation import collate, decode, encode, entry_hints, make_features, pitch_hints
from gm_common.corpus import Piece
from gm_common.notes import music_from_tracks


def test_entry_hints_per_part_no_shift():
    time = np.array([0, 0, 24, 48, 48, 72])
    labels = np.array([0, 1, 0, 2, 1, 0])
    hints = entry_hints(time, labels, 4)
    # part 0 and 1 enter at 0, part 2 at 48, part 3 never
    assert hints[:, 0].tolist() == [0, 0, 1, 1, 1, 1]
    assert hints[:, 1].tolist() == [0, 0, 1, 1, 1, 1]
    assert hints[:, 2].tolist() == [-1, -1, -1, 0, 0, 1]
    assert hints[:, 3].tolist() == [-1] * 6


def test_pitch_hints_and_transpose():
    notes = np.array([[0, 60, 24, 0], [0, 48, 24, 1], [24, 72, 24, 0]])
    ph = pitch_hints(notes[:, 1], notes[:, 3], 3)
    assert ph[0].tolist() == [0.5, 1.0] and ph[1].tolist() == [-1.0, 1.0] and ph[2].tolist() == [0.0, 0.0]
    f = make_features(notes, 3, transpose=2)
    assert f["pitch"].tolist() == [62, 50, 74]
    assert f["position"].tolist() == [0, 0, 0] and f["beat"].tolist() == [0, 0, 1]


def test_collate_pads_and_masks():
    a = make_features(np.array([[0, 60, 24, 1]]), 4)
    b = make_features(np.array([[0, 60, 24, 2], [6, 62, 300, 3]]), 4)
    batch = collate([a, b])
    assert batch["mask"].tolist() == [[True, False], [True, True]]
    assert batch["label"][0, 1].item() == -100
    assert batch["duration"][1, 1].item() == 192  # clipped
    assert batch["position"][1, 1].item() == 6


def test_encode_sorts_and_dedups():
    tracks = [
        ("a", 0, False, np.array([[24, 60, 24, 80], [0, 64, 24, 81]])),
        ("b", 0, False, np.array([[0, 60, 24, 82], [0, 60, 24, 83], [0, 62, 0, 84]])),
        ("d", 0, True, np.array([[12, 36, 6]])),
    ]
    music = music_from_tracks(tracks, 24)
    enc = encode(music, [1, 2, None], dedup=True)
    assert enc.notes.tolist() == [[0, 64, 24, 81], [0, 60, 24, 82], [24, 60, 24, 80]]  # no copy, no 0 duration
    assert enc.parts.tolist() == [1, 2, 1] and enc.drums.tolist() == [[12, 36, 6, 64]]
    everything = encode(music)  # by default a track's part is its rank among the pitched tracks
    assert everything.parts.tolist() == [0, 1, 1, 1, 0] and len(everything.notes) == 5


def test_decode_inverts_encode():
    tracks = [
        (name, 0, False, np.array([[0, 72 - 7 * i, 24, 90], [24, 70 - 7 * i, 12, 70]])) for i, name in enumerate("SATB")
    ]
    music = music_from_tracks(tracks + [("d", 0, True, np.array([[0, 36, 6, 100]]))], 24, tempo_qpm=90.0)
    enc = encode(music)
    dataset = {"name": "x", "labels": list("SATB"), "programs": [73, 68, 71, 70]}
    out = decode(enc.notes, enc.parts, dataset, drums=enc.drums, qpm=enc.qpm)
    assert [t.program for t in out.tracks] == [73, 68, 71, 70, 0] and out.tracks[-1].is_drum
    assert out.tempos[0].qpm == 90.0
    again = encode(out)
    assert again.notes.tolist() == enc.notes.tolist() and again.parts.tolist() == enc.parts.tolist()


def _piece(names):
    tracks = [(n, 0, False, np.array([[0, 60 - 5 * i, 24]])) for i, n in enumerate(names)]
    return Piece("x", music_from_tracks(tracks, 24))


def test_bach_mapping_rule():
    spec = DATASETS["bach"]
    ex = piece_to_example(spec, _piece(["Horn 2", "Soprano", "Alto", "Tenor", "Bass"]))
    assert ex is not None and sorted(ex.notes[:, 3].tolist()) == [0, 1, 2, 3]
    assert piece_to_example(spec, _piece(["Soprano 1", "Soprano 2", "Alto", "Tenor", "Bass"])) is None
    assert piece_to_example(spec, _piece(["Soprano", "Alto", "Tenor"])) is None
    assert track_label(spec, "Soprano\rOboe 1,2", 0, False) == 0


def test_quartets_by_score_order():
    ex = piece_to_example(DATASETS["quartets"], _piece(["Violin I", "Violin I", "Viola", "Cello"]))
    assert ex.notes[:, 3].tolist() == [0, 1, 2, 3]
    assert piece_to_example(DATASETS["quartets"], _piece(["A", "B", "C"])) is None


def test_quartet_names_from_a_folder():
    names = {
        "Violin I": 0, "1st Violin": 0, "violin1": 0, "Vln. 1": 0, "Violino I": 0,
        "Violin II": 1, "2nd Violin": 1, "Violino II": 1, "vn 2": 1,
        "Viola": 2, "Vla.": 2, "Violoncello": 3, "Cello": 3, "Vc.": 3,
        "Violin": None, "Piano": None, "": None,
    }  # fmt: skip
    assert {n: track_label(DATASETS["quartets"], n, 40, False) for n in names} == names
    # From a folder, tracks go by name: two tracks may share a part, an unnamed one is dropped, and a piece
    # without all four parts is kept; the corpus's score order would have refused this piece (five tracks).
    piece = _piece(["Violino I", "Violino II", "Viola", "Violoncello", "Violoncello"])
    assert piece_to_example(DATASETS["quartets"], piece) is None
    ex = piece_to_example(DATASETS["quartets"], piece, from_folder=True)
    assert sorted(ex.notes[:, 3].tolist()) == [0, 1, 2, 3, 3]
    ex = piece_to_example(DATASETS["quartets"], _piece(["Violin 2", "Cello", "Harpsichord"]), from_folder=True)
    assert sorted(ex.notes[:, 3].tolist()) == [1, 3]


def test_pop_and_game_program_mapping():
    assert track_label(DATASETS["pop"], "", 33, False) == 2
    assert track_label(DATASETS["pop"], "", 118, False) is None
    assert track_label(DATASETS["game"], "", 81, False) == 1
    assert track_label(DATASETS["game"], "p1", 0, False) == 0
    assert track_label(DATASETS["pop"], "", 0, True) is None  # drums never a part


def test_corpus_examples_and_split(examples):
    assert len(examples) >= 10
    for ex in examples:
        assert set(np.unique(ex.notes[:, 3])) <= {0, 1, 2, 3}
        assert np.all(np.diff(ex.notes[:, 0]) >= 0)
    s1, s2 = split_examples(examples, 0), split_examples(examples, 0)
    names = [[e.name for e in s1[k]] for k in ("train", "valid", "test")]
    assert names == [[e.name for e in s2[k]] for k in ("train", "valid", "test")]
    assert sum(map(len, names)) == len(examples) and len(set(sum(names, []))) == len(examples)


def test_dataset_spec_errors():
    from arranger.data import get_spec, load_examples
    from gm_common.errors import ConfigError

    with pytest.raises(ConfigError):
        get_spec("nope")
    with pytest.raises(ConfigError, match="folder"):
        load_examples("pop")


def test_folder_dataset_pop_with_drums(tmp_path):
    from arranger.data import load_examples
    from gm_common.notes import write_midi

    folder = tmp_path / "pop"
    for i in range(3):
        tracks = [
            ("p", 0, False, np.array([[0, 72, 24], [24, 74, 24]])),
            ("g", 25, False, np.array([[0, 64, 24]])),
            ("b", 33, False, np.array([[0, 40, 48]])),
            ("s", 49, False, np.array([[0, 60, 96]])),
            ("x", 118, False, np.array([[0, 50, 12]])),
            ("d", 0, True, np.array([[0, 36, 12], [12, 42, 12]])),
        ]
        write_midi(music_from_tracks(tracks, 24), folder / f"song{i}.mid")
    exs = load_examples("pop", folder=str(folder), cache_dir=str(tmp_path / "cache"))
    assert len(exs) == 3
    ex = exs[0]
    assert sorted(ex.notes[:, 3].tolist()) == [0, 0, 1, 2, 3]  # program 118 dropped
    assert len(ex.drums) == 2  # drums kept aside


def test_quartets_train_from_a_folder_of_midi_files(tmp_path):
    """The paper's quartets (MusicNet's MIDI files) are not embedded: ``data.folder=`` reads them instead of the
    corpus, tracks mapped by name, and a model trains and is tested on them through the config."""
    import json

    from arranger.data import load_examples
    from arranger.train import run
    from gm_common.cli import compose
    from gm_common.notes import write_midi

    rng = np.random.default_rng(0)
    folder = tmp_path / "musicnet" / "Beethoven"
    for i in range(10):
        tracks = []
        for k, (name, low) in enumerate([("Violin I", 67), ("Violin II", 62), ("Viola", 55), ("Violoncello", 43)]):
            times = np.arange(0, 24 * 40, 24)
            notes = np.column_stack([times, low + rng.integers(0, 9, 40), [24] * 40])
            tracks.append((name, 40 + max(0, k - 1), False, notes))
        write_midi(music_from_tracks(tracks, 24), folder / f"{2100 + i}_quartet.mid")
    cache = tmp_path / "cache"
    examples = load_examples("quartets", folder=str(tmp_path / "musicnet"), cache_dir=str(cache))
    assert len(examples) == 10 and all(sorted(set(ex.notes[:, 3].tolist())) == [0, 1, 2, 3] for ex in examples)
    run_dir = tmp_path / "run"
    overrides = ["experiment=tiny", "model=lstm", "data=quartets", f"data.folder={tmp_path / 'musicnet'}"]
    overrides += [f"data.cache_dir={cache}", f"run_dir={run_dir}", "trainer.progress_refresh_rate=1000"]
    run(compose("arranger", "train", overrides))
    metrics = json.loads((run_dir / "test_metrics.json").read_text())
    (test,) = split_examples(list(examples))["test"]
    assert metrics["dataset"] == "quartets" and metrics["pieces"] == 1 and metrics["notes"] == len(test)
