"""Videos -> (log-mel of the audio, CLIP image embeddings of a few frames), cached on disk, and the dataset
the diffusion model trains on. Labels (when a labels CSV exists) are kept for evaluation only; the audio
model never sees them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from clipsonic.data.video import list_videos, read_video
from gm_common.audio import MelConfig, mel_spectrogram
from gm_common.errors import InputFileError
from gm_common.files import atomic_path

LOG_FLOOR = 1e-5


def mel_band(mel: DictConfig | dict) -> tuple[float, float]:
    """(fmin, fmax) in Hz of a ``data.mel`` config; settings without them (those of the synthetic world and its
    shipped models, saved before the band was a setting) span the full band, 0 to sample_rate / 2."""
    if "fmin" not in mel:
        return 0.0, int(mel["sample_rate"]) / 2
    return float(mel["fmin"]), float(mel["fmax"])


def mel_config(mel: DictConfig | dict) -> MelConfig:
    """The ``gm_common.audio`` mel settings of a ``data.mel`` config."""
    fmin, fmax = mel_band(mel)
    return MelConfig(
        sample_rate=int(mel["sample_rate"]),
        n_fft=int(mel["n_fft"]),
        hop_length=int(mel["hop_length"]),
        n_mels=int(mel["n_mels"]),
        fmin=fmin,
        fmax=fmax,
        log_floor=LOG_FLOOR,
    )


def segment_samples(mel: DictConfig | dict) -> int:
    """Audio samples per segment so that the log-mel has exactly ``mel.frames`` frames."""
    return (int(mel["frames"]) - 1) * int(mel["hop_length"])


def audio_to_mel(audio: np.ndarray, mel: DictConfig | dict) -> np.ndarray:
    """Crop/pad audio to the segment length and return its log-mel [n_mels, frames]."""
    n = segment_samples(mel)
    audio = np.asarray(audio, dtype=np.float32)[:n]
    if audio.size < n:
        audio = np.pad(audio, (0, n - audio.size))
    return mel_spectrogram(audio, mel_config(mel))[:, : int(mel["frames"])]


def read_labels(labels_csv: str | Path | None) -> dict[str, dict]:
    """file (relative to the CSV's folder, or a bare name) -> row; {} when there is no CSV."""
    if not labels_csv:
        return {}
    import pandas as pd

    path = Path(labels_csv)
    if not path.is_file():
        raise InputFileError(path, "labels CSV not found")
    table = pd.read_csv(path)
    if "file" not in table.columns:
        raise InputFileError(path, "labels CSV needs a 'file' column")
    return {str(Path(r["file"]).name): r for r in table.to_dict("records")}


def split_of(name: str, row: dict | None, valid_fraction: float) -> str:
    """The split of a video: its labels row's ``split``, else ``valid`` for a stable hash fraction of names."""
    if row is not None and isinstance(row.get("split"), str):
        return row["split"]
    h = int(hashlib.md5(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "valid" if h < valid_fraction else "train"


def file_key(path: Path) -> str:
    """Path, size and modification time of a file (of each file of a folder): the part of a cache key that
    changes when it does."""
    files = sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
    return ";".join(f"{f.resolve()}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in files)


def build_cache(data_cfg: dict, clip, clip_key: str, log=print) -> Path:
    """Decode every video once: log-mels and CLIP image embeddings of ``frames_per_video`` frames per video,
    written to ``cache_dir/<hash>/{train,valid,test}.npz``; reused when videos, mel settings and CLIP match.

    Unreadable videos (corrupt, no audio, no frames) are skipped with a warning (``data.skip_bad=true``) or
    stop the run with that video's error (``data.skip_bad=false``).
    """
    data_cfg = OmegaConf.create(data_cfg)
    files = list_videos(data_cfg.videos)
    mel = OmegaConf.to_container(data_cfg.mel, resolve=True)
    key_src = json.dumps(
        [clip_key, mel, int(data_cfg.frames_per_video), str(data_cfg.labels_csv), [file_key(f) for f in files]]
    )
    folder = Path(data_cfg.cache_dir) / hashlib.sha1(key_src.encode()).hexdigest()[:16]
    if (folder / "done.json").is_file():
        return folder
    labels = read_labels(data_cfg.labels_csv)
    parts: dict[str, dict[str, list]] = {}
    skipped = 0
    for i, f in enumerate(files):
        try:
            frames, audio = read_video(f, int(data_cfg.frames_per_video), int(mel["sample_rate"]))
        except InputFileError as err:
            if not data_cfg.skip_bad:
                raise
            log(f"warning: skipping {err}")
            skipped += 1
            continue
        row = labels.get(f.name)
        part = parts.setdefault(
            split_of(f.name, row, float(data_cfg.valid_fraction)), {"mels": [], "frames": [], "files": [], "labels": []}
        )
        part["mels"].append(audio_to_mel(audio, mel))
        part["frames"].append(frames)
        part["files"].append(str(f))
        part["labels"].append(int(row["label"]) if row is not None and "label" in row else -1)
        if (i + 1) % 200 == 0:
            log(f"cached {i + 1}/{len(files)} videos")
    if not parts:
        raise InputFileError(Path(data_cfg.videos), "no readable video (with frames and an audio track)")
    folder.mkdir(parents=True, exist_ok=True)
    for name, p in parts.items():
        frames = np.stack(p["frames"])  # [N, K, H, W, 3]
        n, k = frames.shape[:2]
        embs = clip.embed_images(frames.reshape(n * k, *frames.shape[2:])).reshape(n, k, -1)
        with atomic_path(folder / f"{name}.npz") as tmp:
            np.savez(
                tmp,
                mels=np.stack(p["mels"]).astype(np.float32),
                embs=embs,
                files=np.array(p["files"]),
                labels=np.array(p["labels"]),
                mid_frames=frames[:, k // 2],
            )
    with atomic_path(folder / "done.json") as tmp:
        tmp.write_text(
            json.dumps(
                {"videos": len(files), "skipped": skipped, "splits": {k: len(v["files"]) for k, v in parts.items()}}
            )
        )
    return folder


def load_split(folder: Path, split: str) -> dict[str, np.ndarray] | None:
    """A cached split's arrays (mels, embs, files, labels, mid_frames); None if the set has no such split."""
    path = Path(folder) / f"{split}.npz"
    if not path.is_file():
        return None
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def mel_stats(mels: np.ndarray) -> dict[str, float]:
    """Range used to map log-mels to [-1, 1]: the log floor and the 99.9th percentile."""
    return {"lo": float(np.log(LOG_FLOOR)), "hi": float(np.percentile(mels, 99.9))}


def normalize(mels: np.ndarray | torch.Tensor, stats: dict) -> np.ndarray | torch.Tensor:
    """Log-mels -> [-1, 1] with :func:`mel_stats` (clipped)."""
    x = 2 * (mels - stats["lo"]) / (stats["hi"] - stats["lo"]) - 1
    return x.clip(-1, 1) if isinstance(x, np.ndarray) else x.clamp(-1, 1)


def denormalize(x: np.ndarray | torch.Tensor, stats: dict) -> np.ndarray | torch.Tensor:
    """[-1, 1] -> log-mels (the inverse of :func:`normalize`)."""
    return (x + 1) / 2 * (stats["hi"] - stats["lo"]) + stats["lo"]


class MelEmbeddingSet(torch.utils.data.Dataset):
    """(normalised mel [1, n_mels, frames], CLIP embedding of one of the segment's frames)."""

    def __init__(self, split: dict[str, np.ndarray], stats: dict, random_frame: bool = True):
        self.mels = torch.from_numpy(normalize(split["mels"], stats)).float().unsqueeze(1)
        self.embs = torch.from_numpy(split["embs"]).float()
        self.random_frame = random_frame

    def __len__(self) -> int:
        return len(self.mels)

    def __getitem__(self, i: int):
        k = int(torch.randint(self.embs.shape[1], ())) if self.random_frame else self.embs.shape[1] // 2
        return self.mels[i], self.embs[i, k]
