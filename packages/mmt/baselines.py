"""The representations MMT is compared with, REMI+ and MMM, as MidiTok writes them (the paper's Table 3 baselines).

REMI+ is MidiTok's ``REMI`` with programs (one token stream for all of them) and time signatures; MMM is MidiTok's
``MMM`` over REMI (one block of tokens per track). Both read a ``symusic.Score``; :func:`score_of` builds one from
the notes an :class:`~mmt.representation.Encoding` keeps, so that the three representations hold the same notes.
MMT writes about one event per note; :func:`count_tokens` measures what each writes.

MidiTok tells tracks apart by program and merges tracks of one program: with ``voices=split`` the four voice
classes (all program 52) are one track to REMI+ and MMM.
"""

from __future__ import annotations

import numpy as np
import symusic
from miditok import MMM, REMI, MusicTokenizer, TokenizerConfig

from mmt.representation import TYPE_NOTE, Encoding, codes_from_notes

REPRESENTATIONS = ("mmt", "remi_plus", "mmm")


def tokenizer(representation: str, velocities: bool = False) -> MusicTokenizer:
    """MidiTok's tokenizer of ``remi_plus`` or ``mmm``; ``velocities`` adds a velocity token per note (MidiTok's
    default; MMT has none)."""
    common = {"use_programs": True, "use_time_signatures": True, "use_velocities": velocities}
    if representation == "remi_plus":
        return REMI(TokenizerConfig(one_token_stream_for_programs=True, **common))
    if representation == "mmm":
        return MMM(TokenizerConfig(base_tokenizer="REMI", **common))
    raise ValueError(f"no MidiTok tokenizer for {representation!r}; MidiTok writes: remi_plus, mmm")


def score_of(notes: np.ndarray, encoding: Encoding) -> symusic.Score:
    """A 4/4 ``symusic.Score`` of encoded notes (rows beat, position, pitch, duration code, instrument code): one
    track per instrument class, with its program, at the encoding's resolution."""
    score = symusic.Score(encoding.resolution)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for code in np.unique(notes[:, 4]):
        rows = notes[notes[:, 4] == code]
        track = symusic.Track(name=encoding.instrument_name(code), program=encoding.instrument_programs[code - 1])
        for beat, position, pitch, duration, _ in rows.tolist():
            time = beat * encoding.resolution + position
            track.notes.append(symusic.Note(time, int(encoding.duration_values[duration - 1]), pitch, 64))
        score.tracks.append(track)
    return score


def count_tokens(notes: np.ndarray, encoding: Encoding, tok: MusicTokenizer | None) -> tuple[int, int]:
    """(tokens, notes) of one piece: MMT's events (``tok`` None), or the MidiTok stream's tokens and its ``Pitch``
    tokens (the notes it kept)."""
    if tok is None:
        codes = codes_from_notes(notes)
        return len(codes), int((codes[:, 0] == TYPE_NOTE).sum())
    tokens = tok(score_of(notes, encoding)).tokens
    return len(tokens), sum(t.startswith("Pitch_") for t in tokens)
