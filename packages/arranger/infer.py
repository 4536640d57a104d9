"""Arrange a piece: merge all non-drum notes into one mixture, give every note a part, write one track per
part with the dataset's programs (drums kept as they are).

    python -m arranger.infer song.mid                          # -> song_arranged.mid + song_arranged.png
    python -m arranger.infer song.mid ckpt=outputs/arranger/runs/bach_bilstm/checkpoints/best.ckpt wav=true
    python -m arranger.infer input=song.mxl programs=[0,0,0,0] output_dir=out/

Every check (checkpoint, dataset, input file, programs, output paths, FluidSynth when a WAV is asked for)
runs before anything is written: on bad input, one clear error and no file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from arranger.cli import run_cli
from gm_common.cli import clear_errors
from arranger.data import RESOLUTION
from arranger.predict import Arranger
from gm_common.errors import ConfigError, InputFileError
from gm_common.files import check_writable
from gm_common.notes import music_from_tracks, note_table, read_music, write_midi

log = logging.getLogger(__name__)


@dataclass
class Arrangement:
    music: object  # muspy.Music: one track per part (+ drums)
    notes: np.ndarray  # (N, 4) time, pitch, duration, velocity of the mixture, in model order
    parts: np.ndarray  # (N,) part index per note


def mixture_from_music(music, n_parts: int | None = None, use_parts: bool = False, path: str | Path = "input"):
    """Non-drum notes sorted (time, pitch descending); drums (N, 4); the source part of each note when
    ``use_parts`` (track order -> part index; more tracks than ``n_parts`` is an error)."""
    table = note_table(music)
    drums = table[table["is_drum"] == 1]
    mix = table[table["is_drum"] == 0]
    if len(mix) == 0:
        raise InputFileError(path, "no pitched (non-drum) notes to arrange")
    notes = np.stack([mix["time"], mix["pitch"], mix["duration"], mix["velocity"]], 1).astype(np.int64)
    order = np.lexsort((mix["track"], -notes[:, 1], notes[:, 0]))
    notes, tracks = notes[order], mix["track"][order]
    hints = None
    if use_parts:
        pitched = sorted(set(tracks.tolist()))
        if n_parts is not None and len(pitched) > n_parts:
            raise InputFileError(path, f"has {len(pitched)} pitched parts but the model knows only {n_parts}")
        hints = np.searchsorted(np.array(pitched), tracks).astype(np.int64)
    drum_notes = np.stack([drums["time"], drums["pitch"], drums["duration"], drums["velocity"]], 1).astype(np.int64) if len(drums) else np.zeros((0, 4), np.int64)
    return notes, hints, drum_notes


def arrange(arranger: Arranger, music, programs: list[int] | None = None, use_parts: bool = False, path="input") -> Arrangement:
    """Arrange a ``muspy.Music`` (at resolution 24) with a loaded arranger."""
    labels, progs = arranger.dataset["labels"], list(programs if programs is not None else arranger.dataset["programs"])
    if len(progs) != len(labels):
        raise ConfigError(f"programs has {len(progs)} entries; the model has {len(labels)} parts ({', '.join(labels)})")
    if any(not 0 <= int(p) <= 127 for p in progs):
        raise ConfigError(f"programs must be in 0..127, got {progs}")
    use_parts = use_parts or arranger.needs_hints
    notes, hints, drums = mixture_from_music(music, len(labels), use_parts, path)
    parts = arranger.predict(notes[:, :3], hint_labels=hints)
    tracks = [(name, int(prog), False, notes[parts == k]) for k, (name, prog) in enumerate(zip(labels, progs))]
    if len(drums):
        tracks.append(("Drums", 0, True, drums))
    qpm = float(music.tempos[0].qpm) if music.tempos else 120.0
    out = music_from_tracks(tracks, RESOLUTION, tempo_qpm=qpm)
    out.time_signatures = list(music.time_signatures[:1])
    return Arrangement(out, notes, parts)


def output_paths(input_path: Path, output_dir: str | Path | None) -> dict[str, Path]:
    folder = Path(output_dir) if output_dir else input_path.parent
    stem = f"{input_path.stem}_arranged"
    return {"midi": folder / f"{stem}.mid", "png": folder / f"{stem}.png", "wav": folder / f"{stem}.wav"}


def run_infer(cfg: DictConfig | dict) -> dict[str, Path]:
    cfg = OmegaConf.create(cfg) if isinstance(cfg, dict) else cfg
    if not cfg.input:
        raise ConfigError("give the piece to arrange: python -m arranger.infer song.mid (or input=song.mid)")
    arranger = Arranger.from_checkpoint(cfg.ckpt, expect_dataset=cfg.get("dataset"))
    input_path = Path(cfg.input)
    music = read_music(input_path, resolution=RESOLUTION, allow_drums_only=True)
    if all(t.is_drum for t in music.tracks):
        raise InputFileError(input_path, "contains only drum notes: nothing to arrange")
    programs = list(cfg.programs) if cfg.get("programs") is not None else None
    paths = output_paths(input_path, cfg.get("output_dir"))
    wanted = ["midi"] + (["png"] if cfg.get("png", True) else []) + (["wav"] if cfg.get("wav", False) else [])
    for key in wanted:
        check_writable(paths[key], cfg.get("overwrite", False))
    if "wav" in wanted:
        from gm_common.render import find_fluidsynth, find_soundfont

        find_fluidsynth(), find_soundfont()
    result = arrange(arranger, music, programs, bool(cfg.get("use_input_parts", False)), input_path)
    overwrite = bool(cfg.get("overwrite", False))
    write_midi(result.music, paths["midi"], overwrite=overwrite)
    if "png" in wanted:
        from gm_common.plots import plot_pianoroll

        plot_pianoroll(result.music, paths["png"], title=f"{input_path.name} arranged by {arranger.name} ({arranger.dataset['name']})",
                       max_beats=256, overwrite=overwrite)
    if "wav" in wanted:
        from gm_common.render import render_midi

        render_midi(paths["midi"], paths["wav"], overwrite=overwrite)
    counts = np.bincount(result.parts, minlength=arranger.n_parts)
    print(f"arranged {len(result.notes)} notes of {input_path.name} with {arranger.name}: "
          + ", ".join(f"{name} {int(c)}" for name, c in zip(arranger.dataset["labels"], counts)))
    for key in wanted:
        print(f"{key}: {paths[key]}")
    return {k: paths[k] for k in wanted}


@hydra.main(config_path="../../configs/arranger", config_name="infer", version_base="1.3")
@clear_errors
def main(cfg: DictConfig) -> None:
    run_infer(cfg)


if __name__ == "__main__":
    run_cli(main, positional="input")
