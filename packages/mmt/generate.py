"""Generate music with a trained MMT: ``python -m mmt.generate [checkpoint=NAME|PATH] [mode options]``.

Modes (one model): unconditional (default); instrument-informed (``instruments=[violin,viola,cello]``);
n-beat continuation of a MIDI/MusicXML file (``prompt=path beats=4``); adding parts to a whole MIDI/MusicXML file
(``prompt=song.mid add=[bass]``: every note of the file kept, a new part per name; a model trained with
``experiment=corpus_tiny_infill``). ``checkpoint`` is a shipped model's name
(default ``corpus_tiny``; ``list_models=true`` lists them) or a checkpoint file / run folder. Per sample
it writes ``<mode>_<i>.mid`` (one track per instrument), ``.wav`` (FluidSynth), ``.png`` (piano roll) and
``.csv`` (the event table; not in ``add`` mode, whose output is the prompt's music and not one code sequence) into
``out_dir``; existing files are never replaced unless ``overwrite=true``.
Every input (model, instrument names, prompt file) is checked before anything is written. A thin layer over
:class:`mmt.pipeline.MMT`. ``representation=remi_plus|mmm`` samples a baseline trained with the same option
(:mod:`mmt.baselines`) from start-of-song, ``max_events`` tokens at most, and writes ``unconditional_<i>.mid``.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import muspy
import numpy as np
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from gm_common import render as rendering
from gm_common.cli import entry_point
from gm_common.device import resolve_device
from gm_common.errors import ConfigError, MissingDependencyError
from gm_common.files import atomic_write_text, check_writable
from gm_common.notes import write_midi
from gm_common.plots import plot_pianoroll
from gm_common.pretrained import print_pretrained, resolve
from gm_common.render import render_midi
from mmt.baselines import BASELINES, decode_tokens, generate_tokens, load_baseline, score_notes, write_score
from mmt.pipeline import MMT, PRETRAINED, mode_of
from mmt.representation import TYPE_NOTE, Encoding, decode, describe
from mmt.sampling import mode_preset, sampling_config

log = logging.getLogger(__name__)


def write_sample(codes: np.ndarray, encoding: Encoding, stem: Path, overwrite: bool = False, render: bool = True,
                 sample_rate: int = 22050, title: str | None = None) -> dict[str, str]:  # fmt: skip
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
    files = write_music(music, stem, overwrite, render, sample_rate, title)
    wav = {"wav": files["wav"]} if "wav" in files else {}
    return {"mid": files["mid"], "png": files["png"], "csv": str(paths["csv"])} | wav


def write_music(music: muspy.Music, stem: Path, overwrite: bool = False, render: bool = True,
                sample_rate: int = 22050, title: str | None = None) -> dict[str, str]:  # fmt: skip
    """Write ``stem``.mid/.png (and .wav with ``render``, where FluidSynth is) of music; returns the paths written."""
    paths = {"mid": stem.with_suffix(".mid"), "png": stem.with_suffix(".png")}
    stem.parent.mkdir(parents=True, exist_ok=True)
    write_midi(music, paths["mid"], overwrite=overwrite)
    plot_pianoroll(music, paths["png"], title=title or stem.name, overwrite=overwrite)
    if render:
        try:
            render_midi(paths["mid"], stem.with_suffix(".wav"), sample_rate=sample_rate, overwrite=overwrite)
            paths["wav"] = stem.with_suffix(".wav")
        except MissingDependencyError as err:
            log.warning("no WAV written: %s", err)
    return {k: str(v) for k, v in paths.items()}


def can_render() -> bool:
    """Whether FluidSynth and a soundfont are there to write WAVs; where not, one note says why."""
    try:
        rendering.find_fluidsynth()
        rendering.find_soundfont()
    except MissingDependencyError as err:
        log.warning("no WAV written: %s", err)
        return False
    return True


def instrument_names(value: str | ListConfig | None) -> list[str] | None:
    """``instruments=`` as a list of names (a list, or one comma-separated string)."""
    if not value:
        return None
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    return [str(n) for n in value]


def run_baseline(cfg: DictConfig) -> list[dict[str, str]]:
    """REMI+ or MMM (``representation=remi_plus|mmm``): unconditional samples of a trained baseline from its
    start-of-song token, ``max_events`` tokens each at most (default: the model's maximum), written as MIDI."""
    if cfg.representation not in BASELINES:
        raise ConfigError(f"representation={cfg.representation}: expected mmt, {', '.join(BASELINES)}")
    if cfg.instruments or cfg.prompt:
        raise ConfigError(f"the {cfg.representation} baseline generates unconditionally only (no instruments/prompt)")
    net, tok, _ = load_baseline(resolve(PRETRAINED, cfg.checkpoint), cfg.representation)
    net.to(resolve_device(cfg.device))
    stems = [Path(cfg.out_dir) / f"unconditional_{i}" for i in range(int(cfg.n_samples))]
    for stem in stems:
        check_writable(stem.with_suffix(".mid"), bool(cfg.overwrite))
    budget = int(cfg.max_events or net.config.n_positions)
    sampling = sampling_config(cfg)
    seqs = generate_tokens(net, len(stems), budget, int(cfg.batch_size), sampling.temperature,
                           sampling.filter_threshold, int(cfg.seed), min_p=sampling.min_p)  # fmt: skip
    written = []
    for stem, ids in zip(stems, seqs):
        score = decode_tokens(ids, tok)
        path = write_score(score, stem.with_suffix(".mid"), bool(cfg.overwrite))
        print(f"{stem.name}: {score_notes(score)} notes, {len(ids)} tokens -> {path}")
        written.append({"mid": str(path)})
    return written


def run(cfg: DictConfig) -> list[dict[str, str]]:
    """Generate per the config; returns the files written for each sample (none with ``list_models=true``)."""
    if cfg.list_models:
        print_pretrained(PRETRAINED)
        return []
    if cfg.torch_threads:
        torch.set_num_threads(int(cfg.torch_threads))
    if cfg.representation != "mmt":
        return run_baseline(cfg)
    # 1. check every input before writing anything
    mmt = MMT.from_pretrained(
        cfg.checkpoint,
        device=resolve_device(cfg.device),
        encoding=Encoding.load(cfg.encoding) if cfg.encoding else None,
        model=OmegaConf.to_container(cfg.model, resolve=True) if "model" in cfg else None,
    )
    instruments = instrument_names(cfg.instruments)
    add = instrument_names(cfg.add)
    mode = mode_of(instruments, cfg.prompt, add)
    if mode == "add":
        mmt.check_add(add, cfg.prompt, instruments)
    else:
        prompt = mmt.prompt(instruments, cfg.prompt, int(cfg.beats))
    out_dir = Path(cfg.out_dir)
    stems = [out_dir / f"{mode}_{i}" for i in range(int(cfg.n_samples))]
    suffixes = (".mid", ".png") + ((".csv",) if mode != "add" else ()) + ((".wav",) if cfg.render else ())
    for stem in stems:
        for s in suffixes:
            check_writable(stem.with_suffix(s), bool(cfg.overwrite))
    render = bool(cfg.render) and can_render()
    # 2. generate and write
    sampling = sampling_config(cfg, mode_preset(mode == "add"))
    if mode == "add":
        songs = mmt.add_parts(cfg.prompt, add, len(stems), sampling, int(cfg.seed), cfg.max_events, cfg.cuda_graph)
        written = []
        for stem, music in zip(stems, songs):
            files = write_music(music, stem, bool(cfg.overwrite), render, int(cfg.sample_rate),
                                f"MMT, {', '.join(add)} added")  # fmt: skip
            added = sum(len(t.notes) for t in music.tracks[-len(add) :])
            print(f"{stem.name}: {added} notes added ({', '.join(add)}) -> " + ", ".join(files.values()))
            written.append(files)
        return written
    seqs = mmt.sample(prompt, len(stems), sampling, int(cfg.seed), cfg.max_events, int(cfg.batch_size), cfg.cuda_graph)
    written = []
    for stem, codes in zip(stems, seqs):
        files = write_sample(
            codes, mmt.encoding, stem, bool(cfg.overwrite), render, int(cfg.sample_rate), f"MMT {mode}"
        )
        n_notes = int((codes[:, 0] == TYPE_NOTE).sum())
        print(f"{stem.name}: {n_notes} notes, {len(codes)} events -> " + ", ".join(files.values()))
        written.append(files)
    return written


main = entry_point("mmt", "generate")(run)

if __name__ == "__main__":
    main()
