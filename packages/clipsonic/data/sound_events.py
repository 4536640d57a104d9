"""Everyday sound events synthesized procedurally, each with the structure that makes it recognisable (a bark is
a few short noisy formant-shaped harmonic bursts, a siren a slow pitch sweep, a bell decaying inharmonic
partials, ...), and the mixing of a clip: random rate, pitch and loudness, coloured background noise and, in
some clips, a second source.

Each synthesizer takes (samples, sample rate, rng, rate, pitch): ``rate`` > 1 makes events come faster and
``pitch`` > 1 raises every frequency; it returns float64 audio (any level; :func:`event_sound` normalises it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.signal

from gm_common.errors import ConfigError

Synth = Callable[[int, int, np.random.Generator, float, float], np.ndarray]


# ----------------------------------------------------------------------------------------------- building blocks
def _times(n: int, sr: int) -> np.ndarray:
    return np.arange(n) / sr


def _add(y: np.ndarray, event: np.ndarray, start: float, sr: int) -> None:
    """Add ``event`` into ``y`` from ``start`` seconds on (cut at the end of ``y``)."""
    i = int(start * sr)
    if i >= y.size:
        return
    m = min(event.size, y.size - i)
    y[i : i + m] += event[:m]


def _band(x: np.ndarray, sr: int, lo: float | None, hi: float | None, order: int = 4) -> np.ndarray:
    """Butterworth band-, low- or high-pass (``lo``/``hi`` in Hz; None leaves that side open)."""
    nyq = sr / 2
    if lo and hi:
        sos = scipy.signal.butter(order, [lo / nyq, min(hi / nyq, 0.99)], "bandpass", output="sos")
    elif hi:
        sos = scipy.signal.butter(order, min(hi / nyq, 0.99), "lowpass", output="sos")
    else:
        sos = scipy.signal.butter(order, lo / nyq, "highpass", output="sos")
    return scipy.signal.sosfilt(sos, x)


def _formant_harmonics(f0: np.ndarray, formants: np.ndarray, sr: int, n_harmonics: int = 24) -> np.ndarray:
    """Additive harmonic tone on the pitch track ``f0`` [n], each harmonic weighted by its closeness to the
    (possibly moving) formants [n, K, 2] (centre, bandwidth): a voiced vowel."""
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = np.zeros_like(f0)
    for h in range(1, n_harmonics + 1):
        fh = h * f0
        gain = (1.0 / (1.0 + ((fh[:, None] - formants[..., 0]) / formants[..., 1]) ** 2)).sum(1)
        y += np.where(fh < sr / 2, gain / np.sqrt(h), 0.0) * np.sin(h * phase)
    return y


def _resonance(n: int, sr: int, freq: float, tau: float) -> np.ndarray:
    """An exponentially decaying sine (a struck resonator's impulse response)."""
    t = _times(n, sr)
    return np.sin(2 * np.pi * freq * t) * np.exp(-t / tau)


def _coloured_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Unit-RMS noise with a 1/f^exponent power spectrum (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1.0
    y = np.fft.irfft(spec / f ** (exponent / 2), n)
    return y / (np.sqrt(np.mean(y**2)) + 1e-12)


# ----------------------------------------------------------------------------------------------- the events
def dog_barking(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """2-4 barks: 90-160 ms harmonic-plus-noise bursts with a falling pitch, shaped by three formants."""
    y, dur = np.zeros(n), n / sr
    start = rng.uniform(0.05, 0.3)
    for _ in range(int(rng.integers(2, 5))):
        d = rng.uniform(0.09, 0.16)
        if start + d > dur:
            break
        m = int(d * sr)
        t = _times(m, sr)
        f0 = pitch * rng.uniform(380, 560) * (1 + 0.35 * np.exp(-t / 0.02)) * (1 - 0.3 * t / d)
        formants = np.broadcast_to(np.array([[700, 180], [1400, 250], [2700, 400]]) * [pitch, 1], (m, 3, 2))
        voiced = _formant_harmonics(f0, formants, sr)
        noise = _band(rng.standard_normal(m), sr, 500 * pitch, 3500 * pitch, order=2)
        env = (1 - np.exp(-t / 0.006)) * np.exp(-t / (0.35 * d))
        burst = (voiced / (np.abs(voiced).max() + 1e-9) + 0.5 * noise / (np.abs(noise).max() + 1e-9)) * env
        _add(y, burst, start, sr)
        start += d + rng.uniform(0.18, 0.35) / rate
    return y


def siren_wailing(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """A tone whose pitch sweeps slowly (0.3-0.6 sweeps a second) between about 600 and 1400 Hz."""
    t = _times(n, sr)
    centre, depth = pitch * rng.uniform(850, 1050), pitch * rng.uniform(280, 400)
    f = centre + depth * np.sin(2 * np.pi * rate * rng.uniform(0.3, 0.6) * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(f) / sr
    return np.sin(phase) + 0.35 * np.sin(2 * phase) + 0.15 * np.sin(3 * phase)


BELL_PARTIALS = np.array([0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662, 3.011, 4.166])  # a church bell's ratios
BELL_LEVELS = np.array([0.6, 1.0, 0.7, 0.45, 0.5, 0.3, 0.25, 0.2, 0.12])


def church_bell_ringing(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """One or two strikes (at least 1 s apart) of inharmonic partials, each decaying, the high ones faster."""
    y, dur, t = np.zeros(n), n / sr, _times(n, sr)
    f0 = pitch * rng.uniform(280, 450)
    start = rng.uniform(0.02, 0.25)
    while start < dur - 0.2:
        strike = sum(
            a * np.sin(2 * np.pi * f0 * r * t + rng.uniform(0, 2 * np.pi)) * np.exp(-t * 1.1 * r**0.8)
            for r, a in zip(BELL_PARTIALS, BELL_LEVELS)
        )
        strike[: int(0.004 * sr)] *= np.linspace(0, 1, int(0.004 * sr))
        _add(y, strike, start, sr)
        start += rng.uniform(1.1, 1.6) / rate
    return y


def rain_falling(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """Hundreds of drops a second (tiny decaying high resonances at random times) over high hiss."""
    y = 0.3 * _band(rng.standard_normal(n), sr, 1500 * pitch, 7000, order=2)
    for freq in pitch * np.geomspace(1800, 6500, 6):  # drop pitches, one kernel per band
        clicks = np.zeros(n)
        count = int(rng.poisson(n / sr * rate * rng.uniform(70, 200)))
        clicks[rng.integers(0, n, count)] = rng.lognormal(0, 0.6, count) * rng.choice([-1, 1], count)
        y += scipy.signal.fftconvolve(clicks, _resonance(int(0.006 * sr), sr, freq, 0.0015))[:n]
    return y


def birds_chirping(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """Fast chirps (30-90 ms, 5-10 a second, in bursts) sweeping quickly within 2.5-7 kHz."""
    y, dur = np.zeros(n), n / sr
    start = rng.uniform(0.0, 0.15)
    while start < dur - 0.1:
        d = rng.uniform(0.03, 0.09)
        m = int(d * sr)
        u = np.linspace(0, 1, m)
        f_a, f_b = pitch * rng.uniform(2500, 4500), pitch * rng.uniform(4500, 7000)
        f = f_a + (f_b - f_a) * (u if rng.random() < 0.5 else 1 - u) ** rng.uniform(0.5, 2)
        _add(y, np.sin(2 * np.pi * np.cumsum(f) / sr) * np.sin(np.pi * u) ** 2 * rng.uniform(0.5, 1), start, sr)
        start += d + (rng.uniform(0.02, 0.08) if rng.random() < 0.7 else rng.uniform(0.15, 0.35)) / rate
    return y


def car_engine_idling(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """A low pulse train (22-40 firings a second, slightly jittered) through a low resonance: strong harmonics
    of the firing rate, under 1 kHz, with a slow swell."""
    f = pitch * rate * rng.uniform(22, 36)
    times = np.arange(0, n / sr, 1 / f) + rng.normal(0, 0.03 / f, int(np.ceil(n / sr * f)))
    pulses = np.zeros(n)
    pulses[np.clip((times * sr).astype(int), 0, n - 1)] = rng.uniform(0.7, 1.0, times.size)
    kernel = _resonance(int(0.04 * sr), sr, pitch * rng.uniform(90, 160), 0.008)
    kernel += 0.3 * _resonance(int(0.04 * sr), sr, pitch * rng.uniform(300, 500), 0.003)
    y = scipy.signal.fftconvolve(pulses, kernel)[:n] + 0.05 * _band(rng.standard_normal(n), sr, None, 400)
    t = _times(n, sr)
    return _band(y, sr, None, 1200) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * t))


def clock_ticking(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """Regular sharp clicks, 2.5-5 a second, alternating a higher 'tick' and a lower 'tock'."""
    y, period = np.zeros(n), 1 / (rate * rng.uniform(2.5, 5.0))
    f_tick = pitch * rng.uniform(2500, 4000)
    for k, start in enumerate(np.arange(rng.uniform(0, period), n / sr, period)):
        click = _resonance(int(0.015 * sr), sr, f_tick * (1 if k % 2 == 0 else 0.8), 0.0015)
        click[:8] += rng.standard_normal(8) * 0.5
        _add(y, click, start, sr)
    return y


def thunder_rumbling(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """A broadband crack, then a long low rumble (brown noise under ~250 Hz) rolling in slow swells."""
    t = _times(n, sr)
    onset = rng.uniform(0.05, 0.3)
    after = np.maximum(t - onset, 0) * (t >= onset)
    crack = _band(rng.standard_normal(n), sr, 200, 4000, order=2) * np.exp(-after / 0.04) * (t >= onset)
    rumble = _band(_coloured_noise(n, rng, 2.0), sr, 20, pitch * rng.uniform(180, 280))
    rolling = _band(rng.standard_normal(n), sr, None, 4 * rate, order=2)  # slow swells, a few a second
    swell = np.clip(1 + 0.3 * rolling / rolling.std(), 0.2, 2.5)
    env = (1 - np.exp(-after / 0.08)) * np.exp(-after / rng.uniform(0.9, 1.6)) * swell
    rumble = rumble / (np.abs(rumble).max() + 1e-9)
    return 0.5 * crack / (np.abs(crack).max() + 1e-9) + rumble * env


def knocking_on_a_door(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """Two groups of 2-3 knocks (damped low thumps with a short woody click) in a steady rhythm."""
    y, dur = np.zeros(n), n / sr
    gap = rng.uniform(0.13, 0.22) / rate
    start = rng.uniform(0.05, 0.3)
    freq = pitch * rng.uniform(90, 170)
    for _ in range(2):
        for _ in range(int(rng.integers(2, 4))):
            if start > dur - 0.08:
                return y
            m = int(0.08 * sr)
            thump = _resonance(m, sr, freq, 0.02) + 0.4 * _resonance(m, sr, 4.2 * freq, 0.006)
            thump += 0.3 * _band(rng.standard_normal(m), sr, None, 2500) * np.exp(-_times(m, sr) / 0.003)
            _add(y, thump * rng.uniform(0.8, 1.0), start, sr)
            start += gap * rng.uniform(0.95, 1.05)
        start += rng.uniform(0.35, 0.6) / rate
    return y


def water_dripping(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """Sparse drops (every 0.3-0.6 s) each a short pitched 'plop' whose pitch glides upwards."""
    y, dur = np.zeros(n), n / sr
    start = rng.uniform(0.02, 0.25)
    while start < dur - 0.08:
        m = int(0.08 * sr)
        t = _times(m, sr)
        f0 = pitch * rng.uniform(700, 1300)
        f = f0 * (1 + rng.uniform(0.6, 1.2) * (1 - np.exp(-t / 0.015)))
        plop = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / rng.uniform(0.012, 0.025))
        plop[: int(0.001 * sr)] *= np.linspace(0, 1, int(0.001 * sr))
        _add(y, plop * rng.uniform(0.6, 1.0), start, sr)
        start += rng.uniform(0.3, 0.6) / rate
    return y


def phone_ringing(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """Rings of two tones alternating 15-25 times a second (ring 0.35-0.5 s, pause 0.2 s, ring, long pause)."""
    t = _times(n, sr)
    f1 = pitch * rng.uniform(900, 1150)
    f2 = f1 * rng.uniform(1.2, 1.35)
    which = (t * rng.uniform(15, 25)) % 1 < 0.5
    phase = 2 * np.pi * np.cumsum(np.where(which, f1, f2)) / sr
    tone = np.sin(phase) + 0.3 * np.sin(3 * phase)
    ring, pause = rng.uniform(0.35, 0.5) / rate, 0.2 / rate
    cycle = 2 * ring + pause + rng.uniform(0.6, 1.0) / rate
    u = (t - rng.uniform(0.0, 0.3)) % cycle
    on = (u < ring) | ((u >= ring + pause) & (u < 2 * ring + pause))
    gate = scipy.signal.lfilter([0.02], [1, -0.98], on.astype(float))  # soft edges (~3 ms)
    return tone * gate


def cat_meowing(n: int, sr: int, rng: np.random.Generator, rate: float, pitch: float) -> np.ndarray:
    """One or two meows: a harmonic vowel whose pitch rises then falls and whose formants glide
    from 'ee' to 'ow' (0.5-0.9 s each)."""
    y, dur = np.zeros(n), n / sr
    start = rng.uniform(0.05, 0.3)
    while True:
        d = rng.uniform(0.5, 0.9) / rate
        if start + d > dur:
            break
        m = int(d * sr)
        u = np.linspace(0, 1, m)
        f_peak = pitch * rng.uniform(550, 800)
        f0 = f_peak * np.where(u < 0.35, 0.75 + 0.25 * u / 0.35, 1 - 0.4 * (u - 0.35) / 0.65)
        f1 = 350 + 450 * np.clip(u * 1.5, 0, 1)
        f2 = 2300 - 1100 * np.clip(u * 1.5, 0, 1)
        formants = np.stack([np.stack([f1, np.full(m, 150)], 1), np.stack([f2, np.full(m, 250)], 1)], 1)
        env = np.minimum(1, u * d / 0.05) * np.minimum(1, (1 - u) * d / 0.15)
        _add(y, _formant_harmonics(f0, formants * [pitch, 1], sr) * env, start, sr)
        start += d + rng.uniform(0.15, 0.4) / rate
    return y


SOUNDS: dict[str, Synth] = {
    "dog barking": dog_barking,
    "siren wailing": siren_wailing,
    "church bell ringing": church_bell_ringing,
    "rain falling": rain_falling,
    "birds chirping": birds_chirping,
    "car engine idling": car_engine_idling,
    "clock ticking": clock_ticking,
    "thunder rumbling": thunder_rumbling,
    "knocking on a door": knocking_on_a_door,
    "water dripping": water_dripping,
    "phone ringing": phone_ringing,
    "cat meowing": cat_meowing,
}


# ----------------------------------------------------------------------------------------------- clips
def event_sound(name: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One event at a random rate (x0.8-1.25) and pitch (x0.85-1.18), peak-normalised to 1."""
    if name not in SOUNDS:
        raise ConfigError(f"unknown sound event {name!r}; known: {', '.join(SOUNDS)}")
    y = SOUNDS[name](n, sr, rng, float(rng.uniform(0.8, 1.25)), float(np.exp(rng.uniform(-0.16, 0.16))))
    return y / (np.abs(y).max() + 1e-9)


def mix_clip(names: list[str], n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A clip of the events ``names`` (the first loudest; any second one 4-12 dB lower), at a random loudness,
    over background noise (pink or brown, 15-35 dB below the events); float32 within [-1, 1]."""
    y = event_sound(names[0], n, sr, rng)
    for other in names[1:]:
        y = y + event_sound(other, n, sr, rng) * 10 ** (-rng.uniform(4, 12) / 20)
    rms = np.sqrt(np.mean(y**2)) + 1e-9
    y = y + _coloured_noise(n, rng, rng.choice([1.0, 2.0])) * rms * 10 ** (-rng.uniform(15, 35) / 20)
    return (y / (np.abs(y).max() + 1e-9) * rng.uniform(0.25, 0.9)).astype(np.float32)
