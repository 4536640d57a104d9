"""Mel -> waveform: Griffin-Lim (``gm_common.audio.mel_to_audio``, the default, ``vocoder=griffinlim``) or the
small neural vocoder of :mod:`clipsonic.neural_vocoder` from a local checkpoint (``vocoder=/path/last.ckpt``,
trained with ``python -m clipsonic.train_vocoder``; loaded with weights_only=True)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from gm_common.audio import mel_to_audio
from gm_common.checkpoint import load_checkpoint, load_weights
from gm_common.errors import CheckpointError

from clipsonic.data.dataset import LOG_FLOOR, mel_config

GRIFFIN_LIM = "griffinlim"
MEL_KEYS = ("sample_rate", "n_fft", "hop_length", "n_mels")


def _mel_of(mel: dict) -> dict:
    return {k: int(mel[k]) for k in MEL_KEYS}


@lru_cache(maxsize=4)
def _load(path: str, mtime: float):
    from clipsonic.neural_vocoder import NeuralVocoder

    import inspect

    ckpt = load_checkpoint(path)
    hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    known = set(inspect.signature(NeuralVocoder.__init__).parameters) - {"self"}
    if not hp or not {"mel", "channels", "blocks"} <= set(hp) or not set(hp) <= known or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a clipsonic vocoder checkpoint (train one with python -m clipsonic.train_vocoder)")
    model = NeuralVocoder(**hp)
    load_weights(model, ckpt["state_dict"], path, what="vocoder")
    return model.eval()


def load_vocoder(path: str | Path, mel: dict | None = None):
    """The neural vocoder in ``path``; a clear error when it is missing, not a vocoder checkpoint, or was
    trained on other mel settings than ``mel`` (sample rate, FFT size, hop, number of mels)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"vocoder checkpoint not found: {path} (use vocoder={GRIFFIN_LIM}, or train one with python -m clipsonic.train_vocoder)")
    model = _load(str(path.resolve()), path.stat().st_mtime)
    if mel is not None and _mel_of(model.hparams.mel) != _mel_of(mel):
        raise CheckpointError(f"vocoder {path} was trained on mel settings {_mel_of(model.hparams.mel)}, but the model uses {_mel_of(mel)}")
    return model


def check_vocoder(vocoder: str, mel: dict | None = None) -> None:
    """Fail early (before anything is written) on a vocoder setting that cannot be used."""
    if str(vocoder) != GRIFFIN_LIM:
        load_vocoder(vocoder, mel)


def _limit(audio: np.ndarray) -> np.ndarray:
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return audio * (0.9 / peak) if peak > 0.9 else audio


def vocode_batch(log_mels: np.ndarray, mel: dict, vocoder: str = GRIFFIN_LIM, n_iter: int = 32) -> np.ndarray:
    """Log-mels [B, n_mels, frames] -> audio [B, (frames - 1) * hop] (each peak-normalised to 0.9 if louder)."""
    log_mels = np.asarray(log_mels, dtype=np.float32)
    if str(vocoder) == GRIFFIN_LIM:
        cfg = mel_config(mel)
        n = (log_mels.shape[-1] - 1) * int(mel["hop_length"])
        out = np.stack([mel_to_audio(m, cfg, n_iter=n_iter)[:n] for m in log_mels])
    else:
        model = load_vocoder(vocoder, mel)
        with torch.no_grad():
            out = model(torch.from_numpy(log_mels).clamp(min=float(np.log(LOG_FLOOR)))).numpy()
    return np.stack([_limit(a) for a in out])


def vocode(log_mel: np.ndarray, mel: dict, vocoder: str = GRIFFIN_LIM, n_iter: int = 32) -> np.ndarray:
    """One log-mel [n_mels, frames] -> audio."""
    return vocode_batch(np.asarray(log_mel)[None], mel, vocoder, n_iter)[0]
