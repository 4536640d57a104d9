"""Adding a part in windows (``mmt.infill.add_part``), with a stand-in for the model whose output is known."""

import numpy as np
import pytest

from gm_common.errors import ConfigError
from mmt.infill import add_part, window_end, window_prompt
from mmt.representation import TYPE_EOS, TYPE_NOTE, Encoding, interleave_codes, notes_from_infill

ENC = Encoding()
EOS = np.array([[TYPE_EOS, 0, 0, 0, 0, 0]])


def three_parts(n_beats: int) -> np.ndarray:
    """Three parts (codes 25, 26, 28), one note per beat each."""
    return np.array(sorted((b, 0, 60 + i, 12, code) for b in range(n_beats) for i, code in enumerate((25, 26, 28))))


def stand_in(max_len: int, per_beat: int, calls: list):
    """A 'model' that continues an infill prompt with ``per_beat`` notes (pitches 40, 41, ...) on every beat from the
    part's next beat to the window's last, then end-of-song, or stops at ``max_len`` events without one."""

    def draw(prompt: np.ndarray, given: np.ndarray, end_from: int) -> np.ndarray:
        assert not len(given)  # the infill layout gives the sampler nothing to put in
        context, part, target = notes_from_infill(prompt, ENC)
        calls.append((len(prompt), context, part, end_from))
        rows = [prompt]
        n = len(prompt)
        for beat in range(int(part[-1, 0]) + 1 if len(part) else 0, int(context[:, 0].max()) + 1):
            for k in range(per_beat):
                if n >= max_len:
                    return np.concatenate(rows)
                rows.append(np.array([[TYPE_NOTE, beat + 1, 1, 41 + k, 12, target]]))
                n += 1
        return np.concatenate([*rows, EOS])

    return draw


def test_a_long_piece_is_written_in_overlapping_windows_that_leave_no_gap_and_no_double():
    context, calls = three_parts(100), []
    part = add_part(context, 27, stand_in(200, 1, calls), ENC, max_beat=32, max_len=200, lookahead=8, past=8)
    assert part[:, 0].tolist() == list(range(100)) and (part[:, 4] == 27).all() and (part[:, 2] == 40).all()
    assert len(calls) == 6  # 32-beat windows from 0, 16, ..., 80: each keeps to 8 beats before its end
    for i, (rows, window, prefix, end_from) in enumerate(calls):
        assert rows < 200 and window[:, 0].max() < 32  # each window within the model's beats and events
        assert np.array_equal(np.unique(window[:, 4]), [25, 26, 28])  # the other parts, all of them
        assert len(prefix) == (0 if i == 0 else 8)  # the part's own last 8 beats go on into the next window
        if i < len(calls) - 1:  # it sees 8 beats of the other parts past every note it keeps, and ends no sooner
            assert window[:, 0].max() - (prefix[-1, 0] if len(prefix) else -1) >= 8 and end_from == 32 - 8
    assert calls[-1][3] == 99 - 80  # the last window: no end before the other parts' last onset


def test_a_window_that_runs_out_of_events_keeps_only_whole_beats_and_the_next_goes_on_from_there():
    context, calls = three_parts(60), []
    part = add_part(context, 27, stand_in(120, 3, calls), ENC, max_beat=32, max_len=120, lookahead=4, past=4)
    beats, counts = np.unique(part[:, 0], return_counts=True)
    assert beats.tolist() == list(range(60)) and (counts == 3).all()  # every beat whole: three notes
    assert all(rows < 120 for rows, *_ in calls) and len(calls) > 3


def test_windows_shortened_by_their_events_still_advance_by_about_half_a_window():
    context, calls = three_parts(100), []  # 200 events hold ~42 beats of these parts: far fewer than 256
    part = add_part(context, 27, stand_in(200, 1, calls), ENC, max_beat=256, max_len=200)
    assert part[:, 0].tolist() == list(range(100))
    assert 4 <= len(calls) <= 6 and all(rows < 200 for rows, *_ in calls)
    assert all(len(prefix) >= 8 for _, _, prefix, _ in calls[1:])  # a quarter of the window before goes on


def test_the_window_shrinks_to_leave_room_for_the_new_part():
    context = three_parts(64)
    assert window_end(context, 0, 32, 1000, 0) == 32
    # 100 events: 8 rows around the notes, then 3 notes a beat and room for half as many again: 61 notes, 20 beats
    assert window_end(context, 0, 32, 100, 0) == 20
    assert window_end(context, 8, 32, 100, 10) == 8 + 18  # 10 rows of the new part's own: 54 notes


def test_bad_arguments_are_config_errors():
    draw = stand_in(100, 1, [])
    with pytest.raises(ConfigError, match="lookahead=16 \\+ past=16 beats leave no room in a 32-beat window"):
        add_part(three_parts(10), 27, draw, ENC, 32, 100, lookahead=16, past=16)
    with pytest.raises(ConfigError, match="at least one note of another part"):
        add_part(np.zeros((0, 5)), 27, draw, ENC, 32, 100)


def test_an_interleaved_window_prompt_ends_at_the_parts_last_note_and_gives_the_rest():
    notes = np.concatenate([three_parts(10), [[0, 0, 40, 12, 27], [3, 6, 41, 12, 27]]])
    prompt, given = window_prompt(notes, 27, ahead=2)
    whole = interleave_codes(np.unique(notes, axis=0), 27, 2)
    assert np.array_equal(np.concatenate([prompt, given, EOS]), whole)
    assert prompt[-1].tolist() == [TYPE_NOTE, 4, 7, 42, 12, 27] and (given[:, 5] != 27).all()
    assert (given[:, 1] - 1 - 2 > 3).all()  # given: after the part's last note (beat 3) in the layout
    prompt, given = window_prompt(three_parts(10), 27, ahead=2)  # no note of the part yet: up to its marker
    assert prompt[-1].tolist() == [1, 0, 0, 0, 0, 27] and len(given) == 30


def test_interleaved_windows_give_the_sampler_the_other_parts_notes_still_to_come():
    calls = []

    def draw(prompt: np.ndarray, given: np.ndarray, end_from: int) -> np.ndarray:
        """One note a beat (pitch 40) from the part's next beat, the given notes put in by the layout."""
        context, part, target = notes_from_infill(np.concatenate([prompt, given]), ENC)
        calls.append((context, part, given))
        start = int(part[-1, 0]) + 1 if len(part) else 0
        new = [(b, 0, 40, 12, target) for b in range(start, int(context[:, 0].max()) + 1)]
        return interleave_codes(np.unique(np.concatenate([context, part, new]), axis=0), target, 1)

    part = add_part(three_parts(100), 27, draw, ENC, max_beat=32, max_len=200, lookahead=8, past=8, ahead=1)
    assert part[:, 0].tolist() == list(range(100)) and (part[:, 4] == 27).all()
    assert len(calls) == 6 and all(len(given) for *_, given in calls)
    for context, prefix, _ in calls:  # every window holds the other parts of its beats, and the part's last 8 beats
        assert np.array_equal(np.unique(context[:, 4]), [25, 26, 28]) and context[:, 0].max() < 32
