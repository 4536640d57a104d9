"""The measures of a part (``mmt.parts_metrics``) on hand-made notes whose answers are known."""

import math

import numpy as np

from mmt.parts_metrics import consonance, coverage, onset_f1, pitch_class_roll, range_fit, tick_notes
from mmt.representation import Encoding


def n(*rows):
    """(time, duration, pitch) rows in ticks (12 a beat)."""
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def test_consonance_counts_the_shared_sounding_time_whose_intervals_are_consonant():
    c4 = n((0, 24, 60))
    # a minor sixth below for half a beat, then a tritone below; nothing sounds with the C in its second beat
    assert consonance(c4, n((0, 6, 52), (6, 6, 54))) == 0.5
    assert consonance(c4, n((0, 12, 53), (0, 12, 67))) == 1.0  # a fifth above and a fourth below, together
    assert consonance(c4, n((0, 12, 53), (0, 12, 62))) == 0.0  # one clash (a second) makes the tick dissonant
    assert consonance(n((0, 12, 60), (0, 12, 61)), n((0, 12, 67))) == 0.5  # a chord: C with G is, C# with G is not
    assert consonance(n((0, 12, 61)), n((0, 12, 60))) == 0.0 and consonance(n((0, 12, 72)), n((0, 12, 60))) == 1.0
    assert math.isnan(consonance(c4, n((24, 12, 64))))  # never sounding together
    assert math.isnan(consonance(n(), c4))


def test_coverage_is_the_fraction_of_beats_in_which_the_part_sounds():
    assert coverage(n((0, 12, 60), (24, 6, 62)), 4, 12) == 0.5
    assert coverage(n((0, 13, 60)), 4, 12) == 0.5  # one tick into the second beat is sounding in it
    assert coverage(n(), 4, 12) == 0.0 and math.isnan(coverage(n((0, 12, 60)), 0, 12))


def test_range_fit_is_the_fraction_of_notes_within_the_references_range():
    ref = n((0, 12, 50), (12, 12, 60))
    assert range_fit(n((0, 1, 49), (1, 1, 50), (2, 1, 55), (3, 1, 61)), ref) == 0.5
    assert math.isnan(range_fit(n(), ref))


def test_onset_f1_on_the_sixteenth_grid():
    ref = n((0, 12, 60), (12, 12, 60), (24, 12, 60), (36, 12, 60))
    assert onset_f1(n((1, 12, 60), (12, 6, 62), (18, 6, 64)), ref, 12) == 4 / 7  # 2 of 3 onsets on 2 of 4
    assert onset_f1(ref, ref, 12) == 1.0 and onset_f1(n(), ref, 12) == 0.0
    assert onset_f1(n((18, 6, 64)), ref, 12, division=1) == 0.4  # on beats: precision 1, recall 1/4


def test_tick_notes_and_the_roll():
    enc = Encoding()
    ticks = tick_notes(np.array([[2, 3, 60, 12, 25]]), enc)  # beat 2, position 3, a quarter note
    assert ticks.tolist() == [[27, 12, 60]]
    roll = pitch_class_roll(ticks, 48)
    assert roll[27:39, 0].all() and not roll[:27].any() and not roll[39:].any()
