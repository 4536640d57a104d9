"""Mel -> waveform. Griffin-Lim (gm_common.audio.mel_to_audio) by default."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gm_common.audio import mel_to_audio
from gm_common.errors import CheckpointError

from clipsonic.data.dataset import mel_config


def check_vocoder(vocoder: str) -> None:
    """Fail early (before anything is written) on a vocoder setting that cannot be used."""
    if vocoder == "griffinlim":
        return
    if not Path(vocoder).is_file():
        raise CheckpointError(f"vocoder checkpoint not found: {vocoder} (use vocoder=griffinlim)")
    raise CheckpointError(f"{vocoder}: neural vocoder checkpoints are not supported in this version; use vocoder=griffinlim")


def vocode(log_mel: np.ndarray, mel: dict, vocoder: str = "griffinlim", n_iter: int = 32) -> np.ndarray:
    """One log-mel [n_mels, frames] -> audio (peak-normalised to 0.9 if louder)."""
    check_vocoder(vocoder)
    audio = mel_to_audio(np.asarray(log_mel, dtype=np.float32), mel_config(mel), n_iter=n_iter)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return audio * (0.9 / peak) if peak > 0.9 else audio
