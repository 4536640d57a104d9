"""Evaluation networks and distances that work offline: an audio classifier ("judge") trained on the set's
real audio (its penultimate features give a Frechet audio distance; a projection head aligned with CLIP text
embeddings of the class names gives a CLAP-style text-audio score), and the Frechet distance over SciPy."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from gm_common.checkpoint import load_checkpoint
from gm_common.files import atomic_path


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to embeddings ``a`` [N, D] and ``b`` [M, D]."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # few samples -> singular covariances; the estimate is still defined
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eps = np.eye(s1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


class AudioJudge(nn.Module):
    """A small CNN over log-mels: class logits, a feature vector (FAD) and a CLIP-space projection."""

    def __init__(self, n_classes: int, clip_dim: int, feat_dim: int = 64, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.hp = {"n_classes": n_classes, "clip_dim": clip_dim, "feat_dim": feat_dim, "mean": mean, "std": std}
        ch = [1, 16, 32, 64]
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [nn.Conv2d(ch[i], ch[i + 1], 3, padding=1), nn.BatchNorm2d(ch[i + 1]), nn.ReLU(), nn.MaxPool2d(2)]
        self.conv = nn.Sequential(*layers)
        self.feat = nn.Linear(ch[-1] * 2, feat_dim)
        self.cls = nn.Linear(feat_dim, n_classes)
        self.proj = nn.Linear(feat_dim, clip_dim)

    def features(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Penultimate features [B, feat_dim] of log-mels [B, n_mels, T] (the FAD embedding)."""
        x = (log_mel.unsqueeze(1) - self.hp["mean"]) / self.hp["std"]
        h = self.conv(x)
        h = torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)
        return F.relu(self.feat(h))

    def forward(self, log_mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(class logits, features, unit CLIP-space projection)."""
        f = self.features(log_mel)
        return self.cls(f), f, F.normalize(self.proj(f), dim=-1)


def train_judge(
    mels: np.ndarray, labels: np.ndarray, class_text: np.ndarray, steps: int = 600, seed: int = 0, log=print
) -> AudioJudge:
    """Train on real log-mels [N, n_mels, T] with labels; ``class_text`` [C, D] are CLIP text embeddings of
    the class names (the projection head is trained contrastively towards them)."""
    torch.manual_seed(seed)
    judge = AudioJudge(
        int(class_text.shape[0]), int(class_text.shape[1]), mean=float(mels.mean()), std=float(mels.std())
    )
    x, y = torch.from_numpy(mels).float(), torch.from_numpy(labels).long()
    txt = torch.from_numpy(class_text).float()
    opt = torch.optim.AdamW(judge.parameters(), lr=2e-3, weight_decay=1e-4)
    judge.train()
    for step in range(steps):
        idx = torch.randint(len(x), (64,))
        xb = x[idx]
        # augmentation: random gain and a little noise, so vocoded/generated audio is judged fairly
        xb = xb + torch.empty(len(idx), 1, 1).uniform_(-1.0, 1.0) + 0.3 * torch.randn_like(xb)
        logits, _, z = judge(xb)
        loss = F.cross_entropy(logits, y[idx]) + F.cross_entropy(z @ txt.T / 0.07, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 200 == 0:
            log(f"judge step {step + 1}/{steps}: loss {loss.item():.3f}")
    return judge.eval()


def save_judge(judge: AudioJudge, path: Path, key: str) -> None:
    """Save a trained judge with the ``key`` of the data it was trained on (atomically)."""
    with atomic_path(path) as tmp:
        torch.save({"hparams": judge.hp, "key": key, "state_dict": judge.state_dict()}, tmp)


def load_judge(path: Path, key: str) -> AudioJudge | None:
    """The judge saved in ``path`` if it was trained on the data ``key`` names, else None (train a new one)."""
    if not Path(path).is_file():
        return None
    ck = load_checkpoint(path)
    if ck.get("key") != key:
        return None
    judge = AudioJudge(**ck["hparams"])
    judge.load_state_dict(ck["state_dict"])
    return judge.eval()


@torch.no_grad()
def judge_audio(judge: AudioJudge, mels: np.ndarray) -> dict[str, np.ndarray]:
    """Predicted classes, class probabilities, features and CLIP-space projections of log-mels [N, n_mels, T]."""
    logits, feats, z = judge(torch.from_numpy(np.asarray(mels)).float())
    return {"pred": logits.argmax(1).numpy(), "prob": logits.softmax(1).numpy(), "feat": feats.numpy(), "z": z.numpy()}
