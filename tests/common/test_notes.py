import muspy
import numpy as np
import pytest

from gm_common.corpus import list_collection
from gm_common.errors import InputFileError
from gm_common.files import OutputExistsError
from gm_common.notes import music_from_tracks, note_table, read_music, write_midi


def _multitrack(resolution: int = 12) -> muspy.Music:
    rng = np.random.default_rng(0)
    tracks = []
    for name, program, is_drum in [("Violin", 40, False), ("Cello", 42, False), ("Drums", 0, True)]:
        times = np.sort(rng.integers(0, 40 * resolution, 60))
        notes = np.stack(
            [times, rng.integers(36, 90, 60), rng.integers(1, 3 * resolution, 60), rng.integers(30, 120, 60)], 1
        )
        # MIDI cannot tell apart overlapping notes of one pitch in one track: keep the first of each overlap.
        busy_until: dict[int, int] = {}
        keep = []
        for t, p, d, _ in notes:
            if busy_until.get(p, -1) <= t:
                keep.append(True)
                busy_until[p] = t + d
            else:
                keep.append(False)
        tracks.append((name, program, is_drum, notes[np.array(keep)]))
    return music_from_tracks(tracks, resolution, tempo_qpm=93.0)


@pytest.mark.parametrize("resolution", [12, 24])
def test_midi_round_trip_keeps_every_note(tmp_path, resolution):
    music = _multitrack(resolution)
    path = write_midi(music, tmp_path / "song.mid")
    back = read_music(path, resolution=resolution)
    assert back.resolution == resolution
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == [
        (t.name, t.program, t.is_drum) for t in music.tracks
    ]
    a, b = note_table(music), note_table(back)
    fields = ["time", "pitch", "duration", "program", "is_drum", "velocity"]
    assert len(a) == len(b) > 150
    assert np.array_equal(np.sort(a[fields], order=fields), np.sort(b[fields], order=fields))


def test_chorale_musicxml_has_satb_parts():
    path = next(p for p in list_collection("bach_chorales") if p.name == "bwv10.7.mxl")
    music = read_music(path, resolution=12)
    assert [t.name for t in music.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert all(len(t.notes) > 20 for t in music.tracks)
    assert music.resolution == 12


def test_quartet_parts_keep_their_own_names():
    """Every part of this Mozart movement has the same <instrument-name> ("String Ensemble 1"); parts are
    named by <part-name>."""
    path = next(p for p in list_collection("string_quartets") if p.parent.name == "k80" and p.name == "movement3.mxl")
    assert [t.name for t in read_music(path).tracks] == ["Violin I", "Violin II", "Viola", "Cello"]


def test_abc_is_read_through_music21(tmp_path):
    abc = tmp_path / "tune.abc"
    abc.write_text("X:1\nT:Test\nM:4/4\nL:1/4\nK:C\nC D E F | G A B c |\n")
    music = read_music(abc, resolution=12)
    assert [n.pitch for n in music.tracks[0].notes] == [60, 62, 64, 65, 67, 69, 71, 72]
    assert [n.time for n in music.tracks[0].notes] == list(range(0, 96, 12))


def _drums_only(tmp_path):
    music = music_from_tracks([("Drums", 0, True, np.array([[0, 36, 12], [12, 38, 12]]))], 12)
    return write_midi(music, tmp_path / "drums.mid")


def _truncated(tmp_path):
    full = write_midi(_multitrack(), tmp_path / "full.mid").read_bytes()
    path = tmp_path / "truncated.mid"
    path.write_bytes(full[: len(full) // 2])
    return path


def _corrupt(tmp_path):
    path = tmp_path / "corrupt.mid"
    path.write_bytes(b"MThd" + np.random.default_rng(1).bytes(300))
    return path


def _empty(tmp_path):
    path = tmp_path / "empty.mid"
    path.write_bytes(b"")
    return path


def _no_notes(tmp_path):
    return write_midi(music_from_tracks([("Piano", 0, False, np.zeros((0, 3)))], 12), tmp_path / "silent.mid")


def _unsupported(tmp_path):
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3")
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (_empty, "empty"),
        (_truncated, "cannot parse"),
        (_corrupt, "cannot parse"),
        (_drums_only, "only drum"),
        (_no_notes, "no notes"),
        (_unsupported, "unsupported extension"),
        (lambda tmp: tmp / "missing.mid", "not found"),
    ],
)
def test_bad_inputs_raise_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputFileError, match=message) as info:
        read_music(path)
    assert str(path) in str(info.value)


def test_drums_only_allowed_on_request(tmp_path):
    music = read_music(_drums_only(tmp_path), allow_drums_only=True)
    assert music.tracks[0].is_drum


def test_write_midi_refuses_to_overwrite_and_is_atomic(tmp_path, monkeypatch):
    path = write_midi(_multitrack(), tmp_path / "a.mid")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError):
        write_midi(_multitrack(), path)
    write_midi(_multitrack(24), path, overwrite=True)
    assert path.read_bytes() != before

    import pretty_midi

    def fail(self, filename):
        open(filename, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(pretty_midi.PrettyMIDI, "write", fail)
    with pytest.raises(OSError):
        write_midi(_multitrack(), tmp_path / "b.mid")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid"]


KERN = """**kern\t**kern
*Ibass\t*Isoprn
*M4/4\t*M4/4
4C\t4c
4D\t[4d
4E\t4d]
4F\t4e
*-\t*-
"""


def _notes_by_track(music) -> list[list[tuple[int, int, int]]]:
    return sorted(sorted((n.time, n.pitch, n.duration) for n in t.notes) for t in music.tracks)


def test_a_humdrum_file_with_a_tie(tmp_path):
    """Humdrum ``.krn`` (Palestrina's format in the default corpus), read through music21: a tied pair of
    quarter notes is one half note."""
    path = tmp_path / "two_voices.krn"
    path.write_text(KERN)
    music = read_music(path, resolution=24)
    assert _notes_by_track(music) == [
        [(0, 48, 24), (24, 50, 24), (48, 52, 24), (72, 53, 24)],  # C3 D3 E3 F3
        [(0, 60, 24), (24, 62, 48), (72, 64, 24)],  # C4, D4 tied over the beat, E4
    ]


def test_tied_notes_in_musicxml_are_one_note(tmp_path):
    import music21

    xml = tmp_path / "tied.musicxml"
    music21.converter.parse(KERN, format="humdrum").write("musicxml", fp=str(xml))
    assert "<tie " in xml.read_text()  # the file holds the tie, not a half note
    soprano = [sorted((n.time, n.pitch, n.duration) for n in t.notes) for t in read_music(xml, resolution=24).tracks]
    assert [(0, 60, 24), (24, 62, 48), (72, 64, 24)] in soprano
