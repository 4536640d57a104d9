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
    infill_codes,
    infill_marker,
    interleave_codes,
    notes_from_codes,
    notes_from_infill,
)

ENC = Encoding()
MERGED = Encoding(voices="merged")
SATB = ("soprano", "alto", "tenor", "bass")


@pytest.mark.parametrize("enc", [MERGED, ENC], ids=["merged", "split"])
def test_every_class_decodes_to_a_program_of_its_own_class(enc):
    dropped = [p for p, name in enumerate(enc.program_instrument) if name is None]
    assert dropped == [76, 77, 78, *range(96, 104), *range(112, 117), *range(120, 128)]
    assert len(set(enc.instruments)) == len(enc.instruments)
    for name, program in zip(enc.instruments, enc.instrument_programs):
        voice = enc.voices == "split" and name in SATB
        expected = "voice" if voice else name  # a voice's program (52) maps to the generic voice
        assert enc.program_instrument[program] == expected, name
    assert enc.program_instrument[1] == "piano" and enc.program_instrument[48] == "strings"
    assert len(KNOWN_DURATIONS) == 32


def test_merged_is_the_papers_vocabulary_and_split_adds_four_voice_classes():
    assert MERGED.vocab_sizes == [5, 257, 13, 129, 33, 65] and len(MERGED.instruments) == 64
    assert ENC.vocab_sizes == [5, 257, 13, 129, 33, 69] and ENC.voices == "split"
    at = MERGED.instrument_code("voices")
    assert ENC.instruments[at - 1 : at + 4] == [*SATB, "voice"]  # in the place of "voices", in register order
    assert ENC.instruments[: at - 1] == [n if n != "bass" else "acoustic-bass" for n in MERGED.instruments[: at - 1]]
    assert ENC.instruments[at + 4 :] == MERGED.instruments[at:]
    assert {ENC.instrument_programs[ENC.instrument_code(n) - 1] for n in (*SATB, "voice")} == {52}
    assert ENC.program_instrument[32] == "acoustic-bass" and MERGED.program_instrument[32] == "bass"


def test_encoding_json_round_trip(tmp_path):
    for enc in (ENC, MERGED):
        enc.save(tmp_path / "e.json")
        assert Encoding.load(tmp_path / "e.json") == enc
    assert Encoding(max_beat=64) != ENC and MERGED != ENC
    assert "max_beat" in Encoding(max_beat=64).differences(ENC)
    assert {"voices", "instruments"} <= set(MERGED.differences(ENC))


def test_an_encoding_saved_before_the_voices_option_reads_as_merged():
    legacy = {k: v for k, v in MERGED.to_dict().items() if k != "voices"}  # the layout of commit bac9ecd
    assert Encoding.from_dict(legacy) == MERGED


def test_instrument_tables_of_another_mode_are_an_error():
    mixed = {**MERGED.to_dict(), "voices": "split"}
    with pytest.raises(ConfigError, match="instruments, instrument_programs, program_instrument are not those"):
        Encoding.from_dict(mixed)
    with pytest.raises(ConfigError, match="voices='choir'; valid: split, merged"):
        Encoding(voices="choir")


def test_vocal_parts_are_kept_apart_by_name_in_split_mode():
    rows = np.array([[0, 60, 12], [12, 62, 12]])
    names = ["Soprano", "Alto", "Tenor", "Bass", "Quintus", "Cantus", "Bassus", "Contralto"]
    parts = [(n, 52, False, rows + [0, i, 0]) for i, n in enumerate(names)] + [("Kontrabass", 32, False, rows)]
    music = music_from_tracks(parts, 12)
    split = decode(encode(music, ENC), ENC)
    by_name = {t.name: t for t in split.tracks}
    assert sorted(by_name) == sorted(["acoustic-bass", *SATB, "voice"])
    assert all(t.program == 52 for n, t in by_name.items() if n != "acoustic-bass")
    assert len(by_name["soprano"].notes) == 4 and len(by_name["alto"].notes) == 4  # Cantus, Contralto join them
    assert len(by_name["bass"].notes) == 4 and len(by_name["voice"].notes) == 2
    merged = decode(encode(music, MERGED), MERGED)
    assert sorted(t.name for t in merged.tracks) == ["bass", "voices"]
    assert len(merged.tracks[1].notes) == 2 * len(names)


def test_a_merged_encoding_explains_a_voice_name():
    with pytest.raises(ConfigError, match="voices=merged: every vocal part is the one class 'voices'"):
        MERGED.instrument_code("soprano")
    assert ENC.instrument_code("Bass") == ENC.instruments.index("bass") + 1


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
        st.integers(1, 68),  # instrument code (split: 68 classes; merged: 64, the rest folded in below)
    ),
    min_size=0,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(note_rows, st.sampled_from([ENC, MERGED]))
def test_decode_encode_are_inverse_on_quantised_notes(rows, enc):
    notes = np.array(rows, dtype=np.int64).reshape(-1, 5)
    notes[:, 4] = (notes[:, 4] - 1) % len(enc.instruments) + 1
    notes = np.unique(notes, axis=0)
    codes = codes_from_notes(notes)
    music = decode(codes, enc)
    # one track per instrument, named after it, with the class program
    assert sorted(t.name for t in music.tracks) == sorted({enc.instrument_name(i) for i in notes[:, 4]})
    assert np.array_equal(encode(music, enc), codes)
    back, declared = notes_from_codes(codes, enc)
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


@settings(max_examples=60, deadline=None)
@given(note_rows, st.integers(0, 59))
def test_infill_layout_round_trip_puts_the_target_last(rows, pick):
    notes = np.unique(np.array(rows, dtype=np.int64).reshape(-1, 5), axis=0)
    target = int(notes[pick % len(notes), 4]) if len(notes) else 25
    codes = infill_codes(notes, target)
    at = infill_marker(codes)
    assert codes[at].tolist() == [TYPE_INSTRUMENT, 0, 0, 0, 0, target]
    assert (codes[:at][codes[:at, 0] == TYPE_NOTE, 5] != target).all()  # the other parts, then the marker
    assert (codes[at + 1 : -1, 5] == target).all() and codes[-1, 0] == TYPE_EOS  # then the target alone
    for part in (codes[:at], codes[at + 1 :]):  # each part in time order
        assert (np.diff(part[part[:, 0] == TYPE_NOTE, 1]) >= 0).all()
    context, added, code = notes_from_infill(codes, ENC)
    assert code == target and np.array_equal(np.unique(np.concatenate([context, added]), axis=0), notes)
    assert np.array_equal(infill_codes(np.unique(np.concatenate([context, added]), axis=0), code), codes)
    assert np.array_equal(extract_notes(decode(codes, ENC), ENC), notes)  # decode reads either layout


@settings(max_examples=60, deadline=None)
@given(note_rows, st.integers(0, 59), st.integers(0, 4))
def test_interleaved_layout_round_trip_puts_each_target_note_after_the_others_up_to_ahead_beats_past_it(
    rows, pick, ahead
):
    notes = np.unique(np.array(rows, dtype=np.int64).reshape(-1, 5), axis=0)
    target = int(notes[pick % len(notes), 4]) if len(notes) else 25
    codes = interleave_codes(notes, target, ahead)
    at = infill_marker(codes)
    n_inst = len(np.union1d(notes[:, 4], [target]))
    assert at == n_inst + 2 and codes[at].tolist() == [TYPE_INSTRUMENT, 0, 0, 0, 0, target]  # right after SON
    body = codes[at + 1 : -1]
    ours = body[:, 5] == target
    assert (body[:, 0] == TYPE_NOTE).all() and codes[-1, 0] == TYPE_EOS
    assert len(body) == len(notes) + int((notes[:, 4] == target).sum())  # each of the target's notes twice:
    onsets, full = body[ours][::2], body[ours][1::2]  # its onset (no pitch, no duration), then the note
    assert (onsets[:, 3:5] == 0).all() and np.array_equal(onsets[:, :3], full[:, :3]) and (full[:, 3] > 0).all()
    when = (body[:, 1] - 1 - np.where(ours, 0, ahead)) * 12 + body[:, 2] - 1  # the others `ahead` beats early
    assert (np.diff(when) >= 0).all()
    for i in np.nonzero(ours)[0]:  # on a tie the other parts come first
        assert (when[i + 1 :][~ours[i + 1 :]] > when[i]).all()
    for part in (body[ours], body[~ours]):  # each in time order
        assert (np.diff(part[:, 1]) >= 0).all()
    context, added, code = notes_from_infill(codes, ENC)
    assert code == target and np.array_equal(np.unique(np.concatenate([context, added]), axis=0), notes)
    assert np.array_equal(extract_notes(decode(codes, ENC), ENC), notes)


def test_infill_layout_of_a_part_with_no_notes_yet_and_a_time_layout_has_no_marker():
    notes = np.array([[0, 0, 60, 12, 25], [1, 0, 62, 12, 25]])
    codes = infill_codes(notes, 27)
    assert codes[:, 0].tolist() == [0, 1, 1, 2, 3, 3, 1, 4] and codes[1:3, 5].tolist() == [25, 27]
    assert infill_marker(codes_from_notes(notes)) is None
    with pytest.raises(ConfigError, match="no infill marker"):
        notes_from_infill(codes_from_notes(notes), ENC)


def test_whole_keeps_notes_past_max_beat():
    music = music_from_tracks([("x", 0, False, np.array([[0, 60, 12], [12 * 300, 62, 12]]))], 12)
    assert len(extract_notes(music, ENC)) == 1 and extract_notes(music, ENC, whole=True)[-1, 0] == 300
