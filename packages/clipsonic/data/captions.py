"""The image-caption set (``captions.csv``: file,caption[,label] beside the images) that the stand-in CLIP
and the diffusion prior train on, and its CLIP embeddings, cached on disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from gm_common.errors import InputFileError
from gm_common.files import atomic_path


class CaptionImages(torch.utils.data.Dataset):
    """Image-caption pairs from a ``captions.csv`` (file,caption[,label]) beside the images (read once)."""

    def __init__(self, csv_path: str | Path):
        import pandas as pd

        csv_path = Path(csv_path)
        if not csv_path.is_file():
            raise InputFileError(csv_path, "caption file not found (run python -m clipsonic.data.synthesize)")
        table = pd.read_csv(csv_path)
        if not {"file", "caption"} <= set(table.columns):
            raise InputFileError(csv_path, "caption table needs the columns file,caption")
        self.files = [str(csv_path.parent / f) for f in table["file"]]
        self.captions = [str(c) for c in table["caption"]]
        self.labels = table["label"].to_numpy() if "label" in table.columns else np.full(len(table), -1)
        self._images: np.ndarray | None = None

    def images(self) -> np.ndarray:
        """All images as uint8 [N, H, W, 3]."""
        if self._images is None:
            from clipsonic.data.video import load_image

            self._images = np.stack([load_image(f) for f in self.files])
        return self._images

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        return self.images()[i], self.captions[i]


class Subset(torch.utils.data.Dataset):
    """Some rows of :class:`CaptionImages`, held in memory (workers get arrays, not the file list)."""

    def __init__(self, images: np.ndarray, captions: list[str]):
        self.images, self.captions = images, captions

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        return self.images[i], self.captions[i]


def collate(batch: list[tuple[np.ndarray, str]]) -> tuple[torch.Tensor, list[str]]:
    """Images as one uint8 tensor [B, H, W, 3], captions as a list."""
    return torch.as_tensor(np.stack([b[0] for b in batch])), [b[1] for b in batch]


def split_indices(n: int, valid_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random split of ``range(n)`` into (train, valid) indices; at least one valid row when n > 1."""
    perm = np.random.default_rng(seed).permutation(n)
    n_valid = max(1, int(round(n * valid_fraction))) if n > 1 else 0
    return sorted(perm[n_valid:].tolist()), sorted(perm[:n_valid].tolist())


def caption_embeddings(
    captions_csv: str | Path, clip, clip_key: str, cache_dir: str | Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text embeddings, image embeddings, labels) of the image-caption set, cached on disk."""
    ds = CaptionImages(captions_csv)
    st = Path(captions_csv).stat()
    key_src = json.dumps([clip_key, str(Path(captions_csv).resolve()), st.st_size, int(st.st_mtime)])
    path = Path(cache_dir) / f"captions-{hashlib.sha1(key_src.encode()).hexdigest()[:16]}.npz"
    if not path.is_file():
        text, image = clip.embed_texts(ds.captions), clip.embed_images(ds.images())
        with atomic_path(path) as tmp:
            np.savez(tmp, text=text, image=image, labels=ds.labels)
    with np.load(path) as z:
        return z["text"], z["image"], z["labels"]
