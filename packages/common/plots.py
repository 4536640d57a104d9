"""PNG figures: multitrack piano rolls and mel spectrograms (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import muspy  # noqa: E402
import numpy as np  # noqa: E402

from gm_common.files import atomic_path, check_writable  # noqa: E402


def save_figure(fig: plt.Figure, path: str | Path, overwrite: bool = False) -> Path:
    """Write a matplotlib figure to a PNG atomically (refusing an existing file unless ``overwrite``), then close it."""
    path = check_writable(path, overwrite)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_pianoroll(
    music: muspy.Music,
    path: str | Path,
    title: str | None = None,
    max_beats: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Draw every track of ``music`` as coloured note bars (x in beats, y in MIDI pitch) with a legend."""
    fig, ax = plt.subplots(figsize=(12, 4.5))
    colors = plt.get_cmap("tab10" if len(music.tracks) <= 10 else "tab20")
    res = music.resolution
    pitches = []
    for i, track in enumerate(music.tracks):
        bars = [(n.time / res, n.duration / res) for n in track.notes if max_beats is None or n.time / res < max_beats]
        if not bars:
            continue
        color = colors(i % colors.N)
        for (start, dur), note in zip(bars, track.notes):
            ax.add_patch(plt.Rectangle((start, note.pitch - 0.4), dur, 0.8, color=color, linewidth=0))
        pitches += [n.pitch for n in track.notes]
        label = f"{track.name or 'track ' + str(i)} ({'drums' if track.is_drum else 'prog ' + str(track.program)})"
        ax.plot([], [], color=color, linewidth=6, label=label)
    end = max((n.end for t in music.tracks for n in t.notes), default=res) / res
    ax.set_xlim(0, min(end, max_beats) if max_beats else end)
    if pitches:
        ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
    ax.set_xlabel("beat")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title)
    if music.tracks:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return save_figure(fig, path, overwrite)


def plot_mel(
    log_mel: np.ndarray,
    path: str | Path,
    sample_rate: int | None = None,
    hop_length: int | None = None,
    title: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Draw a (n_mels, frames) log-mel spectrogram; x in seconds when the rate and hop are given."""
    log_mel = np.asarray(log_mel)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    extent = None
    if sample_rate and hop_length:
        extent = (0, log_mel.shape[1] * hop_length / sample_rate, 0, log_mel.shape[0])
        ax.set_xlabel("seconds")
    else:
        ax.set_xlabel("frame")
    im = ax.imshow(log_mel, origin="lower", aspect="auto", cmap="magma", extent=extent)
    ax.set_ylabel("mel band")
    fig.colorbar(im, ax=ax, label="log magnitude")
    if title:
        ax.set_title(title)
    return save_figure(fig, path, overwrite)
