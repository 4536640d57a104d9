"""The MMT event representation (Dong et al., ICASSP 2023): six integer fields per event.

Each row is ``(type, beat, position, pitch, duration, instrument)``; 0 in a field means "undefined".
Type codes: 0 start-of-song, 1 instrument, 2 start-of-notes, 3 note, 4 end-of-song. Beat code = beat + 1,
position code = position + 1 (12 positions per beat), pitch code = MIDI pitch + 1, duration code = index
(1-based) of the nearest of 32 known durations, instrument code = 1-based index of one of 64 instrument
classes that the 128 General MIDI programs map onto (drums and programs 76-78, 96-103, 112-116 and
120-127 are dropped).

A piece is: start-of-song; one instrument row per distinct instrument (ascending); start-of-notes; one
row per note sorted by (beat, position, pitch, duration, instrument), de-duplicated; end-of-song.

The infill layout (:func:`infill_codes`, :func:`notes_from_infill`; ``data.layout=infill``), for adding a part to
given ones, holds the same rows in another order: start-of-song; the instrument rows (the target's among them);
start-of-notes; the notes of every part but the target, in time order; an instrument row of the target (the
marker: an instrument row after start-of-notes, which the time layout never writes); the target's notes in
time order; end-of-song. Every target note thus comes after the whole of the other parts, before and after its
time, so a model continuing the marker writes a part that fits them; the vocabulary and the type codes are the
time layout's (a marker is told by its place), and :func:`decode` reads either layout.

The interleaved layout (:func:`interleave_codes`; ``data.layout=interleave``) puts the marker right after
start-of-notes and then every part's notes in one sequence, the other parts' running ``ahead`` beats early
(anticipation, Thickstun et al. 2023): a note of another part at beat ``b`` sits where the target's notes of beat
``b - ahead`` do (before them on a tie). A target note thus comes just after the other parts' notes of its own time
and of the next ``ahead`` beats, wherever it is in the piece. Each target note is two rows: its onset (the note row
with pitch and duration 0, which :func:`notes_from_codes` skips), then the whole note, so that its pitch is drawn
knowing the beat it sounds on (MMT draws a row's six fields at once, each blind to the others).
:func:`notes_from_infill` reads both infill layouts.

Vocal parts (programs 52-54) are one ``voices`` class in the paper (``voices="merged"``, 64 classes). With
``voices="split"`` (the default) they are kept apart as five classes in its place, ``soprano``, ``alto``,
``tenor``, ``bass`` and a generic ``voice``, chosen by the part's name (:data:`mmt.parts.VOICE_PARTS`), each
decoded to program 52 ("choir aahs") under its own name; program 32 is then the class ``acoustic-bass``, so
that ``bass`` names the voice (68 classes).

Everything the codes depend on (resolution, maximum beat, durations, voices mode, instrument names and
programs) is held by one :class:`Encoding`, saved as JSON beside every dataset cache and inside every
checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import muspy
import numpy as np

from gm_common.errors import ConfigError
from gm_common.files import atomic_write_text
from gm_common.notes import music_from_tracks
from mmt.parts import voice_class

TYPE_SOS, TYPE_INSTRUMENT, TYPE_SON, TYPE_NOTE, TYPE_EOS = 0, 1, 2, 3, 4
TYPE_NAMES = ("start-of-song", "instrument", "start-of-notes", "note", "end-of-song")
F_TYPE, F_BEAT, F_POSITION, F_PITCH, F_DURATION, F_INSTRUMENT = range(6)

RESOLUTION = 12
KNOWN_DURATIONS = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 18, 20, 21, 24,
    30, 36, 40, 42, 48, 60, 72, 84, 96, 120, 144, 168, 192, 384,
)  # fmt: skip

# The 64 instrument classes, in code order (code = index + 1), with the program each decodes to.
INSTRUMENT_PROGRAMS: dict[str, int] = {
    "piano": 0, "electric-piano": 4, "harpsichord": 6, "clavinet": 7,
    "celesta": 8, "glockenspiel": 9, "music-box": 10, "vibraphone": 11, "marimba": 12, "xylophone": 13,
    "tubular-bells": 14, "dulcimer": 15,
    "organ": 16, "church-organ": 19, "accordion": 21, "harmonica": 22, "bandoneon": 23,
    "nylon-string-guitar": 24, "steel-string-guitar": 25, "electric-guitar": 26,
    "bass": 32, "electric-bass": 33, "slap-bass": 36, "synth-bass": 38,
    "violin": 40, "viola": 41, "cello": 42, "contrabass": 43, "harp": 46, "timpani": 47,
    "strings": 49, "synth-strings": 50, "voices": 52, "orchestra-hit": 55,
    "trumpet": 56, "trombone": 57, "tuba": 58, "horn": 60, "brasses": 61, "synth-brasses": 62,
    "soprano-saxophone": 64, "alto-saxophone": 65, "tenor-saxophone": 66, "baritone-saxophone": 67,
    "oboe": 68, "english-horn": 69, "bassoon": 70, "clarinet": 71,
    "piccolo": 72, "flute": 73, "recorder": 74, "pan-flute": 75, "ocarina": 79,
    "lead": 80, "pad": 88,
    "sitar": 104, "banjo": 105, "shamisen": 106, "koto": 107, "kalimba": 108, "bag-pipe": 109, "shehnai": 111,
    "melodic-tom": 117, "synth-drums": 118,
}  # fmt: skip


def _program_instrument_table() -> list[str | None]:
    """Program (0-127) -> instrument class name, or None for a dropped program."""
    table: list[str | None] = [None] * 128
    groups = {
        "piano": range(0, 4), "electric-piano": (4, 5), "harpsichord": (6,), "clavinet": (7,),
        "organ": (16, 17, 18, 20), "church-organ": (19,), "electric-guitar": range(26, 32),
        "bass": (32,), "electric-bass": (33, 34, 35), "slap-bass": (36, 37), "synth-bass": (38, 39),
        "strings": (44, 45, 48, 49), "synth-strings": (50, 51), "voices": (52, 53, 54),
        "trumpet": (56, 59), "synth-brasses": (62, 63), "lead": range(80, 88), "pad": range(88, 96),
        "violin": (40, 110),  # 110 (fiddle) has no class of its own: played as a violin
        "synth-drums": (118, 119),  # 119 (reverse cymbal) joins the synth drums
    }  # fmt: skip
    for name, program in INSTRUMENT_PROGRAMS.items():
        table[program] = name
    for name, programs in groups.items():
        for p in programs:
            table[p] = name
    return table


VOICES_MODES = ("split", "merged")
VOICE_CLASSES = ("soprano", "alto", "tenor", "bass", "voice")  # voices="split": in place of "voices"
CHOIR_PROGRAM = 52  # "choir aahs": the program every voice class decodes to


def instrument_tables(voices: str) -> tuple[list[str], list[int], list[str | None]]:
    """The instrument classes (in code order), the program each decodes to, and the program -> class map of
    a voices mode (see the module docstring)."""
    if voices not in VOICES_MODES:
        raise ConfigError(f"encoding.voices={voices!r}; valid: {', '.join(VOICES_MODES)}")
    names, programs = list(INSTRUMENT_PROGRAMS), list(INSTRUMENT_PROGRAMS.values())
    table = _program_instrument_table()
    if voices == "merged":
        return names, programs, table
    renamed = {"voices": "voice", "bass": "acoustic-bass"}
    names = [renamed.get(n, n) for n in names]
    table = [renamed.get(n, n) if n else None for n in table]
    at = names.index("voice")
    names[at : at + 1] = VOICE_CLASSES
    programs[at : at + 1] = [CHOIR_PROGRAM] * len(VOICE_CLASSES)
    return names, programs, table


@dataclass
class Encoding:
    """Vocabularies and maps of the representation (one plain-data object, JSON round-trippable). The instrument
    tables follow from ``voices``; they are saved too, so that an encoding file reads on its own."""

    resolution: int = RESOLUTION
    max_beat: int = 256
    durations: list[int] = field(default_factory=lambda: list(KNOWN_DURATIONS))
    voices: str = "split"
    instruments: list[str] = field(init=False)
    instrument_programs: list[int] = field(init=False)
    program_instrument: list[str | None] = field(init=False)

    def __post_init__(self) -> None:
        self.instruments, self.instrument_programs, self.program_instrument = instrument_tables(self.voices)
        self._inst_code = {name: i + 1 for i, name in enumerate(self.instruments)}
        # program -> instrument code (0 = dropped)
        self.program_code = np.array(
            [self._inst_code[n] if n is not None else 0 for n in self.program_instrument], dtype=np.int64
        )
        self.duration_values = np.asarray(self.durations, dtype=np.int64)

    # -- sizes --------------------------------------------------------------------------------
    @property
    def vocab_sizes(self) -> list[int]:
        """Vocabulary size of each of the six fields."""
        return [5, self.max_beat + 1, self.resolution + 1, 129, len(self.durations) + 1, len(self.instruments) + 1]

    # -- maps ---------------------------------------------------------------------------------
    def instrument_code(self, name: str) -> int:
        """Code of an instrument name; a ConfigError listing the valid names if unknown."""
        key = name.strip().lower().replace(" ", "-").replace("_", "-")
        if key not in self._inst_code:
            why = ""
            if key in VOICE_CLASSES and self.voices == "merged":
                why = " (this encoding has voices=merged: every vocal part is the one class 'voices')"
            raise ConfigError(f"unknown instrument {name!r}{why}; valid names: {', '.join(self.instruments)}")
        return self._inst_code[key]

    def track_code(self, program: int, name: str | None) -> int:
        """Instrument code of a track (0 = dropped): its program's class; with ``voices="split"`` a vocal
        program's class is the voice its name gives (:func:`mmt.parts.voice_class`)."""
        code = int(self.program_code[int(program)])
        if self.voices == "split" and code == self._inst_code["voice"]:
            return self._inst_code[voice_class(name)]
        return code

    def instrument_name(self, code: int) -> str:
        """Name of an instrument code (1-based)."""
        return self.instruments[int(code) - 1]

    def duration_code(self, ticks: np.ndarray) -> np.ndarray:
        """Codes (1-based) of the nearest known durations (ties go to the shorter)."""
        ticks = np.asarray(ticks, dtype=np.int64)
        idx = np.abs(ticks[..., None] - self.duration_values).argmin(axis=-1)
        return idx + 1

    # -- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The encoding as plain data (JSON, checkpoint hyper-parameters)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Encoding:
        """The encoding of :meth:`to_dict`'s data; a ConfigError on unknown keys or on instrument tables that are
        not those of its voices mode. Data without ``voices`` (saved before the option existed) is ``merged``:
        the paper's mapping, which it was made with."""
        derived = ("instruments", "instrument_programs", "program_instrument")
        unknown = set(data) - {"resolution", "max_beat", "durations", "voices", *derived}
        if unknown:
            raise ConfigError(f"encoding: unknown keys {sorted(unknown)}")
        data = {"voices": "merged", **data}
        encoding = cls(**{k: v for k, v in data.items() if k not in derived})
        stale = [k for k in derived if k in data and list(data[k]) != getattr(encoding, k)]
        if stale:
            raise ConfigError(f"encoding: {', '.join(stale)} are not those of voices={encoding.voices}")
        return encoding

    def save(self, path: str | Path) -> Path:
        """Write the encoding as JSON (atomically)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Encoding:
        """Read an encoding JSON file."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Encoding) and self.to_dict() == other.to_dict()

    def differences(self, other: Encoding) -> list[str]:
        """Names of the fields in which two encodings differ."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if a[k] != b.get(k)]


# -- notes <-> codes ----------------------------------------------------------------------------
def extract_notes(music: muspy.Music, encoding: Encoding, whole: bool = False) -> np.ndarray:
    """Notes of ``music`` as rows (beat, position, pitch, duration code, instrument code), sorted and
    de-duplicated; drums, dropped programs and notes at or beyond ``max_beat`` (kept with ``whole``: a piece read
    in windows) are left out. Tracks of one class merge into it (two tenor parts are one ``tenor``).
    ``music`` is re-quantised to the encoding's resolution if needed (a copy)."""
    res = encoding.resolution
    if music.resolution != res:
        music = music.deepcopy()
        music.adjust_resolution(res)
    rows = []
    for track in music.tracks:
        if track.is_drum or not track.notes:
            continue
        inst = encoding.track_code(track.program, track.name)
        if inst == 0:
            continue
        arr = np.array([(n.time, n.pitch, n.duration) for n in track.notes], dtype=np.int64).reshape(-1, 3)
        beat, pos = np.divmod(arr[:, 0], res)
        dur = encoding.duration_code(np.maximum(arr[:, 2], 1))
        rows.append(np.stack([beat, pos, arr[:, 1], dur, np.full(len(arr), inst)], axis=1))
    if not rows:
        return np.zeros((0, 5), dtype=np.int64)
    notes = np.concatenate(rows)
    last = np.iinfo(np.int64).max if whole else encoding.max_beat
    notes = notes[(notes[:, 0] >= 0) & (notes[:, 0] < last) & (notes[:, 2] >= 0) & (notes[:, 2] <= 127)]
    return np.unique(notes, axis=0)  # sorted lexicographically = (beat, position, pitch, duration, instrument)


def codes_from_notes(notes: np.ndarray, instruments: np.ndarray | None = None) -> np.ndarray:
    """Build the (N, 6) code array from note rows (beat, position, pitch, duration code, instrument code)
    that are already sorted and unique. ``instruments`` (codes) defaults to those used by the notes."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 5)
    if instruments is None:
        instruments = np.unique(notes[:, 4])
    instruments = np.unique(np.asarray(instruments, dtype=np.int64))
    n_inst, n = len(instruments), len(notes)
    codes = np.zeros((n_inst + n + 3, 6), dtype=np.int64)
    codes[1 : 1 + n_inst, F_TYPE] = TYPE_INSTRUMENT
    codes[1 : 1 + n_inst, F_INSTRUMENT] = instruments
    codes[1 + n_inst, F_TYPE] = TYPE_SON
    body = codes[2 + n_inst : 2 + n_inst + n]
    body[:, F_TYPE] = TYPE_NOTE
    body[:, F_BEAT] = notes[:, 0] + 1
    body[:, F_POSITION] = notes[:, 1] + 1
    body[:, F_PITCH] = notes[:, 2] + 1
    body[:, F_DURATION] = notes[:, 3]
    body[:, F_INSTRUMENT] = notes[:, 4]
    codes[-1, F_TYPE] = TYPE_EOS
    return codes


def encode(music: muspy.Music, encoding: Encoding) -> np.ndarray:
    """Encode ``music`` as an (N, 6) int64 array of event rows."""
    return codes_from_notes(extract_notes(music, encoding))


def infill_codes(notes: np.ndarray, target: int, instruments: np.ndarray | None = None) -> np.ndarray:
    """The infill layout (module docstring) of sorted, unique note rows with instrument code ``target`` as the
    part to add: the other parts' notes, the target's marker row, then the target's notes. ``instruments``
    (codes) defaults to those of the notes; the target is always declared."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 5)
    if instruments is None:
        instruments = np.unique(notes[:, 4])
    instruments = np.union1d(np.asarray(instruments, dtype=np.int64), [int(target)])
    is_target = notes[:, 4] == int(target)
    codes = codes_from_notes(np.concatenate([notes[~is_target], notes[is_target]]), instruments)
    marker = np.zeros((1, 6), dtype=np.int64)
    marker[0, F_TYPE], marker[0, F_INSTRUMENT] = TYPE_INSTRUMENT, int(target)
    at = len(instruments) + 2 + int((~is_target).sum())
    return np.concatenate([codes[:at], marker, codes[at:]])


def layout_order(notes: np.ndarray, target: int, ahead: int) -> np.ndarray:
    """The order (indices) of sorted note rows in the interleaved layout: by beat, the other parts' ``ahead``
    beats early, then position, the other parts first on a tie, then as sorted."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 5)
    is_target = notes[:, 4] == int(target)
    when = notes[:, 0] - np.where(is_target, 0, int(ahead))
    return np.lexsort((np.arange(len(notes)), is_target, notes[:, 1], when))


def interleave_codes(notes: np.ndarray, target: int, ahead: int, instruments: np.ndarray | None = None) -> np.ndarray:
    """The interleaved layout (module docstring) of sorted, unique note rows with instrument code ``target`` as the
    part to add (an onset row before each of its notes) and the other parts ``ahead`` beats early. ``instruments`` as
    :func:`infill_codes`'s."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 5)
    if instruments is None:
        instruments = np.unique(notes[:, 4])
    instruments = np.union1d(np.asarray(instruments, dtype=np.int64), [int(target)])
    codes = codes_from_notes(notes[layout_order(notes, target, ahead)], instruments)
    marker = np.zeros((1, 6), dtype=np.int64)
    marker[0, F_TYPE], marker[0, F_INSTRUMENT] = TYPE_INSTRUMENT, int(target)
    at = len(instruments) + 2
    codes = np.concatenate([codes[:at], marker, codes[at:]])
    ours = (codes[:, F_TYPE] == TYPE_NOTE) & (codes[:, F_INSTRUMENT] == int(target))
    codes = np.repeat(codes, np.where(ours, 2, 1), axis=0)
    onsets = np.nonzero(np.repeat(ours, np.where(ours, 2, 1)))[0][::2]  # the first of each pair
    codes[onsets, F_PITCH] = codes[onsets, F_DURATION] = 0
    return codes


def infill_marker(codes: np.ndarray) -> int | None:
    """Row index of the infill marker of a code array (an instrument row after start-of-notes), else None."""
    codes = np.asarray(codes, dtype=np.int64).reshape(-1, 6)
    after = np.cumsum(codes[:, F_TYPE] == TYPE_SON) > 0
    marks = np.nonzero(after & (codes[:, F_TYPE] == TYPE_INSTRUMENT))[0]
    return int(marks[0]) if len(marks) else None


def notes_from_infill(codes: np.ndarray, encoding: Encoding) -> tuple[np.ndarray, np.ndarray, int]:
    """The inverse of :func:`infill_codes` and :func:`interleave_codes`: the other parts' notes, the target's notes
    (the valid rows after its marker that use its instrument, sorted and unique) and the target's code. A
    ConfigError without a marker."""
    at = infill_marker(codes)
    if at is None:
        raise ConfigError("the codes hold no infill marker (an instrument row after start-of-notes)")
    codes = np.asarray(codes, dtype=np.int64).reshape(-1, 6)
    target = int(codes[at, F_INSTRUMENT])
    context, _ = notes_from_codes(codes[:at], encoding)
    after, _ = notes_from_codes(codes[at + 1 :], encoding)
    added = after[after[:, 4] == target]
    context = np.concatenate([context, after[after[:, 4] != target]])
    return np.unique(context, axis=0).reshape(-1, 5), np.unique(added, axis=0).reshape(-1, 5), target


def notes_from_codes(codes: np.ndarray, encoding: Encoding) -> tuple[np.ndarray, list[int]]:
    """Valid note rows (beat, position, pitch, duration code, instrument code) of a code array, up to
    the first end-of-song, and the declared instrument codes. Rows with an undefined (0) or out-of-range
    field are skipped (a generated sequence may hold them)."""
    codes = np.asarray(codes, dtype=np.int64).reshape(-1, 6)
    eos = np.nonzero(codes[:, F_TYPE] == TYPE_EOS)[0]
    if len(eos):
        codes = codes[: eos[0]]
    sizes = encoding.vocab_sizes
    declared = sorted({int(c) for c in codes[codes[:, F_TYPE] == TYPE_INSTRUMENT, F_INSTRUMENT] if 0 < c < sizes[5]})
    body = codes[codes[:, F_TYPE] == TYPE_NOTE]
    ok = np.ones(len(body), dtype=bool)
    for f in range(1, 6):
        ok &= (body[:, f] > 0) & (body[:, f] < sizes[f])
    body = body[ok]
    notes = np.stack(
        [
            body[:, F_BEAT] - 1,
            body[:, F_POSITION] - 1,
            body[:, F_PITCH] - 1,
            body[:, F_DURATION],
            body[:, F_INSTRUMENT],
        ],
        axis=1,
    ).reshape(-1, 5)
    return notes, declared


def decode(codes: np.ndarray, encoding: Encoding, tempo_qpm: float = 100.0) -> muspy.Music:
    """Decode a code array into multitrack ``muspy.Music``: one track per instrument (named after it,
    with its class program), in instrument order; instruments declared but without notes are left out."""
    notes, _ = notes_from_codes(codes, encoding)
    res = encoding.resolution
    tracks = []
    for inst in np.unique(notes[:, 4]):
        sel = notes[notes[:, 4] == inst]
        time = sel[:, 0] * res + sel[:, 1]
        dur = encoding.duration_values[sel[:, 3] - 1]
        arr = np.stack([time, sel[:, 2], dur], axis=1)
        tracks.append((encoding.instrument_name(inst), encoding.instrument_programs[int(inst) - 1], False, arr))
    return music_from_tracks(tracks, res, tempo_qpm=tempo_qpm)


def describe(codes: np.ndarray, encoding: Encoding) -> list[dict]:
    """Rows of a code array as dicts (for CSV tables): codes plus readable values."""
    out = []
    for row in np.asarray(codes, dtype=np.int64).reshape(-1, 6):
        t, b, p, pi, d, i = (int(x) for x in row)
        out.append(
            {
                "type": t, "beat": b, "position": p, "pitch": pi, "duration": d, "instrument": i,
                "event": TYPE_NAMES[t] if 0 <= t < 5 else "?",
                "beat_value": b - 1 if b > 0 else "", "position_value": p - 1 if p > 0 else "",
                "pitch_value": pi - 1 if pi > 0 else "",
                "duration_ticks": int(encoding.duration_values[d - 1]) if 0 < d <= len(encoding.durations) else "",
                "instrument_name": encoding.instrument_name(i) if 0 < i <= len(encoding.instruments) else "",
            }
        )  # fmt: skip
    return out
