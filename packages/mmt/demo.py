"""``python -m mmt.demo``: one sample in each mode (unconditional, instrument-informed, 4-beat continuation of a
Bach chorale) from the shipped model with the default sampling and seed 0 into ``outputs/demo/mmt/samples``, each
with its length and longest silence (on the demo page too: ``captions.json``), and where the MIDI / WAV / PNG / CSV
files are; then the model's attention profiles (``mmt.analyze_attention``, reading only the test pieces it
analyses) into ``outputs/demo/mmt/attention``; then a test-split chorale with its bass removed and written again by
the shipped infill model (``add_checkpoint``), beside the original, into ``outputs/demo/mmt/add_part``.
``train=true`` first trains a tiny MMT on the chorales (~2.5 minutes; reused from ``outputs/demo/mmt/model`` by
later demos) and uses it instead."""

from __future__ import annotations

import json
import time
from pathlib import Path

import muspy
import torch
from omegaconf import DictConfig

from gm_common.cli import compose, entry_point
from gm_common.corpus import list_collection
from gm_common.errors import ConfigError
from gm_common.files import atomic_write_text
from gm_common.notes import read_music
from mmt import analyze_attention, generate, train
from mmt.data import SPLIT_FILE, source_root, split_file
from mmt.evaluate import structure
from mmt.generate import write_music
from mmt.parts_metrics import consonance, tick_notes
from mmt.pipeline import MMT, prompt_notes
from mmt.representation import codes_from_notes, decode, extract_notes


def demo_model(cfg: DictConfig) -> str:
    """The model to sample from: the shipped one, or (``train=true``) the demo's own run, trained if missing."""
    if not cfg.train:
        return str(cfg.checkpoint)
    model_dir = Path(cfg.out_dir) / "model"
    if (model_dir / "checkpoints" / "last.ckpt").is_file():
        print(f"reusing the demo model in {model_dir}")
    else:
        print("training a tiny MMT on the Bach chorales (~2.5 minutes) ...")
        train.run(compose("mmt", "train", [*cfg.train_overrides, f"run_dir={model_dir}"]))
    return str(model_dir / "checkpoints" / "last.ckpt")


def run(cfg: DictConfig) -> list[dict[str, str]]:
    """Write one sample per mode; returns the files of each."""
    torch.set_num_threads(1)
    t0 = time.time()
    checkpoint = demo_model(cfg)
    chorale = list_collection("bach_chorales")[-1]
    common = [f"checkpoint={checkpoint}", f"out_dir={Path(cfg.out_dir) / 'samples'}", "overwrite=true",
              f"max_events={cfg.max_events}", "seed=0"]  # fmt: skip
    instruments = ",".join(cfg.instruments)
    written = generate.run(compose("mmt", "generate", common))
    written += generate.run(compose("mmt", "generate", [*common, f"instruments=[{instruments}]"]))
    written += generate.run(compose("mmt", "generate", [*common, f"prompt={chorale}", f"beats={cfg.beats}"]))
    attention = [f"checkpoint={checkpoint}", f"out_dir={Path(cfg.out_dir) / 'attention'}", "overwrite=true",
                 f"n_pieces={cfg.attention_pieces}"]  # fmt: skip
    analyze_attention.run(compose("mmt", "analyze_attention", attention))
    if cfg.add_checkpoint:
        written += add_part_example(str(cfg.add_checkpoint), str(cfg.add_part), Path(cfg.out_dir) / "add_part")
    captions = {}
    print(f"\nmmt demo done in {time.time() - t0:.0f} s; files:")
    for files in written:
        if "mid" in files:
            stem = Path(files["mid"]).relative_to(cfg.out_dir).with_suffix("").as_posix()
            captions[stem] = files.get("about", "") + describe_sample(read_music(files["mid"]))
            print(f"  {stem}: {captions[stem]}")
        for kind in ("mid", "wav", "png", "csv"):
            if kind in files:
                print(f"  {kind.upper():4s} {files[kind]}")
    atomic_write_text(Path(cfg.out_dir) / "captions.json", json.dumps(captions, indent=1))
    return written


def add_part_example(checkpoint: str, part: str, out_dir: Path, seed: int = 0) -> list[dict[str, str]]:
    """The first test-split chorale of an infill model as it reads it (``original``) and with ``part`` removed and
    written again by the model (``<part>_added``), each as MIDI, WAV and piano roll, and ``about`` (a caption's
    start)."""
    mmt = MMT.from_pretrained(checkpoint)
    enc, data = mmt.encoding, mmt.hyper_parameters["data"]
    recorded = split_file(mmt.source)
    if recorded is None:
        raise ConfigError(f"{mmt.source} records no {SPLIT_FILE}: its test chorales are unknown")
    name = next(n for n in json.loads(recorded.read_text())["test"] if "bach" in n)
    notes = prompt_notes(source_root(data) / name, enc)
    original = decode(codes_from_notes(notes), enc)
    code = enc.instrument_code(part)
    without = decode(codes_from_notes(notes[notes[:, 4] != code]), enc)
    added = mmt.add_parts(without, [part], seed=seed)[0]

    def fit(music: muspy.Music) -> str:  # how consonant the part is with the others (mmt.parts_metrics)
        notes = extract_notes(music, enc, whole=True)
        ticks = [tick_notes(notes[(notes[:, 4] == code) == mine], enc) for mine in (True, False)]
        return f"{part} consonant with the other parts {100 * consonance(*ticks):.0f} % of its time"

    title = f"{Path(name).stem}: {part} removed, written again by MMT (seed {seed})"
    original_files = write_music(original, out_dir / "original", overwrite=True, title=f"{Path(name).stem} (test)")
    added_files = write_music(added, out_dir / f"{part}_added", overwrite=True, title=title)
    return [original_files | {"about": f"{name}, a test chorale, as the model reads it ({fit(original)}): "},
            added_files | {"about": f"its {part} removed and written again by {checkpoint} (seed {seed}; "
                                    f"{fit(added)}): "}]  # fmt: skip


def describe_sample(music: muspy.Music) -> str:
    """One line on how a sample holds together: notes, tracks, length and longest silence in beats."""
    s = structure(music)
    notes = sum(len(t.notes) for t in music.tracks)
    return (f"{notes} notes, {len(music.tracks)} tracks, {s['length_beats']:.0f} beats long, longest silence "
            f"{s['longest_silence_beats']:.1f} beats")  # fmt: skip


main = entry_point("mmt", "demo")(run)

if __name__ == "__main__":
    main()
