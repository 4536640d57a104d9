"""Mel -> waveform: Griffin-Lim (``gm_common.audio.mel_to_audio``, the default, ``vocoder=griffinlim``) or the
small neural vocoder of :mod:`clipsonic.neural_vocoder` from a checkpoint (``vocoder=/path/last.ckpt``, trained
with ``python -m clipsonic.train_vocoder``, or a shipped ``vocoder.safetensors``; never unpickled)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from clipsonic.data.dataset import LOG_FLOOR, mel_band, mel_config
from clipsonic.neural_vocoder import NeuralVocoder
from gm_common.audio import mel_to_audio
from gm_common.checkpoint import load_checkpoint, model_from_checkpoint
from gm_common.errors import CheckpointError
from gm_common.pretrained import export_checkpoint

GRIFFIN_LIM = "griffinlim"
MEL_KEYS = ("sample_rate", "n_fft", "hop_length", "n_mels")
GENERATOR = "net."  # the generator's weights in a vocoder checkpoint; the discriminators' are elsewhere


def _mel_of(mel: dict) -> dict:
    return {**{k: int(mel[k]) for k in MEL_KEYS}, "band": mel_band(mel)}


def _generator(hp: dict) -> NeuralVocoder:
    return NeuralVocoder(**{**hp, "adversarial": False})


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> NeuralVocoder:
    ckpt = load_checkpoint(path)
    if "state_dict" in ckpt:
        ckpt["state_dict"] = {k: v for k, v in ckpt["state_dict"].items() if k.startswith(GENERATOR)}
    return model_from_checkpoint(ckpt, path, _generator, "clipsonic vocoder", needs=("mel", "channels", "blocks"))[0]


def export_vocoder(ckpt_path: str | Path, out: str | Path) -> Path:
    """Ship a vocoder checkpoint (adversarial or not) as ``.safetensors``: the generator only, no discriminators."""
    return export_checkpoint(ckpt_path, out, prefix=GENERATOR)


def load_vocoder(path: str | Path, mel: dict | None = None) -> NeuralVocoder:
    """The neural vocoder's generator in ``path`` (a checkpoint of either training, or a shipped file); a clear
    error when it is missing, not a vocoder checkpoint, or was trained on other mel settings than ``mel`` (sample
    rate, FFT size, hop, number of mels, band)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"vocoder checkpoint not found: {path} "
            f"(use vocoder={GRIFFIN_LIM}, or train one with python -m clipsonic.train_vocoder)"
        )
    model = _load(str(path.resolve()), path.stat().st_mtime)
    if mel is not None and _mel_of(model.hparams.mel) != _mel_of(mel):
        raise CheckpointError(
            f"vocoder {path} was trained on mel settings {_mel_of(model.hparams.mel)}, "
            f"but the model uses {_mel_of(mel)}"
        )
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
