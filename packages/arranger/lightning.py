"""Lightning wrappers: the data module (a dataset's pieces: random crops and transpositions for training, full
pieces for validation and test) and the model module (a net trained by cross-entropy masked on padding).

Both are built by ``hydra.utils.instantiate``: ``configs/arranger/data/<dataset>.yaml`` and the ``train`` node
of ``configs/arranger/train.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterator

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, Dataset, Sampler

from arranger.data import Example, get_spec, load_examples, split_examples
from arranger.models import build_net
from arranger.representation import IGNORE, collate, make_features
from gm_common.schedules import WarmupDecay, per_step
from gm_common.training import loader_options


class NoteDataset(Dataset):
    """Training: a random crop of each piece, randomly transposed (``length`` items per epoch, cycling over
    the pieces, so that a few long pieces still give full epochs). Evaluation: whole pieces."""

    def __init__(
        self,
        examples: list[Example],
        n_parts: int,
        crop: int | None = None,
        transpose: tuple[int, int] | None = None,
        seed: int = 0,
        length: int | None = None,
    ):
        self.examples, self.n_parts, self.crop, self.transpose = examples, n_parts, crop, transpose
        self.length = max(len(examples), length or 0)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        notes = self.examples[i % len(self.examples)].notes
        shift = int(self.rng.integers(self.transpose[0], self.transpose[1] + 1)) if self.transpose else 0
        feats = make_features(notes, self.n_parts, transpose=shift)  # hints from the whole piece
        if self.crop and len(notes) > self.crop:
            s = int(self.rng.integers(0, len(notes) - self.crop + 1))
            feats = {k: (v[s : s + self.crop] if k != "pitch_hint" else v) for k, v in feats.items()}
        return feats


class LengthBuckets(Sampler[list[int]]):
    """Batches of pieces of similar length (less padding): each epoch, shuffle, cut into pools of
    ``pool`` batches, sort each pool by length, batch it, and shuffle the batches. Single process only."""

    def __init__(self, lengths: list[int], batch_size: int, pool: int = 8, seed: int = 0):
        self.lengths, self.batch_size, self.pool = np.asarray(lengths), batch_size, pool
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = self.rng.permutation(len(self.lengths))
        size = self.batch_size * self.pool
        batches = []
        for s in range(0, len(order), size):
            chunk = order[s : s + size]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i : i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size)]
        for i in self.rng.permutation(len(batches)):
            yield batches[i]


class ArrangerData(L.LightningDataModule):
    """A dataset (``arranger.data``) split 8:1:1 by ``split_seed``, loaded in ``setup`` (its files converted in
    ``convert_workers`` processes on the first run; pieces read lazily from the cache's memory-mapped shards).

    Training batches hold ``batch_size`` random crops of ``crop`` notes, transposed by a random number of
    semitones in ``transpose``, ``samples_per_epoch`` crops per epoch (at least one per piece); with
    ``length_buckets`` > 0, crops of similar length are batched together (pools of that many batches).
    Validation batches hold ``eval_batch_size`` whole pieces, test batches one.
    """

    def __init__(
        self,
        name: str,
        folder: str | None = None,
        cache_dir: str | None = None,
        limit: int | None = None,
        convert_workers: int | None = None,
        split_seed: int = 0,
        batch_size: int = 16,
        crop: int | None = 500,
        transpose: tuple[int, int] | None = (-5, 6),
        eval_batch_size: int = 4,
        samples_per_epoch: int | None = None,
        length_buckets: int = 0,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool | str = "auto",
        persistent_workers: bool = True,
    ):
        super().__init__()
        self.spec = get_spec(name)
        self.folder, self.cache_dir, self.limit, self.split_seed = folder, cache_dir, limit, split_seed
        self.convert_workers = convert_workers
        self.batch_size, self.crop, self.eval_batch_size = batch_size, crop, eval_batch_size
        self.transpose = tuple(transpose) if transpose else None
        self.samples_per_epoch, self.length_buckets, self.seed = samples_per_epoch, length_buckets, seed
        self.loader = loader_options(num_workers, pin_memory, persistent_workers)
        self.splits: dict[str, list[Example]] = {}

    @property
    def n_parts(self) -> int:
        """The number of parts (labels) of the dataset."""
        return len(self.spec.labels)

    def setup(self, stage: str | None = None) -> None:
        """Load (or read from the cache) and split the dataset, once."""
        if not self.splits:
            examples = load_examples(self.spec.name, self.folder, self.cache_dir, self.limit, self.convert_workers)
            self.splits = split_examples(examples, self.split_seed)

    def train_dataloader(self) -> DataLoader:
        """Random transposed crops; length-bucketed batches when asked for."""
        ds = NoteDataset(
            self.splits["train"], self.n_parts, self.crop, self.transpose, self.seed, self.samples_per_epoch
        )
        if self.length_buckets:
            lengths = [min(len(ds.examples[i % len(ds.examples)]), self.crop or 1 << 30) for i in range(len(ds))]
            sampler = LengthBuckets(lengths, self.batch_size, self.length_buckets, self.seed)
            return DataLoader(ds, batch_sampler=sampler, collate_fn=collate, **self.loader)
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            shuffle=True,
            collate_fn=collate,
            drop_last=len(ds) > self.batch_size,
            **self.loader,
        )

    def val_dataloader(self) -> DataLoader:
        """Whole validation pieces."""
        ds = NoteDataset(self.splits["valid"], self.n_parts)
        return DataLoader(ds, batch_size=self.eval_batch_size, collate_fn=collate, **self.loader)

    def test_dataloader(self) -> DataLoader:
        """Whole test pieces, one at a time."""
        return DataLoader(
            NoteDataset(self.splits["test"], self.n_parts), batch_size=1, collate_fn=collate, **self.loader
        )


def ema_update(decay: float, warmup: bool = False):
    """``AveragedModel`` update: average <- decay * average + (1 - decay) * weights (``warmup``: ramped decay)."""

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        n = int(n_averaged)
        d = min(decay, (1 + n) / (10 + n)) if warmup else decay
        if averaged[0].is_floating_point():  # AveragedModel groups the tensors by dtype
            torch._foreach_lerp_(averaged, current, 1.0 - d)
        else:
            for a, c in zip(averaged, current):
                a.copy_(a * d + c * (1 - d))

    return update


class ArrangerModule(L.LightningModule):
    """A part-separation net (``model``: a plain config dict, ``arranger.models.build_net``) for a dataset's
    parts (``dataset``: name, labels, programs), trained with Adam (AdamW when ``weight_decay``).

    Hyper-parameters are plain data, so the checkpoint loads with ``torch.load(weights_only=True)``.
    ``schedule`` (``gm_common.schedules.WarmupDecay`` arguments) sets a per-step learning-rate schedule;
    otherwise ``lr_decay_patience`` halves the rate after that many validations without a lower validation
    loss. ``ema`` (a decay such as 0.999) keeps an exponential moving average of the weights in ``ema_net``;
    it is what validation, testing and inference use. ``ema_warmup`` ramps the decay up as
    ``min(ema, (1 + n) / (10 + n))`` after ``n`` updates, so the first random weights fade out within a few
    hundred steps instead of weighing on a short run's average for thousands. ``monitor`` (``val/loss`` or
    ``val/acc``) picks the best checkpoint, and training stops after ``patience`` validations without
    improvement (None: never).
    """

    def __init__(
        self,
        model: dict,
        dataset: dict,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        ema: float | None = None,
        ema_warmup: bool = False,
        lr_decay_patience: int | None = None,
        schedule: dict | None = None,
        monitor: str = "val/loss",
        patience: int | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = build_net(model, len(dataset["labels"]))
        self.ema_net = None
        if ema:
            self.ema_net = AveragedModel(self.net, multi_avg_fn=ema_update(ema, ema_warmup), use_buffers=True)
            self.ema_net.requires_grad_(False)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, N, n_parts) logits; the moving average's when there is one and the module is not training."""
        if self.ema_net is not None and not self.training:
            return self.ema_net(batch)
        return self.net(batch)

    def on_train_batch_end(self, outputs: torch.Tensor, batch: dict, batch_idx: int) -> None:
        """Update the moving average of the weights."""
        if self.ema_net is not None:
            self.ema_net.update_parameters(self.net)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        logits = self(batch)
        loss = F.cross_entropy(logits.flatten(0, 1), batch["label"].flatten(), ignore_index=IGNORE)
        valid = batch["label"] != IGNORE
        acc = ((logits.argmax(-1) == batch["label"]) & valid).sum().float() / valid.sum().clamp(min=1)
        n = int(valid.sum())
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=n, sync_dist=stage != "train")
        self.log(f"{stage}/acc", acc, prog_bar=stage != "train", batch_size=n, sync_dist=stage != "train")
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Loss of one batch of crops."""
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Loss and accuracy of whole validation pieces."""
        return self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Loss and accuracy of one whole test piece."""
        return self._step(batch, "test")

    def configure_optimizers(self) -> dict | torch.optim.Optimizer:
        """Adam or AdamW on the trained weights (never the moving average), with the configured schedule."""
        hp = self.hparams
        params = self.net.parameters()
        if hp.weight_decay:
            opt = torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay)
        else:
            opt = torch.optim.Adam(params, lr=hp.lr)
        if hp.schedule:
            return per_step(opt, WarmupDecay(**hp.schedule))
        if not hp.lr_decay_patience:
            return opt
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=hp.lr_decay_patience)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val/loss", "interval": "epoch"}}
