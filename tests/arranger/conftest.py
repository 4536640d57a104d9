"""Shared fixtures: a handful of Bach chorales cached in a temp folder and a tiny trained LSTM."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gm_common.cli import compose

ROOT = Path(__file__).resolve().parents[2]
N_CHORALES = 12

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("arranger_cache")


@pytest.fixture(scope="session")
def examples(cache_dir):
    from arranger.data import load_examples

    return load_examples("bach", cache_dir=str(cache_dir), limit=N_CHORALES)


def train_tiny(tmp: Path, cache_dir: Path, model: str = "lstm", extra: list[str] | None = None) -> Path:
    from arranger.train import run

    run_dir = tmp / f"run_{model}"
    cfg = compose(
        "arranger",
        "train",
        [
            "experiment=tiny",
            f"model={model}",
            f"run_dir={run_dir}",
            f"data.cache_dir={cache_dir}",
            f"data.limit={N_CHORALES}",
            "trainer.progress_refresh_rate=1000",
            *(extra or []),
        ],
    )
    run(cfg)
    return run_dir


@pytest.fixture(scope="session")
def tiny_lstm(tmp_path_factory, cache_dir) -> Path:
    """Checkpoint of a tiny LSTM (duration feature on) trained for a few steps."""
    run_dir = train_tiny(tmp_path_factory.mktemp("lstm"), cache_dir, "lstm", ["model.use_duration=true"])
    return run_dir / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def song(tmp_path_factory, examples) -> Path:
    """A 4-part chorale written as a multitrack MIDI file (plus a drum track)."""
    import numpy as np

    from gm_common.notes import music_from_tracks, write_midi

    ex = examples[0]
    tracks = [(name, 0, False, ex.notes[ex.notes[:, 3] == k][:, :3]) for k, name in enumerate(["S", "A", "T", "B"])]
    tracks.append(("Drums", 0, True, np.array([[0, 36, 12], [24, 38, 12]])))
    path = tmp_path_factory.mktemp("song") / "song.mid"
    write_midi(music_from_tracks(tracks, 24), path)
    return path


@pytest.fixture(autouse=True)
def _threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield


@pytest.fixture(scope="session")
def tiny_train():
    """``tiny_train(tmp, cache_dir, model, extra_overrides) -> run_dir``."""
    return train_tiny


def ship(root: Path, name: str, ckpt: Path, half: bool = True) -> Path:
    """Export a training checkpoint as the lead's scripts/pretrained.py does: the average if there is one."""
    from gm_common.checkpoint import load_checkpoint
    from gm_common.pretrained import export_checkpoint, write_card

    keys = load_checkpoint(ckpt)["state_dict"]
    prefix = "ema_net.module." if any(k.startswith("ema_net.module.") for k in keys) else "net."
    export_checkpoint(ckpt, root / name / "model.safetensors", prefix=prefix, half=half)
    write_card(root / name, {"summary": f"tiny test model {name}", "toolkit": "arranger"})
    return root / name / "model.safetensors"


@pytest.fixture(scope="session")
def ship_model():
    """``ship_model(root, name, ckpt, half=True)``: export a checkpoint as a shipped model named ``name``."""
    return ship


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
