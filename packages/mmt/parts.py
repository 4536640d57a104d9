"""What a named part of a score is: its General MIDI program, and for a vocal part its voice class.

Scores (MusicXML, Humdrum) name their parts but carry no program; :func:`assign_programs` gives each part the
program of its name (:data:`PART_PROGRAMS`). Vocal parts all get program 52 ("choir aahs"); with
``encoding.voices=split`` a vocal part's class comes from its name through :data:`VOICE_PARTS` (see
:mod:`mmt.representation`). Names are matched lower-cased with digits and punctuation removed: first an exact
key, then the longest key that the name starts with or holds as a word (keys of two letters or more that
hold a space may also occur anywhere in the name).
"""

from __future__ import annotations

import re
from pathlib import Path

from gm_common.corpus import Piece
from gm_common.notes import MIDI_SUFFIXES

# Part name -> General MIDI program. Unknown names keep the score's own program (0 = piano when it has none).
PART_PROGRAMS: dict[str, int] = {
    # voices (choir aahs = the "voices" class)
    "soprano": 52, "alto": 52, "tenor": 52, "bass": 52, "baritone": 52, "mezzo": 52, "contralto": 52,
    "cantus": 52, "canto": 52, "altus": 52, "tenore": 52, "tenor ii": 52, "bassus": 52, "basso": 52,
    "quintus": 52, "quinto": 52, "sextus": 52, "sesto": 52, "septimus": 52, "settimo": 52, "superius": 52,
    "discantus": 52, "vagans": 52, "voice": 52, "voce": 52, "vox": 52, "choir": 52, "chorus": 52, "coro": 52,
    "s": 52, "a": 52, "t": 52, "b": 52,
    # strings
    "contrabass": 43, "double bass": 43, "violone": 43, "contrabasso": 43,
    "violoncello": 42, "cello": 42, "violoncelli": 42,
    "viola": 41, "viole": 41, "violino": 40, "violin": 40, "violini": 40, "fiddle": 40,
    "strings": 48, "harp": 46, "arpa": 46, "guitar": 24, "lute": 24, "liuto": 24, "theorbo": 24, "chitarrone": 24,
    # keyboards
    "piano": 0, "pianoforte": 0, "fortepiano": 0, "keyboard": 0, "harpsichord": 6, "cembalo": 6,
    "clavicembalo": 6, "organ": 19, "organo": 19, "continuo": 19, "basso continuo": 19, "celesta": 8,
    # woodwinds
    "piccolo": 72, "flauto piccolo": 72, "recorder": 74, "recorders": 74, "flauto dolce": 74, "flute": 73,
    "flauto": 73, "flauti": 73, "traverso": 73, "flauto traverso": 73, "oboe": 68, "oboi": 68,
    "oboe d amore": 68, "oboe da caccia": 69, "english horn": 69, "cor anglais": 69, "corno inglese": 69,
    "clarinet": 71, "clarinetto": 71, "clarinetti": 71, "bassoon": 70, "fagotto": 70, "fagotti": 70,
    "saxophone": 65,
    # brass
    "horn": 60, "corno": 60, "corni": 60, "french horn": 60, "trumpet": 56, "tromba": 56, "trombe": 56,
    "clarino": 56, "cornet": 56, "cornetto": 56, "trombone": 57, "tromboni": 57, "tuba": 58,
    # percussion with pitch
    "timpani": 47, "timpano": 47, "kettledrums": 47,
}  # fmt: skip

# Vocal part name -> voice class (the nearest of soprano, alto, tenor, bass; "voice" where the name gives no
# register). Names seen in the embedded corpus: Bach (Soprano, Alto, Tenor, Bass, Soprano 1/2), Palestrina
# (Cantus, Altus, Tenor, Bassus, Quintus, Sextus, ...), Monteverdi (Canto, Alto, Quinto, Tenore, Basso, ...).
VOICE_PARTS: dict[str, str] = {
    "soprano": "soprano", "canto": "soprano", "cantus": "soprano", "superius": "soprano", "discantus": "soprano",
    "treble": "soprano", "soprani": "soprano", "sopran": "soprano", "s": "soprano",
    "alto": "alto", "altus": "alto", "alti": "alto", "alt": "alto", "contralto": "alto", "mezzo": "alto",
    "mezzo soprano": "alto", "contratenor": "alto", "countertenor": "alto", "a": "alto",
    "tenor": "tenor", "tenore": "tenor", "tenori": "tenor", "t": "tenor",
    "bass": "bass", "bassus": "bass", "basso": "bass", "bassi": "bass", "baritone": "bass", "baritono": "bass",
    "bariton": "bass", "b": "bass",
    "quintus": "voice", "quinto": "voice", "sextus": "voice", "sesto": "voice", "septimus": "voice",
    "settimo": "voice", "vagans": "voice", "voice": "voice", "voce": "voice", "vox": "voice", "choir": "voice",
    "chorus": "voice", "coro": "voice",
}  # fmt: skip


def normalise(name: str) -> str:
    """A part name lower-cased, with digits and punctuation removed and spaces collapsed."""
    name = re.sub(r"[^a-z ]+", " ", name.lower())
    return re.sub(r"\s+", " ", name).strip()


def match_part(name: str | None, table: dict) -> object | None:
    """The value of the table key that best matches a part name (see the module docstring), else None."""
    key = normalise(name or "")
    if not key:
        return None
    if key in table:
        return table[key]
    words = key.split()
    # longest keys first so that "double bass" wins over "bass", "violoncello" over "viola"
    for k in sorted(table, key=len, reverse=True):
        if len(k) >= 3 and (key.startswith(k) or (" " in k and k in key) or k in words):
            return table[k]
    return None


def part_program(name: str | None, fallback: int = 0) -> int:
    """General MIDI program of a score part from its name (see :data:`PART_PROGRAMS`), else ``fallback``."""
    program = match_part(name, PART_PROGRAMS)
    return fallback if program is None else int(program)


def voice_class(name: str | None) -> str:
    """Voice class of a vocal part from its name (see :data:`VOICE_PARTS`); ``voice`` when it names no register."""
    return str(match_part(name, VOICE_PARTS) or "voice")


def assign_programs(piece: Piece) -> Piece:
    """Set every track's program: MIDI files keep theirs; score parts are mapped by name."""
    if Path(piece.name).suffix.lower() in MIDI_SUFFIXES:
        return piece
    for track in piece.music.tracks:
        if not track.is_drum:
            track.program = part_program(track.name, int(track.program))
    return piece
