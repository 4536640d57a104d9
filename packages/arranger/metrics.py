"""Metrics over pieces: note accuracy (the paper's) with a 95 % interval over test pieces, balanced accuracy
(mean per-part recall over the parts present), soundness and completeness, and the confusion matrix.

Soundness / completeness (pairwise, per piece, pooled over pieces): of the note pairs that the model puts
in the same part, the fraction that share a true part (soundness); of the note pairs that share a true
part, the fraction the model puts in the same part (completeness). Label permutations do not change them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def confusion(true: np.ndarray, pred: np.ndarray, n_parts: int) -> np.ndarray:
    """(n_parts, n_parts) counts: rows true parts, columns predicted parts."""
    cm = np.zeros((n_parts, n_parts), np.int64)
    np.add.at(cm, (np.asarray(true), np.asarray(pred)), 1)
    return cm


def _pairs(x: np.ndarray) -> float:
    x = x.astype(np.float64)
    return float((x * (x - 1) / 2).sum())


RESAMPLES = 2000  # bootstrap draws of piece_interval


def piece_interval(correct: np.ndarray, notes: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> list[float]:
    """95 % bootstrap interval of the pooled accuracy sum(correct) / sum(notes), resampling whole pieces (the
    notes of a piece are not independent draws, so a note-level interval would be far too narrow)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(notes), (resamples, len(notes)))
    accuracy = correct[picks].sum(1) / np.maximum(notes[picks].sum(1), 1)
    return [float(q) for q in np.quantile(accuracy, [0.025, 0.975])]


def evaluate_pieces(trues: list[np.ndarray], preds: list[np.ndarray], n_parts: int) -> dict:
    """Accuracy, balanced accuracy, soundness, completeness and confusion matrix pooled over pieces."""
    total = np.zeros((n_parts, n_parts), np.int64)
    same_both = same_pred = same_true = 0.0
    correct, notes = [], []  # per piece, for the interval
    for t, p in zip(trues, preds):
        cm = confusion(t, p, n_parts)
        total += cm
        correct.append(np.trace(cm))
        notes.append(cm.sum())
        same_both += _pairs(cm)
        same_pred += _pairs(cm.sum(0))
        same_true += _pairs(cm.sum(1))
    n = total.sum()
    support = total.sum(1)
    recalls = np.diag(total)[support > 0] / support[support > 0]
    return {
        "notes": int(n),
        "pieces": len(trues),
        "accuracy": float(np.trace(total) / n) if n else float("nan"),
        "accuracy_ci95": piece_interval(np.array(correct), np.array(notes)) if n else None,
        "balanced_accuracy": float(recalls.mean()) if len(recalls) else float("nan"),
        "soundness": same_both / same_pred if same_pred else float("nan"),
        "completeness": same_both / same_true if same_true else float("nan"),
        "confusion": total.tolist(),
    }


def plot_confusion(
    cm: np.ndarray, labels: list[str], path: str | Path, title: str = "", overwrite: bool = True
) -> Path:
    """Draw a confusion matrix (rows: true parts, normalised per row, with counts) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gm_common.plots import save_figure

    cm = np.asarray(cm, np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}\n({int(cm[i, j])})",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted part")
    ax.set_ylabel("true part")
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return save_figure(fig, path, overwrite=overwrite)
