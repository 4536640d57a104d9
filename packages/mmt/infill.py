"""Adding a part to a whole piece with a model trained to add parts (``data.layout=infill``, ``interleave``).

A model reads ``max_len`` events and ``max_beat`` beats at most (its training windows), and a piece may be longer.
:func:`add_part` writes the new part window by window: each window holds the other parts' notes of its beats
(every one of them, before and after the notes being written), the marker of the part being added, then that
part's notes; the sampler (:mod:`mmt.sampling`) continues it with notes of that part alone. How seams are avoided:

- windows overlap: a window starts ``past`` beats (default: a quarter of the window before) before the part's
  committed end (the *frontier*), and its prompt holds the part's own notes of those beats, so the part goes on
  from what it played (the phrase it is in, the note still sounding), never from a cold start;
- a note is committed only if the window shows at least ``lookahead`` beats (default: a quarter of this window) of
  the other parts after it (except in the piece's last window); the notes written past that point are dropped and
  written again by the next window, which sees further ahead: no note is chosen blind to the next beats of the
  other parts;
- a window that runs out of events before its end commits only up to the last beat it wrote (the notes of that
  beat may be incomplete), and the next window starts from there;
- the part does not end (end-of-song) before the beat up to which the window commits (in the last window, the other
  parts' last onset): in training every part of a window ends where the others do, and a part that stopped early
  in one window would start the next with a silent past.
A piece that fits one window is written in one pass, as in training. In the interleaved layout
(:func:`~mmt.representation.interleave_codes`) a window's prompt ends at the part's last note in it (its marker
where it has none yet) and the other parts' notes after that are given to the sampler, which puts them in as it goes
(:func:`mmt.sampling.generate_among`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gm_common.errors import ConfigError
from mmt.representation import (
    F_INSTRUMENT,
    F_TYPE,
    TYPE_EOS,
    TYPE_NOTE,
    Encoding,
    infill_codes,
    infill_marker,
    interleave_codes,
    notes_from_infill,
)

MIN_RESERVE = 16  # events a window keeps free for the part it writes, at least


def window_end(context: np.ndarray, start: int, max_beat: int, max_len: int, prefix_rows: int) -> int:
    """The end beat (exclusive) of the window from beat ``start``: at most ``max_beat`` beats, and with the other
    parts' notes in it, the new part's ``prefix_rows``, the rows around them and room for as many more notes of the
    new part as half again the average other part's (at least :data:`MIN_RESERVE`) within ``max_len`` events."""
    inside = context[(context[:, 0] >= start) & (context[:, 0] < start + max_beat)]
    parts = max(1, len(np.unique(inside[:, 4])))
    room = max_len - (parts + 5 + prefix_rows)  # instrument rows (the new part's too), start, end, marker rows
    fits = int(min(room / (1 + 1.5 / parts), room - MIN_RESERVE))
    if len(inside) <= fits:
        return start + max_beat
    return max(int(inside[max(fits, 0), 0]), start + 1)


def window_prompt(notes: np.ndarray, target: int, ahead: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A window's prompt (without end-of-song) and the rows the sampler is to put in (none in the infill layout):
    the infill layout of ``notes`` (sorted; the part ``target``'s first, if any, then the others'), or with
    ``ahead``, the interleaved one cut after the part's last note."""
    notes = np.unique(notes, axis=0)
    if ahead is None:
        return infill_codes(notes, target)[:-1], np.zeros((0, 6), dtype=np.int64)
    codes = interleave_codes(notes, target, ahead)[:-1]
    ours = np.nonzero((codes[:, F_TYPE] == TYPE_NOTE) & (codes[:, F_INSTRUMENT] == target))[0]
    end = int(ours[-1]) + 1 if len(ours) else int(infill_marker(codes)) + 1
    return codes[:end], codes[end:]


def add_part(
    context: np.ndarray,
    target: int,
    draw: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
    encoding: Encoding,
    max_beat: int,
    max_len: int,
    lookahead: int | None = None,
    past: int | None = None,
    ahead: int | None = None,
) -> np.ndarray:
    """The notes (rows as :func:`~mmt.representation.extract_notes`'s) of a new part of instrument code ``target``
    over the whole piece whose other parts are ``context`` (sorted note rows, any length).
    ``draw(prompt, given, end_from)`` continues a prompt of :func:`window_prompt` (putting in the ``given`` rows)
    to a code array, ending no earlier than beat ``end_from`` of the window; ``max_beat`` and ``max_len`` are the
    model's window in beats and events; ``lookahead`` and ``past`` (beats; default a quarter of the window each, a
    window being shorter than ``max_beat`` where the notes fill its events) as in the module docstring; ``ahead``:
    the interleaved layout's (None: the infill layout)."""
    context = np.asarray(context, dtype=np.int64).reshape(-1, 5)
    if not len(context):
        raise ConfigError("adding a part needs at least one note of another part")
    if lookahead is not None and past is not None and lookahead + past >= max_beat:
        raise ConfigError(f"lookahead={lookahead} + past={past} beats leave no room in a {max_beat}-beat window")
    end = int(context[:, 0].max()) + 1
    part = np.zeros((0, 5), dtype=np.int64)
    frontier, span = 0, max_beat
    while frontier < end:
        start = max(0, frontier - (span // 4 if past is None else int(past)))
        prefix = part[part[:, 0] >= start]
        stop = window_end(context, start, max_beat, max_len, len(prefix))
        span, last = stop - start, stop >= end
        inside = context[(context[:, 0] >= start) & (context[:, 0] < stop)]
        shift = np.array([start, 0, 0, 0, 0])
        prompt, given = window_prompt(np.concatenate([inside - shift, prefix - shift]), target, ahead)
        cut = end if last else stop - (span // 4 if lookahead is None else int(lookahead))
        codes = draw(prompt, given, (int(inside[:, 0].max()) if last else cut) - start)
        _, written, _ = notes_from_infill(codes, encoding)
        written = written[written[:, 0] < stop - start] + shift
        if not (codes[:, 0] == TYPE_EOS).any() and len(written):  # out of events: its last beat may be incomplete
            cut = min(cut, int(written[-1, 0]))
        cut = max(cut, frontier + 1)  # always on
        new = written[(written[:, 0] >= frontier) & (written[:, 0] < cut)]
        part = np.concatenate([part, new])
        frontier = cut
    return np.unique(part, axis=0).reshape(-1, 5)
