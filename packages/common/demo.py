"""The foundation's demo: a Bach chorale from the embedded music21 corpus -> MIDI, WAV and piano roll.

Run ``python -m gm_common.demo [out_dir]`` (default ``outputs/demo/common``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from gm_common.corpus import list_collection
from gm_common.notes import read_music, write_midi
from gm_common.plots import plot_pianoroll
from gm_common.render import fluidsynth_available, render_music


def main(out_dir: str | Path = "outputs/demo/common", chorale: str = "bwv10.7.mxl") -> dict[str, Path]:
    """Write the chorale as MIDI, WAV (if FluidSynth is installed) and a piano-roll PNG; return the paths."""
    out = Path(out_dir)
    path = next(p for p in list_collection("bach_chorales") if p.name == chorale)
    music = read_music(path, resolution=24)
    stem = Path(chorale).stem
    files = {
        "midi": write_midi(music, out / f"{stem}.mid", overwrite=True),
        "png": plot_pianoroll(music, out / f"{stem}.png", title=f"J.S. Bach, {stem}", overwrite=True),
    }
    if fluidsynth_available():
        files["wav"] = render_music(music, out / f"{stem}.wav", overwrite=True)
    else:
        print("FluidSynth/soundfont missing: no WAV (apt-get install fluidsynth timgm6mb-soundfont)")
    print(
        f"[common] {chorale}: {sum(len(t.notes) for t in music.tracks)} notes in parts {[t.name for t in music.tracks]}"
    )
    for kind, p in files.items():
        print(f"[common]   {kind:4s} {p}")
    return files


if __name__ == "__main__":
    main(*sys.argv[1:2])
