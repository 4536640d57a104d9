"""Lightning wrappers: the data module (random crops + transposition for training, full pieces for
validation/test) and the model module (cross-entropy masked on padding)."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, Dataset, Sampler

from arranger.data import Example
from arranger.features import IGNORE, collate, make_features
from arranger.models import build_net
from arranger.schedule import WarmupCosine


class NoteDataset(Dataset):
    """Training: a random crop of each piece, randomly transposed (``length`` items per epoch, cycling over
    the pieces, so that a few long pieces still give full epochs). Evaluation: whole pieces."""

    def __init__(self, examples: list[Example], n_parts: int, crop: int | None = None, transpose: tuple[int, int] | None = None, seed: int = 0, length: int | None = None):
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

    def __iter__(self):
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
    def __init__(self, splits: dict[str, list[Example]], n_parts: int, batch_size: int = 16, crop: int = 500, transpose: tuple[int, int] = (-5, 6), eval_batch_size: int = 4, seed: int = 0, samples_per_epoch: int | None = None, length_buckets: int = 0, loader: dict | None = None):
        super().__init__()
        self.length_buckets = length_buckets  # > 0: batches of similar lengths from pools of this many batches
        self.loader = dict(loader or {})  # DataLoader options: workers, pinned memory, persistent workers
        self.samples_per_epoch = samples_per_epoch
        self.splits, self.n_parts = splits, n_parts
        self.batch_size, self.crop, self.transpose, self.eval_batch_size, self.seed = batch_size, crop, tuple(transpose), eval_batch_size, seed

    def train_dataloader(self) -> DataLoader:
        ds = NoteDataset(self.splits["train"], self.n_parts, self.crop, self.transpose, self.seed, self.samples_per_epoch)
        if self.length_buckets:
            lengths = [min(len(ds.examples[i % len(ds.examples)]), self.crop or 1 << 30) for i in range(len(ds))]
            return DataLoader(ds, batch_sampler=LengthBuckets(lengths, self.batch_size, self.length_buckets, self.seed), collate_fn=collate, **self.loader)
        return DataLoader(ds, batch_size=self.batch_size, shuffle=True, collate_fn=collate, drop_last=len(ds) > self.batch_size, **self.loader)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(NoteDataset(self.splits["valid"], self.n_parts), batch_size=self.eval_batch_size, collate_fn=collate, **self.loader)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(NoteDataset(self.splits["test"], self.n_parts), batch_size=1, collate_fn=collate, **self.loader)


class ArrangerModule(L.LightningModule):
    """Hyper-parameters are plain dicts (model config, dataset label set) so the checkpoint loads with
    ``torch.load(weights_only=True)``.

    ``ema`` (a decay such as 0.999) keeps an exponential moving average of the weights in ``ema_net``; it
    is what validation, testing and inference use (``Arranger.from_checkpoint`` prefers it)."""

    def __init__(self, model: dict, dataset: dict, lr: float = 1e-3, lr_decay_patience: int | None = None, schedule: dict | None = None, weight_decay: float = 0.0, ema: float | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.net = build_net(model, len(dataset["labels"]))
        self.lr, self.lr_decay_patience, self.weight_decay = lr, lr_decay_patience, weight_decay
        self.schedule = dict(schedule or {})  # {"name": "cosine", "total_steps", "warmup_steps", "floor", "total_minutes"}
        self.ema_net = AveragedModel(self.net, multi_avg_fn=get_ema_multi_avg_fn(ema), use_buffers=True) if ema else None
        if self.ema_net is not None:
            self.ema_net.requires_grad_(False)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.ema_net is not None and not self.training:
            return self.ema_net(batch)
        return self.net(batch)

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
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

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        return self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        return self._step(batch, "test")

    def configure_optimizers(self):
        params = self.net.parameters()  # never the moving average
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay) if self.weight_decay else torch.optim.Adam(params, lr=self.lr)
        if self.schedule.get("name") == "cosine":
            factor = WarmupCosine(
                int(self.schedule["total_steps"]), int(self.schedule.get("warmup_steps") or 0),
                float(self.schedule.get("floor", 0.01)), self.schedule.get("total_minutes"),
            )
            sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        if not self.lr_decay_patience:
            return opt
        # halve the learning rate when the validation loss stops improving
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=self.lr_decay_patience)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val/loss", "interval": "epoch"}}
