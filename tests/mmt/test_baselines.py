"""REMI+ and MMM through MidiTok hold the notes MMT holds, in more tokens per note."""

import numpy as np
import pytest

from mmt.baselines import count_tokens, score_of, tokenizer
from mmt.representation import Encoding

ENC = Encoding()


def _notes() -> np.ndarray:
    """Two bars of a violin (quarter notes) over a cello (half notes): 8 + 4 notes."""
    violin, cello = ENC.instrument_code("violin"), ENC.instrument_code("cello")
    quarter, half = int(ENC.duration_code(12)), int(ENC.duration_code(24))
    rows = [(b, 0, 60 + b, quarter, violin) for b in range(8)] + [(b, 0, 40 + b, half, cello) for b in range(0, 8, 2)]
    return np.array(sorted(rows), dtype=np.int64)


def test_the_score_holds_the_encoded_notes():
    score = score_of(_notes(), ENC)
    assert [t.program for t in score.tracks] == [40, 42] and [len(t.notes) for t in score.tracks] == [8, 4]
    assert score.tracks[1].notes[1].time == 2 * ENC.resolution and score.tracks[1].notes[1].duration == 24


def test_token_counts_of_the_three_representations():
    notes = _notes()
    assert count_tokens(notes, ENC, None) == (12 + 2 + 3, 12)  # a row per note, per instrument, and three more
    remi_plus = count_tokens(notes, ENC, tokenizer("remi_plus"))
    mmm = count_tokens(notes, ENC, tokenizer("mmm"))
    # REMI+: per note Program, Pitch, Duration; per onset a Position; per bar Bar and TimeSig
    assert remi_plus == (12 * 3 + 8 + 2 * 2, 12)
    assert mmm[1] == 12 and mmm[0] > 12 * 3
    with_velocity = count_tokens(notes, ENC, tokenizer("remi_plus", velocities=True))
    assert with_velocity == (remi_plus[0] + 12, 12)


def test_unknown_representation():
    with pytest.raises(ValueError, match="remi_plus, mmm"):
        tokenizer("mmt")
