"""Demo: arrange a Bach chorale the model never saw.

    python -m arranger.demo                    # train an online LSTM for ~2.5 minutes (or reuse an earlier demo's)
    python -m arranger.demo ckpt=bach_bilstm   # a shipped model

Downmixes the longest test-split chorale into one piano track, arranges it back into Soprano/Alto/Tenor/Bass
(flute, oboe, clarinet, bassoon) and writes the MIDI, a piano-roll PNG and (where FluidSynth is installed) a
WAV into ``out_dir`` (outputs/demo/arranger/).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from gm_common.cli import compose, entry_point


def train_lstm(model_dir: Path, minutes: float) -> Path:
    """Train an online LSTM on the Bach chorales for about ``minutes``; returns its best checkpoint."""
    from arranger.train import run as train

    seconds = int(minutes * 60)
    train(compose("arranger", "train", [
        "model=lstm", "data=bach", f"run_dir={model_dir}", "data.crop=128", "train.lr=2e-3", "train.patience=50",
        "trainer.max_steps=100000", "trainer.progress_refresh_rate=20", "test=false",
        f"trainer.max_time=00:00:{seconds // 60:02d}:{seconds % 60:02d}",
    ]))  # fmt: skip
    return model_dir / "checkpoints" / "best.ckpt"


def run(cfg: DictConfig) -> dict[str, Path]:
    """Arrange the longest Bach test chorale with ``cfg.ckpt`` (or a freshly trained LSTM); returns the files."""
    from arranger.data import load_examples, split_examples
    from arranger.infer import run as infer
    from arranger.metrics import evaluate_pieces
    from arranger.predict import Arranger
    from gm_common.notes import music_from_tracks, write_midi
    from gm_common.render import fluidsynth_available

    torch.set_num_threads(cfg.threads)
    t0 = time.time()
    out = Path(cfg.out_dir)
    ckpt = cfg.ckpt
    if ckpt is None:
        ckpt = out / "model" / "checkpoints" / "best.ckpt"
        if ckpt.is_file():
            print(f"reusing the model trained by an earlier demo: {ckpt}")
        else:
            print(f"training an online LSTM on the Bach chorales for ~{cfg.minutes} minutes ...")
            ckpt = train_lstm(out / "model", cfg.minutes)
    arranger = Arranger.from_pretrained(ckpt, expect_dataset="bach")
    piece = max(split_examples(load_examples("bach"))["test"], key=len)  # the longest test chorale: never trained on
    mixture = out / f"{Path(piece.name).stem.replace('.', '_')}_mixture.mid"
    write_midi(
        music_from_tracks([("Mixture", 0, False, piece.notes[:, :3])], 24, tempo_qpm=piece.qpm), mixture, overwrite=True
    )
    paths = infer(compose("arranger", "infer", [
        f"input={mixture}", f"ckpt={ckpt}", f"output_dir={out}", f"wav={str(fluidsynth_available()).lower()}",
        "overwrite=true", "dataset=bach",
    ]))  # fmt: skip
    hints = piece.notes[:, 3] if arranger.needs_hints else None
    accuracy = evaluate_pieces([piece.notes[:, 3]], [arranger.predict(piece.notes[:, :3], hints)], 4)["accuracy"]
    print(
        f"\narranger demo ({time.time() - t0:.0f} s): test chorale {piece.name} ({len(piece)} notes), "
        f"note accuracy against Bach's own parts {100 * accuracy:.1f}%"
    )
    print(f"  input mixture : {mixture}")
    for key, path in paths.items():
        print(f"  {key:<14}: {path}")
    if "wav" not in paths:
        print("  (no WAV: FluidSynth or a soundfont is not installed)")
    return {"mixture": mixture, **paths}


main = entry_point("arranger", "demo")(run)

if __name__ == "__main__":
    main()
