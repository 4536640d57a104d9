"""Generate music with a trained MMT: ``python -m mmt.generate checkpoint=PATH [mode options]``.

Modes (one model): unconditional (default); instrument-informed (``instruments=[violin,viola,cello]``);
n-beat continuation of a MIDI/MusicXML file (``prompt=path beats=4``). Per sample it writes
``<mode>_<i>.mid`` (one track per instrument), ``.wav`` (FluidSynth), ``.png`` (piano roll) and ``.csv``
(the event table) into ``out_dir``; existing files are never replaced unless ``overwrite=true``.
Every input (checkpoint, instrument names, prompt file) is checked before anything is written.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from gm_common.errors import CheckpointError, ConfigError, InputFileError, MissingDependencyError
from gm_common.files import atomic_write_text, check_writable
from gm_common.notes import read_music, write_midi
from gm_common.plots import plot_pianoroll
from gm_common.render import render_midi
from gm_common.seed import seed_everything
from gm_common.cli import clear_errors
from mmt.data import assign_programs
from mmt.model import MMTTransformer, load_model
from mmt.representation import (
    TYPE_NOTE,
    Encoding,
    codes_from_notes,
    decode,
    describe,
    extract_notes,
)
from mmt.sampling import SamplingConfig, generate, trim

log = logging.getLogger(__name__)
MODES = ("unconditional", "instrument", "continuation")


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run folder (its checkpoints/best.ckpt, else last.ckpt)."""
    path = Path(path)
    if path.is_dir():
        for name in ("checkpoints/best.ckpt", "checkpoints/last.ckpt", "best.ckpt", "last.ckpt"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"no checkpoint (checkpoints/best.ckpt or last.ckpt) in {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    return path


# -- prompts ------------------------------------------------------------------------------------
def unconditional_prompt() -> np.ndarray:
    return np.zeros((1, 6), dtype=np.int64)  # start-of-song


def instrument_prompt(names: list[str], encoding: Encoding) -> np.ndarray:
    """Start-of-song, one row per named instrument (validated), start-of-notes."""
    if not names:
        raise ConfigError(f"instrument-informed mode needs at least one instrument; valid: {', '.join(encoding.instruments)}")
    codes = [encoding.instrument_code(str(n)) for n in names]
    full = codes_from_notes(np.zeros((0, 5), dtype=np.int64), instruments=np.array(codes))
    return full[:-1]  # drop end-of-song


def file_notes(path: str | Path, encoding: Encoding) -> np.ndarray:
    """Encoded notes of a MIDI/MusicXML file (parts mapped to programs as in training)."""
    from gm_common.corpus import Piece

    path = Path(path)
    music = read_music(path, resolution=encoding.resolution)
    notes = extract_notes(assign_programs(Piece(path.name, music)).music, encoding)
    if len(notes) == 0:
        raise InputFileError(path, "file contains no notes that the encoding can represent (drums or dropped programs only?)")
    return notes


def continuation_prompt(path: str | Path, beats: int, encoding: Encoding) -> np.ndarray:
    """All rows of the piece before beat ``beats``: its instruments, start-of-notes, the notes so far."""
    notes = file_notes(path, encoding)
    instruments = np.unique(notes[:, 4])
    full = codes_from_notes(notes[notes[:, 0] < beats], instruments=instruments)
    return full[:-1]


def sample_batches(
    net: MMTTransformer,
    prompt: np.ndarray,
    n_samples: int,
    batch_size: int,
    sampling: SamplingConfig,
    max_events: int | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> list[np.ndarray]:
    """``n_samples`` sequences continuing one prompt, generated ``batch_size`` at a time."""
    out: list[np.ndarray] = []
    while len(out) < n_samples:
        b = min(batch_size, n_samples - len(out))
        p = torch.as_tensor(prompt, dtype=torch.long).unsqueeze(0).expand(b, -1, -1).contiguous()
        codes = generate(net, p, max_events, sampling, use_cache=use_cache, generator=generator)
        out += [t.cpu().numpy() for t in trim(codes)]
    return out


def write_sample(
    codes: np.ndarray, encoding: Encoding, stem: Path, overwrite: bool = False, render: bool = True, sample_rate: int = 22050,
    title: str | None = None,
) -> dict[str, str]:
    """Write ``stem``.mid/.wav/.png/.csv for one generated sequence; returns the paths written."""
    music = decode(codes, encoding)
    paths = {"mid": stem.with_suffix(".mid"), "png": stem.with_suffix(".png"), "csv": stem.with_suffix(".csv")}
    if render:
        paths["wav"] = stem.with_suffix(".wav")
    for p in paths.values():
        check_writable(p, overwrite)
    stem.parent.mkdir(parents=True, exist_ok=True)
    rows = describe(codes, encoding)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["type"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(paths["csv"], buf.getvalue())
    if not music.tracks:  # an empty sequence: the table says so; no notes to write or draw
        log.warning("%s: the sample has no notes", stem.name)
        return {"csv": str(paths["csv"])}
    write_midi(music, paths["mid"], overwrite=overwrite)
    plot_pianoroll(music, paths["png"], title=title or stem.name, overwrite=overwrite)
    if render:
        try:
            render_midi(paths["mid"], paths["wav"], sample_rate=sample_rate, overwrite=overwrite)
        except MissingDependencyError as err:
            log.warning("no WAV written: %s", err)
            paths.pop("wav")
    return {k: str(v) for k, v in paths.items()}


def build_prompt(cfg: DictConfig, encoding: Encoding) -> tuple[str, np.ndarray]:
    mode = cfg.get("mode")
    if mode in (None, "auto"):
        mode = "continuation" if cfg.get("prompt") else "instrument" if cfg.get("instruments") else "unconditional"
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    if mode == "unconditional":
        return mode, unconditional_prompt()
    if mode == "instrument":
        names = cfg.get("instruments") or []
        names = [n for n in names.split(",") if n.strip()] if isinstance(names, str) else list(names)
        return mode, instrument_prompt(names, encoding)
    if not cfg.get("prompt"):
        raise ConfigError("continuation mode needs prompt=<MIDI/MusicXML file>")
    return mode, continuation_prompt(cfg.prompt, int(cfg.beats), encoding)


def run(cfg: DictConfig) -> list[dict[str, str]]:
    """Generate per the config; returns the files written for each sample."""
    seed_everything(int(cfg.seed))
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    # 1. check every input before writing anything
    ckpt = resolve_checkpoint(cfg.checkpoint)
    expected_enc = Encoding.load(cfg.encoding) if cfg.get("encoding") else None
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True) if cfg.get("model") else None
    net, encoding, _ = load_model(ckpt, encoding=expected_enc, model_cfg=model_cfg)
    mode, prompt = build_prompt(cfg, encoding)
    if len(prompt) >= net.max_seq_len:
        raise ConfigError(f"the prompt has {len(prompt)} events, more than the model's {net.max_seq_len}")
    out_dir = Path(cfg.out_dir)
    n = int(cfg.n_samples)
    stems = [out_dir / f"{mode}_{i}" for i in range(n)]
    suffixes = (".mid", ".png", ".csv") + ((".wav",) if cfg.render else ())
    for stem in stems:
        for s in suffixes:
            check_writable(stem.with_suffix(s), bool(cfg.overwrite))
    # 2. generate and write
    sampling = SamplingConfig(
        temperature=float(cfg.temperature),
        filter_threshold=float(cfg.filter_threshold),
        top_p=float(cfg.top_p),
        only_declared_instruments=bool(cfg.only_declared_instruments),
    )
    seqs = sample_batches(net, prompt, n, int(cfg.batch_size), sampling, cfg.get("max_events"))
    written = []
    for stem, codes in zip(stems, seqs):
        files = write_sample(codes, encoding, stem, bool(cfg.overwrite), bool(cfg.render), int(cfg.sample_rate), f"MMT {mode}")
        n_notes = int((codes[:, 0] == TYPE_NOTE).sum())
        print(f"{stem.name}: {n_notes} notes, {len(codes)} events -> " + ", ".join(files.values()))
        written.append(files)
    return written


@hydra.main(config_path="../../configs/mmt", config_name="generate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    clear_errors(run)(cfg)


if __name__ == "__main__":
    main()

