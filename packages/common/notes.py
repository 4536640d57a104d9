"""Read MIDI / MusicXML / ABC into one note representation (``muspy.Music``) and write MIDI back.

A ``muspy.Music`` holds tracks (name, program, is_drum) of notes (time, pitch, duration, velocity) at a
resolution in ticks per quarter note. Every reader here validates its input and raises
:class:`InputFileError` (path in the message) for missing, unsupported, empty, corrupt or drum-only files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gm_common.errors import InputFileError
from gm_common.files import atomic_path, check_writable

if TYPE_CHECKING:  # imported where used: corpus worker processes reading MIDI start 2 s sooner without MusPy
    import muspy

MIDI_SUFFIXES = (".mid", ".midi")
MUSICXML_SUFFIXES = (".mxl", ".xml", ".musicxml")
MUSIC21_SUFFIXES = (".abc", ".krn")  # parsed by music21, then read through MusicXML
SUPPORTED_SUFFIXES = MIDI_SUFFIXES + MUSICXML_SUFFIXES + MUSIC21_SUFFIXES

NOTE_FIELDS = ("time", "pitch", "duration", "velocity", "track", "program", "is_drum")
NOTE_DTYPE = np.dtype([(f, np.int32) for f in NOTE_FIELDS])
Track = tuple[str, int, bool, np.ndarray]  # name, program, is_drum, notes (N, 3|4: time, pitch, duration[, velocity])
DEFAULT_QPM = 120.0  # the tempo of a score or MIDI file that declares none (the MIDI default)


def _musicxml_root(path: Path) -> ET.Element:
    if path.suffix.lower() != ".mxl":
        return ET.parse(path).getroot()
    with zipfile.ZipFile(path) as zf:
        inner = [n for n in zf.namelist() if n.endswith((".xml", ".musicxml")) and not n.startswith("META-INF")]
        return ET.fromstring(zf.read(inner[0]))


def _read_musicxml(path: Path) -> muspy.Music:
    """MusPy names tracks by <instrument-name>, which parts may share ("String Ensemble 1" in every part of a
    quartet); name them by <part-name>: in order when there is one track per part, else by an instrument name
    that only one part uses."""
    import muspy

    music = muspy.read_musicxml(path)
    parts = [
        ((p.findtext("part-name") or "").strip(), {(i.text or "").strip() for i in p.iter("instrument-name")})
        for p in _musicxml_root(path).iter("score-part")
    ]
    if len(parts) == len(music.tracks):
        for track, (name, _) in zip(music.tracks, parts):
            track.name = name or track.name
        return music
    for track in music.tracks:
        owners = [name for name, instruments in parts if track.name in instruments]
        if len(owners) == 1 and owners[0]:
            track.name = owners[0]
    return music


def _from_music21(path: Path, resolution: int = 96) -> muspy.Music:
    """Parse with music21 and convert part by part. Written here because
    ``muspy.from_music21_score`` is broken with music21 >= 9 (it uses the removed ``.flat``)."""
    import music21
    import muspy

    score = music21.converter.parse(str(path))
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    music = muspy.Music(resolution=resolution)
    tempos = list(score.flatten().getElementsByClass(music21.tempo.MetronomeMark))
    music.tempos = [muspy.Tempo(time=0, qpm=float(tempos[0].getQuarterBPM() or DEFAULT_QPM) if tempos else DEFAULT_QPM)]
    for i, part in enumerate(parts):
        inst = part.getInstrument(returnDefault=True)
        track = muspy.Track(
            program=int(inst.midiProgram or 0),
            is_drum=isinstance(inst, music21.instrument.UnpitchedPercussion),
            name=part.partName or inst.partName or f"Part {i + 1}",
        )
        part.stripTies(inPlace=True)  # the parsed score is ours: no deep copy (2/3 of the time otherwise)
        for el in part.flatten().notes:
            time = round(float(el.offset) * resolution)
            duration = round(float(el.quarterLength) * resolution)
            velocity = int(el.volume.velocity or 64)
            for pitch in el.pitches:
                track.notes.append(muspy.Note(time=time, pitch=int(pitch.midi), duration=duration, velocity=velocity))
        music.tracks.append(track)
    return music


def read_midi_tracks(path: str | Path, resolution: int | None = None) -> tuple[list[Track], float, int]:
    """A MIDI file's tracks ``(name, program, is_drum, notes[N, 4])``, first tempo and resolution, read with
    symusic (C++; ~100x faster than the mido-based readers of MusPy and pretty_midi), re-quantised to
    ``resolution`` when given (a note keeps at least one tick). Parse errors propagate as symusic raises them."""
    import symusic

    score = symusic.Score(str(path))
    if resolution is not None and score.ticks_per_quarter != resolution:
        score = score.resample(resolution, min_dur=1)
    tracks = []
    for track in score.tracks:
        cols = track.notes.numpy()
        notes = np.stack([cols["time"], cols["pitch"], np.maximum(cols["duration"], 1), cols["velocity"]], axis=1)
        tracks.append((track.name, int(track.program), bool(track.is_drum), notes.astype(np.int32)))
    qpm = float(score.tempos[0].qpm) if len(score.tempos) else DEFAULT_QPM
    return tracks, qpm, int(score.ticks_per_quarter)


def _parse(path: Path, resolution: int | None) -> muspy.Music:
    import muspy

    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        tracks, qpm, tpq = read_midi_tracks(path, resolution)
        return music_from_tracks(tracks, tpq, tempo_qpm=qpm)
    if suffix in MUSICXML_SUFFIXES:
        try:
            return _read_musicxml(path)  # fast path (MusPy's reader is ~20x faster than music21)
        except (muspy.inputs.musicxml.MusicXMLError, KeyError, ValueError, TypeError):
            pass  # valid MusicXML that MusPy's strict reader rejects: music21 reads it
    return _from_music21(path)


def _checked_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "file not found")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputFileError(
            path, f"unsupported extension {path.suffix!r}; expected one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if path.stat().st_size == 0:
        raise InputFileError(path, "file is empty")
    return path


def _parse_error(path: Path, err: Exception) -> InputFileError:
    return InputFileError(path, f"cannot parse file (corrupt or truncated?): {type(err).__name__}: {err}")


def _check_notes(path: Path, is_drum: list[bool], allow_drums_only: bool) -> None:
    """Raise for a file whose non-empty tracks (``is_drum`` of each) hold no notes, or only drums."""
    if not is_drum:
        raise InputFileError(path, "file contains no notes")
    if not allow_drums_only and all(is_drum):
        raise InputFileError(path, "file contains only drum notes")


def read_tracks(path: str | Path, resolution: int, allow_drums_only: bool = False) -> tuple[list[Track], float]:
    """A file's non-empty tracks ``(name, program, is_drum, notes[N, 4] int32)`` at ``resolution`` and its first
    tempo, checked as :func:`read_music` checks them. MIDI goes straight from symusic to arrays (no Python object
    per note: what makes corpus conversion fast); scores go through :func:`read_music`."""
    path = _checked_path(path)
    if path.suffix.lower() not in MIDI_SUFFIXES:
        music = read_music(path, resolution, allow_drums_only)
        return tracks_from_music(music), first_qpm(music)
    try:
        tracks, qpm, _ = read_midi_tracks(path, resolution)
    except Exception as err:  # symusic raises plain RuntimeErrors/ValueErrors on corrupt files
        raise _parse_error(path, err) from err
    tracks = [t for t in tracks if len(t[3])]
    _check_notes(path, [is_drum for _, _, is_drum, _ in tracks], allow_drums_only)
    return tracks, qpm


def read_music(
    path: str | Path,
    resolution: int | None = None,
    allow_drums_only: bool = False,
) -> muspy.Music:
    """Read a MIDI, MusicXML (.mxl/.xml/.musicxml) or ABC file as ``muspy.Music``.

    ``resolution`` (ticks per quarter note), when given, re-quantises all times and durations
    (a note never gets shorter than one tick).
    Empty tracks are removed; a file with no notes (or only drums, unless allowed) is an error.
    """
    path = _checked_path(path)
    try:
        music = _parse(path, resolution)
    except Exception as err:  # every parser has its own exception zoo; report one clear type
        raise _parse_error(path, err) from err
    if resolution is not None and music.resolution != resolution:
        music.adjust_resolution(resolution)
    for track in music.tracks:
        for note in track.notes:  # grace notes and notes shorter than a tick keep one tick
            note.duration = max(1, note.duration)
    music.tracks = [t for t in music.tracks if len(t.notes) > 0]
    _check_notes(path, [t.is_drum for t in music.tracks], allow_drums_only)
    if not music.metadata.source_filename:
        music.metadata.source_filename = path.name
    return music


def write_midi(music: muspy.Music, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``music`` as a multitrack MIDI file (one track per ``music.tracks``, with its program).

    Written atomically; refuses to overwrite an existing file unless ``overwrite``. Written through
    pretty_midi at the music's own resolution and first tempo, so reading it back gives the same ticks.
    (MusPy's writers are not used: the mido backend fails on some MusicXML key signatures and the
    pretty_midi backend drops the tempo and resamples to 220 ticks per beat.)
    """
    import pretty_midi

    path = check_writable(path, overwrite)
    qpm = first_qpm(music)
    seconds_per_tick = 60.0 / (qpm * music.resolution)
    pm = pretty_midi.PrettyMIDI(resolution=music.resolution, initial_tempo=qpm)
    for ts in music.time_signatures[:1]:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(ts.numerator, ts.denominator, 0.0))
    for track in music.tracks:
        inst = pretty_midi.Instrument(program=int(track.program), is_drum=bool(track.is_drum), name=track.name or "")
        for n in track.notes:
            inst.notes.append(
                pretty_midi.Note(
                    velocity=min(127, max(1, int(n.velocity if n.velocity is not None else 64))),
                    pitch=int(n.pitch),
                    start=n.time * seconds_per_tick,
                    end=(n.time + n.duration) * seconds_per_tick,
                )
            )
        pm.instruments.append(inst)
    with atomic_path(path) as tmp:
        pm.write(str(tmp))
    return path


def first_qpm(music: muspy.Music) -> float:
    """The tempo (quarter notes per minute) at the start of ``music``, or ``DEFAULT_QPM``."""
    return float(music.tempos[0].qpm) if music.tempos else DEFAULT_QPM


def note_table(music: muspy.Music) -> np.ndarray:
    """All notes of ``music`` as one structured array (fields ``NOTE_FIELDS``), sorted by time then pitch."""
    rows = [
        (n.time, n.pitch, n.duration, n.velocity, i, t.program, int(t.is_drum))
        for i, t in enumerate(music.tracks)
        for n in t.notes
    ]
    table = np.array(rows, dtype=NOTE_DTYPE) if rows else np.zeros(0, dtype=NOTE_DTYPE)
    return np.sort(table, order=["time", "pitch", "track"])


def tracks_from_music(music: muspy.Music) -> list[Track]:
    """The tracks of ``music`` as ``(name, program, is_drum, notes[N, 4] int32)``: the inverse of
    :func:`music_from_tracks`."""
    return [
        (
            track.name or "",
            int(track.program),
            bool(track.is_drum),
            np.array([(n.time, n.pitch, n.duration, n.velocity) for n in track.notes], dtype=np.int32).reshape(-1, 4),
        )
        for track in music.tracks
    ]


def music_from_tracks(tracks: list[Track], resolution: int, tempo_qpm: float = DEFAULT_QPM) -> muspy.Music:
    """Build ``muspy.Music`` from ``(name, program, is_drum, notes)`` where notes has columns
    time, pitch, duration[, velocity] in ticks at ``resolution``."""
    import muspy

    music = muspy.Music(resolution=resolution, tempos=[muspy.Tempo(time=0, qpm=tempo_qpm)])
    for name, program, is_drum, notes in tracks:
        notes = np.asarray(notes, dtype=np.int64).reshape(-1, notes.shape[-1] if len(notes) else 3)
        velocity = notes[:, 3] if notes.shape[1] > 3 else np.full(len(notes), 64)
        music.tracks.append(
            muspy.Track(
                program=int(program),
                is_drum=bool(is_drum),
                name=name,
                notes=[
                    muspy.Note(time=int(t), pitch=int(p), duration=int(d), velocity=int(v))
                    for (t, p, d), v in zip(notes[:, :3], velocity)
                ],
            )
        )
    return music
