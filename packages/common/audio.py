"""Audio I/O and mel features shared by the toolkits (librosa / soundfile)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from gm_common.errors import InputFileError
from gm_common.files import atomic_path, check_writable


@dataclass(frozen=True)
class MelConfig:
    """Parameters of a log-mel spectrogram (and of its inverse)."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None
    log_floor: float = 1e-5


def load_wav(path: str | Path, sample_rate: int | None = None, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 (mono by default), resampled to ``sample_rate`` if given."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "file not found")
    try:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:
        raise InputFileError(path, f"cannot read audio: {err}") from err
    audio = audio.mean(axis=1) if mono else audio.T
    if sample_rate is not None and sr != sample_rate:
        audio = librosa.resample(audio, orig_sr=sr, target_sr=sample_rate)
        sr = sample_rate
    return audio.astype(np.float32), sr


def save_wav(path: str | Path, audio: np.ndarray, sample_rate: int, overwrite: bool = False) -> Path:
    """Write float audio in [-1, 1] as 16-bit PCM WAV, atomically; refuse to overwrite unless asked."""
    path = check_writable(path, overwrite)
    audio = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(tmp, audio.T if audio.ndim == 2 else audio, sample_rate, subtype="PCM_16", format="WAV")
    return path


def mel_spectrogram(audio: np.ndarray, cfg: MelConfig = MelConfig()) -> np.ndarray:
    """Natural-log mel spectrogram of shape (n_mels, frames)."""
    mel = librosa.feature.melspectrogram(
        y=np.asarray(audio, dtype=np.float32),
        sr=cfg.sample_rate,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        n_mels=cfg.n_mels,
        fmin=cfg.fmin,
        fmax=cfg.fmax,
        power=1.0,
    )
    return np.log(np.maximum(mel, cfg.log_floor)).astype(np.float32)


def mel_to_audio(log_mel: np.ndarray, cfg: MelConfig = MelConfig(), n_iter: int = 32) -> np.ndarray:
    """Invert a log-mel spectrogram (from :func:`mel_spectrogram`) to audio with Griffin-Lim."""
    mel = np.exp(np.asarray(log_mel, dtype=np.float32))
    audio = librosa.feature.inverse.mel_to_audio(
        mel,
        sr=cfg.sample_rate,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        fmin=cfg.fmin,
        fmax=cfg.fmax,
        power=1.0,
        n_iter=n_iter,
    )
    return audio.astype(np.float32)
