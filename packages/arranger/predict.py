"""A trained arranger (learned net or baseline) loaded from a weights-only checkpoint, predicting a part for
every note of a full-length piece (no truncation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from arranger.baselines import BASELINES, Baseline
from arranger.features import collate, make_features
from arranger.models import build_net
from gm_common.checkpoint import load_checkpoint, load_weights
from gm_common.errors import CheckpointError

HINT_FLAGS = ("use_entry", "use_pitch_hint")


def net_prefix(state_dict: dict) -> str:
    """Where a training checkpoint keeps the weights to use: the moving average when it has one."""
    return "ema_net.module." if any(k.startswith("ema_net.module.") for k in state_dict) else "net."


class Arranger:
    def __init__(self, model_cfg: dict, dataset: dict, net: torch.nn.Module | None = None, baseline: Baseline | None = None):
        self.model_cfg, self.dataset = dict(model_cfg), dict(dataset)
        self.kind = self.model_cfg["kind"]
        self.name = self.model_cfg.get("name", self.kind)
        self.n_parts = len(self.dataset["labels"])
        self.net, self.baseline = net, baseline
        if self.net is not None:
            self.net.eval()

    @property
    def needs_hints(self) -> bool:
        if self.baseline is not None:
            return self.kind not in ("most_common", "zone")
        return any(self.model_cfg.get(f) for f in HINT_FLAGS)

    @property
    def online(self) -> bool:
        return self.kind in ("lstm", "transformer_dec", "mlp", "most_common", "zone", "closest_pitch", "closest_pitch_mono")

    @classmethod
    def from_checkpoint(cls, path: str | Path, expect_dataset: str | None = None) -> "Arranger":
        ckpt = load_checkpoint(path)
        hp = ckpt.get("hyper_parameters") or {}
        if "model" not in hp or "dataset" not in hp:
            raise CheckpointError(f"{path}: not an arranger checkpoint (no model/dataset hyper-parameters)")
        dataset = hp["dataset"]
        if expect_dataset is not None and dataset["name"] != expect_dataset:
            raise CheckpointError(
                f"{path}: checkpoint was trained on dataset {dataset['name']!r} ({', '.join(dataset['labels'])}), "
                f"not {expect_dataset!r}"
            )
        model_cfg = hp["model"]
        if model_cfg["kind"] in BASELINES:
            return cls(model_cfg, dataset, baseline=Baseline(model_cfg["kind"], len(dataset["labels"]), ckpt["baseline_state"]))
        net = build_net(model_cfg, len(dataset["labels"]))
        load_weights(net, ckpt["state_dict"], path, prefix=net_prefix(ckpt["state_dict"]))
        return cls(model_cfg, dataset, net=net)

    @torch.inference_mode()
    def logits(self, notes: np.ndarray, hint_labels: np.ndarray | None = None) -> np.ndarray:
        feats = make_features(np.asarray(notes)[:, :3], self.n_parts, hints_from=hint_labels)
        batch = collate([feats])
        return self.net(batch)[0].float().numpy()

    def predict(self, notes: np.ndarray, hint_labels: np.ndarray | None = None) -> np.ndarray:
        """Part index of each note; notes (N, >=3) columns time, pitch, duration, sorted by time.
        ``hint_labels`` (the true or given parts) feed entry/pitch hints and hint-based baselines."""
        notes = np.asarray(notes, np.int64)
        if len(notes) == 0:
            return np.zeros(0, np.int64)
        if self.needs_hints and hint_labels is None:
            raise ValueError(f"model {self.name} needs part hints: give the input's parts as tracks")
        if self.baseline is not None:
            return self.baseline.predict(notes[:, :3], hint_labels)
        return self.logits(notes, hint_labels).argmax(-1).astype(np.int64)
