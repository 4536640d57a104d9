import numpy as np
import pytest

from gm_common.audio import MelConfig, load_wav, mel_spectrogram, mel_to_audio, save_wav
from gm_common.errors import InputFileError
from gm_common.files import OutputExistsError


def _tone(sr=16000, seconds=1.0, freq=440.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_wav_round_trip_and_no_overwrite(tmp_path):
    audio = _tone()
    path = save_wav(tmp_path / "tone.wav", audio, 16000)
    back, sr = load_wav(path)
    assert sr == 16000 and back.shape == audio.shape
    assert np.abs(back - audio).max() < 1e-3
    with pytest.raises(OutputExistsError):
        save_wav(path, audio, 16000)
    resampled, sr2 = load_wav(path, sample_rate=8000)
    assert sr2 == 8000 and abs(len(resampled) - 8000) <= 1
    with pytest.raises(InputFileError):
        load_wav(tmp_path / "missing.wav")


def test_mel_shape_and_griffin_lim_recovers_the_pitch():
    cfg = MelConfig(sample_rate=16000, n_fft=1024, hop_length=256, n_mels=64)
    audio = _tone(freq=440.0)
    mel = mel_spectrogram(audio, cfg)
    assert mel.shape == (64, 1 + len(audio) // 256)
    recon = mel_to_audio(mel, cfg, n_iter=16)
    assert abs(len(recon) - len(audio)) <= 256
    spectrum = np.abs(np.fft.rfft(recon))
    peak_hz = np.argmax(spectrum) * 16000 / len(recon)
    assert abs(peak_hz - 440.0) < 30.0
