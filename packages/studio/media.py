"""What the page shows of a piece: its MIDI file (to download), a piano roll and its audio through FluidSynth."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import muspy

from gm_common.errors import MissingDependencyError
from gm_common.notes import write_midi
from gm_common.plots import plot_pianoroll
from gm_common.render import render_midi

log = logging.getLogger(__name__)
MAX_BEATS = 256  # the piano roll draws at most this many beats
PLOT_LOCK = threading.Lock()  # matplotlib's pyplot (gm_common.plots) is not thread-safe: one figure at a time


@dataclass
class PieceFiles:
    """A piece written into a request's folder; ``wav`` is None where FluidSynth is not installed."""

    midi: Path
    png: Path
    wav: Path | None
    notes: int
    note: str = ""  # why there is no audio


def write_piece(music: muspy.Music, folder: Path, stem: str, title: str, sample_rate: int = 22050) -> PieceFiles:
    """Write ``stem``.mid, .png and .wav of ``music`` into ``folder``."""
    midi = write_midi(music, folder / f"{stem}.mid")
    with PLOT_LOCK:
        png = plot_pianoroll(music, folder / f"{stem}.png", title=title, max_beats=MAX_BEATS)
    wav, note = None, ""
    try:
        wav = render_midi(midi, folder / f"{stem}.wav", sample_rate=sample_rate)
    except MissingDependencyError as err:
        log.warning("no audio: %s", err)
        note = f"no audio: {err}"
    return PieceFiles(midi, png, wav, sum(len(t.notes) for t in music.tracks), note)


def track_summary(music: muspy.Music) -> str:
    """One line: each track's name (or program) and its number of notes."""
    parts = [f"{t.name or f'program {t.program}'} {len(t.notes)}" for t in music.tracks if t.notes]
    return ", ".join(parts) if parts else "no notes"
