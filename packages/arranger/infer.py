"""Arrange a piece: merge all non-drum notes into one mixture, give every note a part, write one track per
part with the dataset's programs (drums kept as they are). A thin layer over ``Arranger.arrange``.

    python -m arranger.infer song.mid                          # shipped Bach BiLSTM -> song_arranged.mid + .png
    python -m arranger.infer song.mid ckpt=quartets_lstm wav=true
    python -m arranger.infer song.mid ckpt=outputs/arranger/runs/bach_lstm/checkpoints/best.ckpt
    python -m arranger.infer song.mid device=cuda precision=bf16-mixed   # the net on the GPU (default: auto)
    python -m arranger.infer list_models=true                  # the shipped models

Every check (device, model, dataset, input file, programs, output paths, FluidSynth when a WAV is asked for)
runs before anything is written: on bad input, one clear error and no file.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from arranger import predict
from arranger.predict import Arranger
from gm_common.cli import entry_point
from gm_common.errors import ConfigError
from gm_common.files import check_output_folder, check_writable
from gm_common.notes import write_midi
from gm_common.pretrained import print_pretrained


def output_paths(input_path: Path, output_dir: str | Path | None) -> dict[str, Path]:
    """Where the arranged MIDI, piano roll and audio of ``input_path`` go (beside it by default)."""
    folder = Path(output_dir) if output_dir else input_path.parent
    stem = f"{input_path.stem}_arranged"
    return {"midi": folder / f"{stem}.mid", "png": folder / f"{stem}.png", "wav": folder / f"{stem}.wav"}


def run(cfg: DictConfig) -> dict[str, Path]:
    """Arrange ``cfg.input`` with ``cfg.ckpt`` (a shipped model's name or a checkpoint); returns the files written."""
    if cfg.list_models:
        print_pretrained(predict.PRETRAINED)
        return {}
    if not cfg.input:
        raise ConfigError("give the piece to arrange: python -m arranger.infer song.mid (or input=song.mid)")
    arranger = Arranger.from_pretrained(
        cfg.ckpt, expect_dataset=cfg.dataset, device=cfg.device, precision=cfg.precision
    )
    input_path = Path(cfg.input)
    paths = output_paths(input_path, cfg.output_dir)
    wanted = ["midi"] + (["png"] if cfg.png else []) + (["wav"] if cfg.wav else [])
    check_output_folder(paths["midi"].parent)
    for key in wanted:
        check_writable(paths[key], cfg.overwrite)
    if cfg.wav:
        from gm_common.render import find_fluidsynth, find_soundfont

        find_fluidsynth(), find_soundfont()
    programs = list(cfg.programs) if cfg.programs is not None else None
    music = arranger.arrange(input_path, programs, cfg.use_input_parts)
    write_midi(music, paths["midi"], overwrite=cfg.overwrite)
    if cfg.png:
        from gm_common.plots import plot_pianoroll

        title = f"{input_path.name} arranged by {arranger.name} ({arranger.dataset['name']})"
        plot_pianoroll(music, paths["png"], title=title, max_beats=256, overwrite=cfg.overwrite)
    if cfg.wav:
        from gm_common.render import render_midi

        render_midi(paths["midi"], paths["wav"], overwrite=cfg.overwrite)
    counts = [len(track.notes) for track in music.tracks if not track.is_drum]
    print(
        f"arranged {sum(counts)} notes of {input_path.name} with {arranger.name} on {arranger.device}: "
        + ", ".join(f"{name} {c}" for name, c in zip(arranger.dataset["labels"], counts))
    )
    for key in wanted:
        print(f"{key}: {paths[key]}")
    return {k: paths[k] for k in wanted}


main = entry_point("arranger", "infer", positional="input")(run)

if __name__ == "__main__":
    main()
