import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gm_common.errors import ConfigError
from gm_common.notes import music_from_tracks
from mmt.representation import (
    KNOWN_DURATIONS,
    TYPE_EOS,
    TYPE_INSTRUMENT,
    TYPE_NOTE,
    TYPE_SON,
    Encoding,
    codes_from_notes,
    decode,
    encode,
    extract_notes,
    notes_from_codes,
)

ENC = Encoding()


def test_vocabulary_sizes_and_instrument_table():
    assert ENC.vocab_sizes == [5, 257, 13, 129, 33, 65]
    assert len(ENC.instruments) == 64 and len(set(ENC.instruments)) == 64
    dropped = [p for p, name in enumerate(ENC.program_instrument) if name is None]
    assert dropped == [76, 77, 78, *range(96, 104), *range(112, 117), *range(120, 128)]
    assert len(KNOWN_DURATIONS) == 32
    # every class decodes to a program that maps back onto the class
    for name, program in zip(ENC.instruments, ENC.instrument_programs):
        assert ENC.program_instrument[program] == name
    assert ENC.program_instrument[1] == "piano" and ENC.program_instrument[48] == "strings"


def test_encoding_json_round_trip(tmp_path):
    ENC.save(tmp_path / "e.json")
    assert Encoding.load(tmp_path / "e.json") == ENC
    assert Encoding(max_beat=64) != ENC
    assert "max_beat" in Encoding(max_beat=64).differences(ENC)


def test_unknown_instrument_lists_valid_names():
    with pytest.raises(ConfigError, match="valid names: piano"):
        ENC.instrument_code("kazoo")
    assert ENC.instrument_code("Violin") == ENC.instruments.index("violin") + 1


def test_duration_quantisation_nearest():
    assert list(ENC.duration_values[ENC.duration_code([1, 12, 13, 14, 17, 500]) - 1]) == [1, 12, 12, 15, 16, 384]


def test_structure_sort_dedup_and_drums():
    notes_a = np.array([[12, 60, 12], [0, 64, 6], [0, 64, 6], [0, 60, 24]])  # a duplicate
    drums = np.array([[0, 36, 12]])
    music = music_from_tracks([("v", 40, False, notes_a), ("d", 0, True, drums), ("fx", 99, False, notes_a)], 12)
    codes = encode(music, ENC)
    assert codes[0].tolist() == [0] * 6
    assert codes[1, 0] == TYPE_INSTRUMENT and codes[1, 5] == ENC.instrument_code("violin")
    assert codes[2, 0] == TYPE_SON and codes[-1, 0] == TYPE_EOS
    body = codes[3:-1]
    assert (body[:, 0] == TYPE_NOTE).all() and len(body) == 3  # de-duplicated, drums and program 99 dropped
    assert body[:, 1:].tolist() == sorted(body[:, 1:].tolist())
    assert body[0].tolist() == [TYPE_NOTE, 1, 1, 61, ENC.duration_code(24), ENC.instrument_code("violin")]


note_rows = st.lists(
    st.tuples(
        st.integers(0, 255),  # beat
        st.integers(0, 11),  # position
        st.integers(0, 127),  # pitch
        st.integers(1, 32),  # duration code
        st.integers(1, 64),  # instrument code
    ),
    min_size=0,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(note_rows)
def test_decode_encode_are_inverse_on_quantised_notes(rows):
    notes = np.unique(np.array(rows, dtype=np.int64).reshape(-1, 5), axis=0)
    codes = codes_from_notes(notes)
    music = decode(codes, ENC)
    # one track per instrument, named after it, with the class program
    assert sorted(t.name for t in music.tracks) == sorted({ENC.instrument_name(i) for i in notes[:, 4]})
    assert np.array_equal(encode(music, ENC), codes)
    back, declared = notes_from_codes(codes, ENC)
    assert np.array_equal(back, notes) and declared == sorted(set(notes[:, 4].tolist()))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 127), st.integers(1, 400)), min_size=1, max_size=40),
    st.sampled_from([0, 24, 40, 41, 42, 52, 73]),
)
def test_encode_decode_encode_is_stable(rows, program):
    music = music_from_tracks([("x", program, False, np.array(rows))], 12)
    codes = encode(music, ENC)
    assert np.array_equal(encode(decode(codes, ENC), ENC), codes)


def test_generated_junk_is_skipped_on_decode():
    codes = np.array([[0] * 6, [1, 0, 0, 0, 0, 25], [2, 0, 0, 0, 0, 0], [3, 1, 1, 61, 12, 25], [3, 0, 1, 61, 12, 25],
                      [3, 1, 1, 61, 12, 99], [4, 0, 0, 0, 0, 0], [3, 2, 1, 61, 12, 25]])  # fmt: skip
    music = decode(codes, ENC)
    assert len(music.tracks) == 1 and len(music.tracks[0].notes) == 1  # invalid rows and rows after EOS ignored
    assert extract_notes(music, ENC).shape == (1, 5)
