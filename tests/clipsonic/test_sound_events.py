"""Each everyday sound event has the structure that makes it recognisable, for several random draws, and the
events are told apart by a simple feature (nearest class centroid of time-averaged log-mels)."""

import numpy as np
import pytest
import scipy.signal

from clipsonic.data.dataset import audio_to_mel
from clipsonic.data.sound_events import SOUNDS, event_sound, mix_clip

SR, N = 16000, 32000  # 2 s
MEL = {"sample_rate": SR, "n_fft": 1024, "hop_length": 256, "n_mels": 40, "fmin": 0, "fmax": 8000, "frames": 126}


def envelope(y: np.ndarray, hop: int = 160) -> np.ndarray:
    """RMS per 10 ms frame."""
    return np.sqrt((y[: y.size // hop * hop].reshape(-1, hop) ** 2).mean(1))


def bursts(y: np.ndarray, level: float = 0.15, gap_frames: int = 4) -> list[tuple[int, int]]:
    """(first, last) 10 ms frames of the stretches above ``level`` x the peak envelope (gaps shorter than
    ``gap_frames`` joined)."""
    on = np.flatnonzero(envelope(y) > level * envelope(y).max())
    runs, start = [], on[0]
    for a, b in zip(on[:-1], on[1:]):
        if b - a > gap_frames:
            runs.append((start, a))
            start = b
    return [*runs, (start, on[-1])]


def centroid(y: np.ndarray) -> float:
    """Spectral centroid in Hz."""
    s = np.abs(np.fft.rfft(y))
    return float((s * np.fft.rfftfreq(y.size, 1 / SR)).sum() / s.sum())


def pitch_track(y: np.ndarray, lo: float, hi: float, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """The strongest frequency within [lo, hi] Hz per STFT frame, NaN where the frame is quiet."""
    f, _, z = scipy.signal.stft(y, SR, nperseg=n_fft, noverlap=n_fft - hop)
    band = (f >= lo) & (f <= hi)
    mag = np.abs(z[band])
    track = f[band][mag.argmax(0)]
    return np.where(mag.max(0) > 0.1 * mag.max(), track, np.nan)


def low_fraction(y: np.ndarray, cutoff: float) -> float:
    """Share of the power below ``cutoff`` Hz."""
    p = np.abs(np.fft.rfft(y)) ** 2
    return float(p[np.fft.rfftfreq(y.size, 1 / SR) < cutoff].sum() / p.sum())


def check_dog(y):
    b = bursts(y)
    assert 2 <= len(b) <= 4 and all(last - first <= 20 for first, last in b)  # 2-4 barks, each <= 0.2 s


def check_siren(y):
    track = pitch_track(y, 400, 2000)
    assert np.nanmax(track) - np.nanmin(track) > 300  # it sweeps ...
    assert np.nanmedian(np.abs(np.diff(track))) < 40  # ... slowly (a glide, not jumps)
    assert envelope(y).min() > 0.3 * envelope(y).max()  # and never stops


def check_bell(y):
    env = envelope(y)
    peak = int(np.argmax(env > 0.5 * env.max()))  # the first strike
    assert peak < 40 and env[peak + 5 : peak + 15].mean() > 1.8 * env[peak + 60 : peak + 80].mean()  # it decays
    spec = np.abs(np.fft.rfft(y[peak * 160 : peak * 160 + 8000]))
    f = np.fft.rfftfreq(8000, 1 / SR)
    peaks, _ = scipy.signal.find_peaks(spec, height=0.2 * spec.max(), distance=10)
    ratios = f[peaks][1:] / f[peaks][0]
    assert len(peaks) >= 4 and np.abs(ratios - np.round(ratios)).max() > 0.1  # partials off the harmonic series


def check_rain(y):
    env = envelope(y, 800)  # 50 ms
    assert env.std() / env.mean() < 0.35 and centroid(y) > 2000  # steady, bright patter


def check_birds(y):
    b = bursts(y, gap_frames=1)
    assert len(b) >= 5 and centroid(y) > 2500 and np.median([last - first for first, last in b]) <= 10


def check_engine(y):
    ac = np.correlate(y[:8000], y[:8000], "full")[7999:]
    ac /= ac[0]
    lags = np.arange(SR // 60, SR // 15)  # periods of 15-60 firings a second
    best = lags[ac[lags].argmax()]
    assert ac[best] > 0.3 and centroid(y) < 800  # a low periodic pulse train
    assert 15 <= SR / best <= 60 or 15 <= SR / (best / 2) <= 60


def check_clock(y):
    onsets = [first for first, _ in bursts(y, gap_frames=1)]
    intervals = np.diff(onsets)
    assert len(onsets) >= 4 and intervals.std() <= 1.0 + 0.05 * intervals.mean()  # regular to 10 ms
    assert all(last - first <= 3 for first, last in bursts(y, gap_frames=1))  # sharp clicks


def check_thunder(y):
    env = envelope(y)
    onset = int(np.argmax(env > 0.3 * env.max()))
    assert onset < 40  # a crack early on ...
    assert low_fraction(y[(onset + 20) * 160 :], 400) > 0.6  # ... then a low rumble
    assert env[onset + 20 : onset + 60].mean() > 0.1 * env.max()


def check_knocking(y):
    b = bursts(y, level=0.25, gap_frames=1)
    assert 2 <= len(b) <= 6 and all(last - first <= 8 for first, last in b) and low_fraction(y, 800) > 0.5


def check_dripping(y):
    b = bursts(y, level=0.2, gap_frames=1)
    assert 2 <= len(b) <= 7 and all(last - first <= 8 for first, last in b)
    assert (envelope(y) < 0.05 * envelope(y).max()).mean() > 0.5  # sparse
    first = b[0][0] * 160
    track = pitch_track(y[first : first + 1600], 400, 4000, n_fft=256, hop=64)
    track = track[np.isfinite(track)]
    assert track[-1] > 1.3 * track[0]  # each plop glides upwards


def check_phone(y):
    track = pitch_track(y, 700, 2000, n_fft=256, hop=64)
    track = track[np.isfinite(track)]
    values, counts = np.unique(track, return_counts=True)
    two = values[np.argsort(counts)[-2:]]
    assert counts[np.argsort(counts)[-2:]].sum() > 0.5 * track.size  # two tones ...
    assert 1.1 < two.max() / two.min() < 1.5
    switches = np.count_nonzero(np.diff(np.isclose(track, two[0]).astype(int)))
    assert switches >= 10  # ... alternating quickly
    env = envelope(y)
    assert (env < 0.05 * env.max()).mean() > 0.15  # in rings, with pauses


def check_meow(y):
    import librosa

    first, last = bursts(y, gap_frames=8)[0]
    track = librosa.yin(y[first * 160 : last * 160], fmin=200, fmax=1500, sr=SR, frame_length=1024, hop_length=256)
    track = track[track < 1400]  # voiced frames
    top = int(track.argmax())
    assert 0 < top < track.size - 1 and track[top] > 1.15 * track[0] and track[top] > 1.2 * track[-1]
    assert last - first >= 30  # a long vowel (>= 0.3 s)


CHECKS = {
    "dog barking": check_dog,
    "siren wailing": check_siren,
    "church bell ringing": check_bell,
    "rain falling": check_rain,
    "birds chirping": check_birds,
    "car engine idling": check_engine,
    "clock ticking": check_clock,
    "thunder rumbling": check_thunder,
    "knocking on a door": check_knocking,
    "water dripping": check_dripping,
    "phone ringing": check_phone,
    "cat meowing": check_meow,
}


def test_every_event_is_checked():
    assert set(CHECKS) == set(SOUNDS) and len(SOUNDS) >= 12


@pytest.mark.parametrize("name", sorted(SOUNDS))
def test_event_structure(name):
    for seed in range(4):
        y = event_sound(name, N, SR, np.random.default_rng(seed))
        assert y.shape == (N,) and np.isfinite(y).all() and np.abs(y).max() == pytest.approx(1.0)
        CHECKS[name](y)


def test_draws_vary():
    a, b = (event_sound("dog barking", N, SR, np.random.default_rng(s)) for s in (0, 1))
    assert np.abs(a - b).max() > 0.1
    levels = [np.abs(mix_clip(["rain falling"], N, SR, np.random.default_rng(s))).max() for s in range(8)]
    assert max(levels) - min(levels) > 0.2 and max(levels) <= 0.9  # loudness varies, never clips


def test_a_second_source_is_heard():
    """Birds mixed under an idling engine add their high chirps to the engine's low hum."""
    alone = mix_clip(["car engine idling"], N, SR, np.random.default_rng(3))
    mixed = mix_clip(["car engine idling", "birds chirping"], N, SR, np.random.default_rng(3))
    assert 1 - low_fraction(mixed, 2000) > 100 * (1 - low_fraction(alone, 2000))


def test_events_are_separable_by_mean_log_mel():
    """Nearest centroid of the log of the time-averaged mel spectrum, level-normalised (8 clips per class to fit,
    4 others to test; rate, pitch, loudness and background noise vary), beats chance (1/12) by far."""
    names = sorted(SOUNDS)
    rng = np.random.default_rng(0)
    mels = np.array([[audio_to_mel(mix_clip([n], N, SR, rng), MEL) for _ in range(12)] for n in names])
    feats = np.log(np.exp(mels).mean(-1))
    feats -= feats.mean(-1, keepdims=True)  # the clip's loudness
    centroids = feats[:, :8].mean(1)
    test = feats[:, 8:].reshape(-1, feats.shape[-1])
    pred = np.linalg.norm(test[:, None] - centroids[None], axis=-1).argmin(1)
    accuracy = (pred == np.repeat(np.arange(len(names)), 4)).mean()
    assert accuracy >= 0.65, accuracy
