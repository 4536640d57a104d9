"""The Lightning data modules, one per model, over one audio-visual set (``configs/clipsonic/data/*.yaml``):

- :class:`VideoData`: (normalised log-mel, CLIP embedding of a frame) pairs for the mel diffusion model;
- :class:`CaptionData`: (image, caption) pairs for the stand-in CLIP;
- :class:`CaptionEmbeddingData`: (CLIP text embedding, CLIP image embedding) pairs for the diffusion prior;
- :class:`AudioSegmentData`: raw audio segments for the neural vocoder.

Each is built with ``hydra.utils.instantiate(cfg.data, ...)``; the training config picks the class with
``data._target_`` and sets its batch size.
"""

from __future__ import annotations

import abc
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from clipsonic.clip import Clip, load_clip
from clipsonic.data.dataset import (
    LOG_FLOOR,
    MelEmbeddingSet,
    audio_to_mel,
    build_cache,
    file_key,
    load_split,
    mel_stats,
)
from gm_common.errors import ConfigError, InputFileError
from gm_common.training import loader_options


class AudioVisualData(L.LightningDataModule, abc.ABC):
    """A set of videos (and its image-caption pairs) and how batches are served; subclasses give the view
    each model trains on. Call :meth:`prepare` before building the model: it tells the model's sizes.

    ``valid_fraction`` is held out for validation where the set does not say (videos without a ``split``
    column in the labels CSV; the caption pairs, split with ``seed``). ``world`` names the synthetic world that
    wrote the set (:data:`clipsonic.data.worlds.WORLDS`; evaluation draws its held-out queries there), or is
    None for a folder of real videos.
    """

    def __init__(
        self,
        *,
        world: str | None,
        root: str,
        videos: str,
        labels_csv: str | None,
        captions_csv: str | None,
        mel: dict,
        cache_dir: str,
        batch_size: int,
        valid_fraction: float,
        skip_bad: bool,
        frames_per_video: int,
        seed: int,
        num_workers: int,
        pin_memory: bool | str,
        persistent_workers: bool,
        clip: dict | None = None,
    ):
        super().__init__()
        self.world, self.root, self.videos = world, root, videos
        self.labels_csv, self.captions_csv = labels_csv, captions_csv
        self.mel = {k: int(v) for k, v in mel.items()}
        self.cache_dir, self.batch_size, self.valid_fraction = cache_dir, batch_size, valid_fraction
        self.skip_bad, self.frames_per_video, self.seed, self.clip = skip_bad, frames_per_video, seed, clip
        self.loader = loader_options(num_workers, pin_memory, persistent_workers)

    def set_config(self) -> dict:
        """The set's description as a plain dict (for :func:`clipsonic.data.dataset.build_cache`)."""
        keys = ("videos", "labels_csv", "mel", "cache_dir", "valid_fraction", "skip_bad", "frames_per_video")
        return {k: getattr(self, k) for k in keys}

    def load_clip(self) -> tuple[Clip, str]:
        """The CLIP named by ``clip`` (needed by the views made of CLIP embeddings) and its part of a cache key."""
        if self.clip is None:
            raise ConfigError(f"{type(self).__name__} needs a CLIP (instantiate the data config with clip=...)")
        clip = load_clip(self.clip)
        return clip, file_key(clip.source)

    @abc.abstractmethod
    def prepare(self) -> AudioVisualData:
        """Read (or cache) the data; returns self (each view defines it)."""

    def _loader(self, ds: Dataset, train: bool, **kwargs) -> DataLoader:
        bs = min(int(self.batch_size), len(ds)) if train else int(self.batch_size)
        return DataLoader(ds, batch_size=bs, shuffle=train, drop_last=train, **kwargs, **self.loader)


class VideoData(AudioVisualData):
    """(normalised log-mel, CLIP image embedding of a random cached frame) for the mel diffusion model;
    ``stats`` (the log-mel range) and ``cond_dim`` (the CLIP size) are known after :meth:`prepare`."""

    def prepare(self) -> VideoData:
        """Build (or reuse) the embedding cache and read its train and valid splits."""
        folder = build_cache(self.set_config(), *self.load_clip())
        self.train_split = load_split(folder, "train")
        if self.train_split is None:
            raise InputFileError(Path(self.videos), "no training videos (every video is in the valid/test split)")
        self.valid_split = load_split(folder, "valid")
        self.stats = mel_stats(self.train_split["mels"])
        self.cond_dim = int(self.train_split["embs"].shape[-1])
        return self

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches; each segment's condition is one of its frames, drawn at random."""
        return self._loader(MelEmbeddingSet(self.train_split, self.stats), train=True)

    def val_dataloader(self) -> DataLoader:
        """The valid split (else the train split) with each segment's middle frame."""
        split = self.valid_split if self.valid_split is not None else self.train_split
        return self._loader(MelEmbeddingSet(split, self.stats, random_frame=False), train=False)


class CaptionData(AudioVisualData):
    """(uint8 image, caption) batches of the image-caption set for the stand-in CLIP."""

    def prepare(self) -> CaptionData:
        """Read every captioned image once and split the pairs."""
        from clipsonic.data.captions import CaptionImages, Subset, split_indices

        if not self.captions_csv:
            raise ConfigError("training CLIP needs an image-caption set (data.captions_csv)")
        ds = CaptionImages(self.captions_csv)
        images = ds.images()
        tr, va = split_indices(len(ds), self.valid_fraction, self.seed)
        self.train_set = Subset(images[tr], [ds.captions[i] for i in tr])
        self.valid_set = Subset(images[va], [ds.captions[i] for i in va])
        return self

    def train_dataloader(self) -> DataLoader:
        """Shuffled (images, captions) batches."""
        from clipsonic.data.captions import collate

        return self._loader(self.train_set, train=True, collate_fn=collate)

    def val_dataloader(self) -> DataLoader:
        """Held-out (images, captions) batches."""
        from clipsonic.data.captions import collate

        return self._loader(self.valid_set, train=False, collate_fn=collate)


class CaptionEmbeddingData(AudioVisualData):
    """(CLIP text embedding, CLIP image embedding) of the image-caption pairs, for the diffusion prior;
    ``dim`` (the CLIP size) is known after :meth:`prepare`."""

    def prepare(self) -> CaptionEmbeddingData:
        """Embed (or read the cached embeddings of) the caption pairs and split them."""
        from clipsonic.data.captions import caption_embeddings, split_indices

        if not self.captions_csv:
            raise ConfigError("training the prior needs an image-caption set (data.captions_csv)")
        text, image, _ = caption_embeddings(self.captions_csv, *self.load_clip(), self.cache_dir)
        tr, va = split_indices(len(text), self.valid_fraction, self.seed)
        t, i = torch.from_numpy(text), torch.from_numpy(image)
        self.train_set, self.valid_set = TensorDataset(t[tr], i[tr]), TensorDataset(t[va], i[va])
        self.dim = int(text.shape[1])
        return self

    def train_dataloader(self) -> DataLoader:
        """Shuffled (text, image) embedding batches."""
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        """Held-out (text, image) embedding batches."""
        return self._loader(self.valid_set, train=False)


class AudioSegmentData(AudioVisualData):
    """Raw audio segments of the videos for the neural vocoder; ``mean`` and ``std`` of their log-mels
    (the vocoder's input normalisation) are known after :meth:`prepare`."""

    def prepare(self) -> AudioSegmentData:
        """Decode (or read the cached) audio of every video."""
        from clipsonic.data.audio import audio_segments

        splits = audio_segments(self.set_config())
        if "train" not in splits:
            raise InputFileError(Path(self.videos), "no training videos for the vocoder")
        if "valid" not in splits:
            raise InputFileError(
                Path(self.videos), "no validation videos for the vocoder (set data.valid_fraction > 0)"
            )
        self.train_set = TensorDataset(torch.from_numpy(splits["train"]))
        self.valid_set = TensorDataset(torch.from_numpy(splits["valid"]))
        sample = np.stack([audio_to_mel(a, self.mel) for a in splits["train"][:64]])
        self.mean, self.std, self.log_floor = float(sample.mean()), float(sample.std()), LOG_FLOOR
        return self

    def train_dataloader(self) -> DataLoader:
        """Shuffled audio batches."""
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        """Held-out audio batches (as large as training batches)."""
        return self._loader(self.valid_set, train=False)
