"""MIDI -> audio through the FluidSynth program and a General MIDI soundfont found on the system."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import muspy

from gm_common.errors import InputFileError, MissingDependencyError
from gm_common.files import atomic_path, check_writable
from gm_common.notes import first_qpm

SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/local/share/soundfonts")
INSTALL_HINT = "install it with: apt-get install fluidsynth timgm6mb-soundfont (or fluid-soundfont-gm)"


def find_fluidsynth() -> str:
    """Path of the ``fluidsynth`` program, or a clear error."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise MissingDependencyError(f"FluidSynth is not installed; {INSTALL_HINT}")
    return exe


def find_soundfont(path: str | Path | None = None) -> Path:
    """The soundfont to use: ``path``, else ``$SOUNDFONT``, else the first ``.sf2`` in the system folders."""
    candidates = [path] if path else ([os.environ["SOUNDFONT"]] if os.environ.get("SOUNDFONT") else [])
    for c in candidates:
        if not Path(c).is_file():
            raise MissingDependencyError(f"soundfont {c} not found")
        return Path(c)
    for folder in SOUNDFONT_DIRS:
        fonts = sorted(Path(folder).glob("*.sf2")) if Path(folder).is_dir() else []
        if fonts:
            default = [f for f in fonts if f.name.startswith("default")]
            return (default or fonts)[0]
    raise MissingDependencyError(
        f"no General MIDI soundfont (.sf2) found in {', '.join(SOUNDFONT_DIRS)}; {INSTALL_HINT}"
    )


def fluidsynth_available() -> bool:
    """True where both FluidSynth and a soundfont are installed."""
    try:
        find_fluidsynth()
        find_soundfont()
    except MissingDependencyError:
        return False
    return True


def render_midi(
    midi_path: str | Path,
    wav_path: str | Path,
    sample_rate: int = 22050,
    soundfont: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Render a MIDI file to a WAV file (written atomically)."""
    midi_path = Path(midi_path)
    if not midi_path.is_file():
        raise InputFileError(midi_path, "file not found")
    wav_path = check_writable(wav_path, overwrite)
    exe, sf2 = find_fluidsynth(), find_soundfont(soundfont)
    with atomic_path(wav_path) as tmp:
        cmd = [exe, "-ni", "-g", "0.6", "-F", str(tmp), "-T", "wav", "-r", str(sample_rate), str(sf2), str(midi_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or tmp.stat().st_size <= 44:
            raise InputFileError(midi_path, f"FluidSynth failed to render: {proc.stderr.strip()[-300:]}")
    return wav_path


def render_music(
    music: muspy.Music,
    wav_path: str | Path,
    sample_rate: int = 22050,
    soundfont: str | Path | None = None,
    overwrite: bool = False,
    tail_seconds: float = 1.0,
) -> Path:
    """Render ``muspy.Music`` to a WAV file through a temporary MIDI file; the audio lasts as long as the
    music plus ``tail_seconds`` of release (FluidSynth itself appends a few seconds of silence)."""
    from gm_common.audio import load_wav, save_wav
    from gm_common.notes import write_midi

    wav_path = check_writable(wav_path, overwrite)
    qpm = first_qpm(music)
    end_seconds = music.get_end_time() * 60.0 / (qpm * music.resolution)
    with tempfile.TemporaryDirectory() as tmp:
        midi = write_midi(music, Path(tmp) / "render.mid")
        full = render_midi(midi, Path(tmp) / "render.wav", sample_rate, soundfont)
        audio, _ = load_wav(full, mono=False)
        audio = audio[..., : int((end_seconds + tail_seconds) * sample_rate)]
        return save_wav(wav_path, audio, sample_rate, overwrite=overwrite)
