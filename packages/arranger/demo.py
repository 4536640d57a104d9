"""Demo: arrange a Bach chorale the model never saw.

    python -m arranger.demo

Trains an online LSTM briefly on the Bach chorales' training split (or reuses the one an earlier demo
trained in outputs/demo/arranger/model/), downmixes a test-split chorale into one piano track, arranges it
back into Soprano/Alto/Tenor/Bass (flute, oboe, clarinet, bassoon) and writes the MIDI, a piano-roll PNG
and (where FluidSynth is installed) a WAV into outputs/demo/arranger/.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path("outputs/demo/arranger")


def _train(model_dir: Path, minutes: float) -> Path:
    from hydra import compose, initialize_config_dir

    from arranger.train import run_train

    configs = Path(__file__).resolve().parents[2] / "configs" / "arranger"
    overrides = [
        "model=lstm", "data=bach", f"run_dir={model_dir}", "train.crop=128", "train.lr=2e-3", "trainer.max_steps=100000", "trainer.progress_refresh_rate=20",
        f"trainer.max_time=00:00:{int(minutes):02d}:{int(minutes % 1 * 60):02d}", "train.patience=50", "test=false",
    ]
    with initialize_config_dir(config_dir=str(configs), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    run_train(cfg)
    return model_dir / "checkpoints" / "best.ckpt"


def main(minutes: float = 2.5) -> dict[str, Path]:
    import torch

    from arranger.data import load_examples, split_examples
    from arranger.infer import run_infer
    from arranger.metrics import evaluate_pieces
    from arranger.predict import Arranger
    from gm_common.notes import music_from_tracks, write_midi
    from gm_common.render import fluidsynth_available

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    t0 = time.time()
    model_dir = OUT / "model"
    ckpt = model_dir / "checkpoints" / "best.ckpt"
    if ckpt.is_file():
        print(f"reusing the model trained by an earlier demo: {ckpt}")
    else:
        print(f"training an online LSTM on the Bach chorales for ~{minutes} minutes ...")
        ckpt = _train(model_dir, minutes)
    test = split_examples(load_examples("bach"))["test"]
    piece = max(test, key=len)  # the longest test chorale: never seen in training
    stem = Path(piece.name).stem.replace(".", "_")
    mixture = OUT / f"{stem}_mixture.mid"
    write_midi(music_from_tracks([("Mixture", 0, False, piece.notes[:, :3])], 24, tempo_qpm=piece.qpm), mixture, overwrite=True)
    paths = run_infer({"input": str(mixture), "ckpt": str(ckpt), "output_dir": str(OUT), "programs": None,
                       "wav": fluidsynth_available(), "png": True, "overwrite": True, "dataset": "bach",
                       "use_input_parts": False})
    arranger = Arranger.from_checkpoint(ckpt)
    pred = arranger.predict(piece.notes[:, :3])
    acc = evaluate_pieces([piece.notes[:, 3]], [pred], 4)["accuracy"]
    print(f"\narranger demo ({time.time() - t0:.0f} s): test chorale {piece.name} ({len(piece)} notes), "
          f"note accuracy against Bach's own parts {100 * acc:.1f}%")
    print(f"  input mixture : {mixture}")
    for key, path in paths.items():
        print(f"  {key:<14}: {path}")
    if "wav" not in paths:
        print("  (no WAV: FluidSynth or a soundfont is not installed)")
    return {"mixture": mixture, **paths}


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.5)
