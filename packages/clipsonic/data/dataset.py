"""Videos -> (log-mel of the audio, CLIP image embeddings of a few frames), cached on disk, and the
Lightning data module the diffusion model trains on. Labels (when a labels CSV exists) are kept for
evaluation only; the audio model never sees them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from gm_common.audio import MelConfig, mel_spectrogram
from gm_common.errors import InputFileError
from gm_common.files import atomic_path
from gm_common.training import loader_options

from clipsonic.data.video import list_videos, read_video


def loader_kwargs(data_cfg: DictConfig) -> dict:
    """DataLoader options of a ``data`` config (workers, pinned memory, persistent workers)."""
    return loader_options(data_cfg.get("num_workers", 0), data_cfg.get("pin_memory", "auto"), data_cfg.get("persistent_workers", True))

LOG_FLOOR = 1e-5


def mel_config(mel: DictConfig | dict) -> MelConfig:
    return MelConfig(sample_rate=int(mel["sample_rate"]), n_fft=int(mel["n_fft"]), hop_length=int(mel["hop_length"]), n_mels=int(mel["n_mels"]), log_floor=LOG_FLOOR)


def clip_samples(mel: DictConfig | dict) -> int:
    """Audio samples per clip so that the log-mel has exactly ``mel.frames`` frames."""
    return (int(mel["frames"]) - 1) * int(mel["hop_length"])


def audio_to_mel(audio: np.ndarray, mel: DictConfig | dict) -> np.ndarray:
    """Crop/pad audio to the clip length and return its log-mel [n_mels, frames]."""
    n = clip_samples(mel)
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
    if row is not None and isinstance(row.get("split"), str):
        return row["split"]
    h = int(hashlib.md5(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "valid" if h < valid_fraction else "train"


def _file_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{int(st.st_mtime)}"


def build_cache(data_cfg: DictConfig, clip, clip_key: str, log=print) -> Path:
    """Decode every video once: log-mels and CLIP image embeddings of ``frames_per_video`` frames per video,
    written to ``cache_dir/<hash>/{train,valid,test}.npz``; reused when videos, mel settings and CLIP match.

    Unreadable videos (corrupt, no audio, no frames) are skipped with a warning (``data.skip_bad``, default
    true) or stop the run with that video's error (``data.skip_bad=false``).
    """
    files = list_videos(data_cfg.videos)
    mel = OmegaConf.to_container(data_cfg.mel, resolve=True)
    key_src = json.dumps([clip_key, mel, int(data_cfg.frames_per_video), str(data_cfg.labels_csv), [_file_key(f) for f in files]])
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
            if not data_cfg.get("skip_bad", True):
                raise
            log(f"warning: skipping {err}")
            skipped += 1
            continue
        row = labels.get(f.name)
        part = parts.setdefault(split_of(f.name, row, float(data_cfg.valid_fraction)), {"mels": [], "frames": [], "files": [], "labels": []})
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
            np.savez(tmp, mels=np.stack(p["mels"]).astype(np.float32), embs=embs, files=np.array(p["files"]),
                     labels=np.array(p["labels"]), mid_frames=frames[:, k // 2])
    with atomic_path(folder / "done.json") as tmp:
        tmp.write_text(json.dumps({"videos": len(files), "skipped": skipped, "splits": {k: len(v["files"]) for k, v in parts.items()}}))
    return folder


def load_split(folder: Path, split: str) -> dict[str, np.ndarray] | None:
    path = Path(folder) / f"{split}.npz"
    if not path.is_file():
        return None
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def mel_stats(mels: np.ndarray) -> dict[str, float]:
    """Range used to map log-mels to [-1, 1]: the log floor and the 99.9th percentile."""
    return {"lo": float(np.log(LOG_FLOOR)), "hi": float(np.percentile(mels, 99.9))}


def normalize(mels: np.ndarray | torch.Tensor, stats: dict) -> np.ndarray | torch.Tensor:
    x = 2 * (mels - stats["lo"]) / (stats["hi"] - stats["lo"]) - 1
    return x.clip(-1, 1) if isinstance(x, np.ndarray) else x.clamp(-1, 1)


def denormalize(x: np.ndarray | torch.Tensor, stats: dict) -> np.ndarray | torch.Tensor:
    return (x + 1) / 2 * (stats["hi"] - stats["lo"]) + stats["lo"]


class MelEmbeddingSet(torch.utils.data.Dataset):
    """(normalised mel [1, n_mels, frames], CLIP embedding of one of the clip's frames)."""

    def __init__(self, split: dict[str, np.ndarray], stats: dict, random_frame: bool = True):
        self.mels = torch.from_numpy(normalize(split["mels"], stats)).float().unsqueeze(1)
        self.embs = torch.from_numpy(split["embs"]).float()
        self.random_frame = random_frame

    def __len__(self) -> int:
        return len(self.mels)

    def __getitem__(self, i: int):
        k = int(torch.randint(self.embs.shape[1], ())) if self.random_frame else self.embs.shape[1] // 2
        return self.mels[i], self.embs[i, k]


class VideoDataModule(L.LightningDataModule):
    """Builds (or reuses) the embedding cache, then serves train/valid batches. ``stats`` and ``cond_dim``
    are known after :meth:`prepare`."""

    def __init__(self, data_cfg: DictConfig, clip_cfg: DictConfig):
        super().__init__()
        self.cfg, self.clip_cfg = data_cfg, clip_cfg
        self.folder: Path | None = None

    def prepare(self) -> "VideoDataModule":
        from clipsonic.clip import load_clip

        ck = Path(self.clip_cfg.checkpoint)
        clip = load_clip(self.clip_cfg)
        self.folder = build_cache(self.cfg, clip, _file_key(ck))
        self.train_split = load_split(self.folder, "train")
        if self.train_split is None:
            raise InputFileError(Path(self.cfg.videos), "no training videos (every video is in the valid/test split)")
        self.valid_split = load_split(self.folder, "valid")
        self.stats = mel_stats(self.train_split["mels"])
        self.cond_dim = int(self.train_split["embs"].shape[-1])
        return self

    def train_dataloader(self):
        ds = MelEmbeddingSet(self.train_split, self.stats)
        return torch.utils.data.DataLoader(ds, batch_size=min(int(self.cfg.batch_size), len(ds)), shuffle=True, drop_last=True, **loader_kwargs(self.cfg))

    def val_dataloader(self):
        split = self.valid_split if self.valid_split is not None else self.train_split
        return torch.utils.data.DataLoader(MelEmbeddingSet(split, self.stats, random_frame=False), batch_size=int(self.cfg.batch_size), shuffle=False, **loader_kwargs(self.cfg))
