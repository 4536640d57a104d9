"""A harmony model for adding a part: which pitch class a note takes against what the other parts sound meanwhile.

For a note, ``chroma`` (12,) holds the fraction of its span during which the other parts sound each pitch class. The
model scores each pitch class ``c`` the note could take by ``sum_s chroma[s] * weights[(c - s) % 12]``: twelve
weights, one per interval above a sounding pitch class (the same in every key), fit by maximum likelihood (a softmax
over the twelve classes) on every note of every part of a split's pieces against the other parts
(:func:`fit_harmony`). ``python -m mmt.harmony checkpoint=<run>`` fits it on a run's training split and writes
:data:`HARMONY_FILE` beside its checkpoints (``mmt.train`` does as a run of a part layout ends; a shipped model has
one beside its weights).

Why: the transformer draws all six fields of a note from one step, so its pitch is drawn blind to the onset and
duration drawn with it, and a small model places the chord only roughly. Adding a part, the sampler draws the
note's onset and duration first, then its pitch from the transformer's pitch logits plus ``scale`` times this score
(a product of the two models, :class:`HarmonyGuide`; ``SamplingConfig.harmony`` sets ``scale``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from gm_common.checkpoint import resolve_checkpoint
from gm_common.cli import entry_point
from gm_common.errors import CheckpointError, ConfigError
from gm_common.files import check_writable
from gm_common.pretrained import load_safetensors, save_safetensors
from mmt.data import recorded_split, split_file
from mmt.model import load_model
from mmt.parts_metrics import pitch_class_roll, tick_notes
from mmt.representation import Encoding

HARMONY_FILE = "harmony.safetensors"


def class_counts(others: np.ndarray, length: int) -> np.ndarray:
    """(length + 1, 12): at each tick, for how many of the ticks before it ``others`` ((time, duration, pitch) ticks)
    sound each pitch class; a span's count is the difference of its ends'."""
    counts = np.zeros((length + 1, 12), dtype=np.float32)
    counts[1:] = np.cumsum(pitch_class_roll(others, length), axis=0)
    return counts


def span_chroma(others: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(N, 12): for each span ``[start, end)`` (ticks), the fraction of it in which ``others`` sound each pitch
    class."""
    length = int(max(end.max(initial=0), 1))
    counts = class_counts(others, length)
    start, end = np.clip(start, 0, length), np.clip(end, 0, length)
    return (counts[end] - counts[start]) / np.maximum(end - start, 1)[:, None]


def part_chroma(notes: np.ndarray, encoding: Encoding) -> tuple[np.ndarray, np.ndarray]:
    """Every note of every part of one piece (encoded note rows) against the other parts: their ``span_chroma``
    (N, 12) and the notes' pitch classes (N,); notes during which no other part sounds are left out."""
    chroma, classes = [np.zeros((0, 12))], [np.zeros(0, dtype=np.int64)]
    for part in np.unique(notes[:, 4]):
        mine = tick_notes(notes[notes[:, 4] == part], encoding)
        others = tick_notes(notes[notes[:, 4] != part], encoding)
        c = span_chroma(others, mine[:, 0], mine[:, 0] + np.maximum(mine[:, 1], 1))
        heard = c.sum(axis=1) > 0
        chroma.append(c[heard])
        classes.append(mine[heard, 2] % 12)
    return np.concatenate(chroma), np.concatenate(classes)


def interval_matrix(weights: torch.Tensor) -> torch.Tensor:
    """(12, 12): row ``s`` holds the score each pitch class ``c`` gets from a sounding class ``s``,
    ``weights[(c - s) % 12]``."""
    index = (torch.arange(12)[None, :] - torch.arange(12)[:, None]) % 12
    return weights[index]


def fit_harmony(pieces: Iterable[np.ndarray], encoding: Encoding, steps: int = 100) -> tuple[torch.Tensor, int]:
    """The twelve interval weights fit on the notes of ``pieces`` (encoded note rows), and how many notes."""
    parts = [part_chroma(np.asarray(p).reshape(-1, 5), encoding) for p in pieces]
    chroma = torch.as_tensor(np.concatenate([c for c, _ in parts] + [np.zeros((0, 12))]), dtype=torch.float32)
    classes = torch.as_tensor(np.concatenate([k for _, k in parts] + [np.zeros(0, dtype=np.int64)]))
    if not len(classes):
        raise ConfigError("fitting the harmony model needs pieces of two or more parts that sound together")
    weights = torch.zeros(12, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights], max_iter=steps, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(chroma @ interval_matrix(weights), classes)
        value.backward()
        return value

    optimizer.step(loss)
    return weights.detach(), len(classes)


def save_harmony(path: str | Path, weights: torch.Tensor, notes: int, split: str) -> Path:
    """Write the weights (and what they were fit on) as a safetensors file, atomically."""
    return save_safetensors(path, {"weights": weights}, {"notes": notes, "split": split}, half=False)


def load_harmony(path: str | Path) -> torch.Tensor:
    """The twelve weights of a :data:`HARMONY_FILE`; a CheckpointError when damaged."""
    weights = load_safetensors(path)["state_dict"].get("weights")
    if weights is None or weights.shape != (12,):
        raise CheckpointError(f"{path}: not a harmony model (expected 12 weights under 'weights')")
    return weights


class HarmonyGuide:
    """The harmony score of every pitch code for notes drawn in one window: the other parts' pitch classes per tick
    (the window's notes, encoded rows) and the weights times ``scale``."""

    def __init__(self, others: np.ndarray, weights: torch.Tensor, scale: float, encoding: Encoding, device=None):
        self.length, self.resolution = (encoding.max_beat + 1) * encoding.resolution, encoding.resolution
        self.counts = torch.as_tensor(class_counts(tick_notes(others, encoding), self.length), device=device)
        self.durations = torch.as_tensor(np.concatenate([[0], encoding.duration_values]), device=device)
        by_class = interval_matrix(weights.float()) * float(scale)  # (sounding class, class of the note)
        self.scores = by_class[:, (torch.arange(129) - 1) % 12].to(device)  # (12, pitch codes: pitch + 1)

    def bias(self, beat: torch.Tensor, position: torch.Tensor, duration: torch.Tensor) -> torch.Tensor:
        """(B, 129): the score of each pitch code for notes of the given codes (B,) of beat, position, duration."""
        start = ((beat - 1) * self.resolution + position - 1).clamp(0, self.length)
        end = (start + self.durations[duration].clamp(min=1)).clamp(max=self.length)
        chroma = (self.counts[end] - self.counts[start]) / (end - start).clamp(min=1)[:, None]
        return chroma @ self.scores


def run(cfg: DictConfig) -> Path:
    """Fit on the pieces of the checkpoint's recorded split and write :data:`HARMONY_FILE` beside its split.json."""
    path = resolve_checkpoint(cfg.checkpoint)
    _, encoding, hp = load_model(path)
    recorded = split_file(path)
    if recorded is None:
        raise ConfigError(f"{path}: no split.json beside it; the harmony model is fit on the pieces the model "
                          "was trained on, which a run's split.json names")  # fmt: skip
    out = check_writable(recorded.parent / HARMONY_FILE, bool(cfg.overwrite))
    pieces = recorded_split(hp.get("data") or {}, encoding, str(cfg.split), path)
    weights, notes = fit_harmony(pieces.values(), encoding)
    save_harmony(out, weights, notes, str(cfg.split))
    print(json.dumps({"file": str(out), "notes": notes, "weights": [round(float(w), 3) for w in weights]}))
    return out


main = entry_point("mmt", "harmony")(run)

if __name__ == "__main__":
    main()
