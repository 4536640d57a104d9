import numpy as np

from gm_common.corpus import Piece
from gm_common.notes import music_from_tracks
from mmt.parts import assign_programs, part_program, voice_class


def test_part_name_table():
    for name in ("Soprano", "Alto", "Tenor", "Bass", "Canto", "Quinto", "Tenore II", "Bassus", "Contralto"):
        assert part_program(name) == 52, name
    assert part_program("Violin 1") == 40 and part_program("Viola") == 41 and part_program("Violoncello") == 42
    assert part_program("Double Bass") == 43 and part_program("Oboe d'amore") == 68 and part_program("Organo") == 19
    assert part_program("Basso continuo") == 19 and part_program("Piano") == 0
    assert part_program("Something odd", fallback=7) == 7


def test_voice_names_go_to_the_nearest_class():
    expected = {
        "soprano": ["Soprano", "Soprano 1", "Cantus", "Canto", "Superius", "S.", "Soprano\rOboe 1,2\rViolin1"],
        "alto": ["Alto", "Altus", "Contralto", "Mezzo-soprano", "Alto II", "A"],
        "tenor": ["Tenor", "Tenore", "Tenor II", "T."],
        "bass": ["Bass", "Bassus", "Basso", "Baritone", "B"],
        "voice": ["Quintus", "Sextus", "Quinto", "Voice", "", None, "Chorus 2"],
    }
    for cls, names in expected.items():
        for name in names:
            assert voice_class(name) == cls, name


def test_score_parts_get_programs_and_midi_files_keep_theirs():
    rows = np.array([[0, 60, 12]])
    score = Piece("bach/x.mxl", music_from_tracks([("Alto", 0, False, rows), ("Violoncello", 0, False, rows)], 12))
    assert [t.program for t in assign_programs(score).music.tracks] == [52, 42]
    midi = Piece("x.mid", music_from_tracks([("Alto", 0, False, rows)], 12))
    assert assign_programs(midi).music.tracks[0].program == 0
