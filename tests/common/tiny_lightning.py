"""A tiny LightningModule trained through gm_common.training; run as a script by the tests (DDP needs
its own processes). Writes ``rank<R>.json`` with the step reached and a checksum of the weights."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

import gm_common.corpus as corpus
from gm_common.checkpoint import resolve_resume
from gm_common.cli import compose
from gm_common.schedules import WarmupDecay, per_step
from gm_common.seed import seed_everything
from gm_common.training import build_trainer

PARSED: list[str] = []


def _counting_reader(path, *args, **kwargs):
    PARSED.append(str(path))
    return _read_tracks(path, *args, **kwargs)


_read_tracks = corpus.read_tracks
corpus.read_tracks = _counting_reader


class Tiny(L.LightningModule):
    def __init__(self, lr: float = 0.05, corpus_cache: str | None = None, desync: bool = False):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Linear(4, 1)
        self.steps_run = 0  # optimizer steps taken in this process (a resumed run takes only the rest)

    def setup(self, stage: str) -> None:
        if self.hparams.corpus_cache:  # every rank loads the data after the process group exists
            corpus.load_pieces(corpus.list_collection("bach_chorales")[:3], 12, self.hparams.corpus_cache)

    def _loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch, _):
        loss = self._loss(batch)
        self.steps_run += 1
        self.log("train/loss", loss)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        if self.hparams.desync and self.global_rank == 1:  # a replica that drifts (rank-dependent code)
            with torch.no_grad():
                self.net.bias.add_(1.0)

    def validation_step(self, batch, _):
        self.log("val/loss", self._loss(batch), sync_dist=True)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
        return per_step(opt, WarmupDecay(total_steps=64, warmup_steps=4, floor=0.1, shape="cosine"))


def loaders() -> tuple[DataLoader, DataLoader]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    return DataLoader(TensorDataset(x, y), batch_size=8), DataLoader(TensorDataset(x[:16], y[:16]), batch_size=8)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trainer", default="cpu")
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--max-steps", type=int, default=4)
    ap.add_argument("--ckpt-path", default=None)
    ap.add_argument("--corpus-cache", default=None)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--desync", action="store_true")
    ap.add_argument("--ema-decay", default="null")
    args = ap.parse_args()
    cfg = compose(
        "",
        None,
        [
            f"+trainer={args.trainer}",
            f"trainer.max_steps={args.max_steps}",
            "trainer.log_every_n_steps=1",
            f"trainer.ema_decay={args.ema_decay}",
        ],
    )
    seed_everything(0)
    model = Tiny(lr=args.lr, corpus_cache=args.corpus_cache, desync=args.desync)
    trainer = build_trainer(cfg.trainer, args.run_dir, config=cfg)
    train, valid = loaders()
    trainer.fit(model, train, valid, ckpt_path=resolve_resume(args.ckpt_path, args.run_dir), weights_only=True)
    checksum = float(sum(p.detach().double().sum() for p in model.parameters()))
    out = Path(args.run_dir) / f"rank{trainer.global_rank}.json"
    out.write_text(
        json.dumps(
            {
                "global_step": trainer.global_step,
                "checksum": checksum,
                "world_size": trainer.world_size,
                "parsed": len(PARSED),
                "steps_run": model.steps_run,
            }
        )
    )


if __name__ == "__main__":
    main()
