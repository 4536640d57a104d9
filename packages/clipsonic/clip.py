"""CLIP: the interface clipsonic embeds images and texts through (:class:`Clip`), an open_clip model behind it
(built offline, loaded from a local checkpoint), and contrastive training of a small one on an image-caption set
(``python -m clipsonic.train_clip``). A transformers CLIP is in :mod:`clipsonic.hf_clip`."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from gm_common.checkpoint import load_checkpoint
from gm_common.errors import CheckpointError, ConfigError
from gm_common.files import atomic_path
from gm_common.schedules import WarmupDecay, per_step

FORMAT = "clipsonic-clip-v1"
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def _plain(obj: Any) -> Any:
    if isinstance(obj, DictConfig):
        return OmegaConf.to_container(obj, resolve=True)
    return obj


def build_clip_model(name: str, model_kwargs: dict | None = None) -> torch.nn.Module:
    """A randomly initialised open_clip model (offline); ``model_kwargs`` override its config (small CLIPs)."""
    import open_clip

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # open_clip logs a "no pretrained weights" notice on the root logger
    try:
        return open_clip.create_model(name, pretrained=None, **(_plain(model_kwargs) or {}))
    except RuntimeError as err:
        raise ConfigError(f"cannot build open_clip model {name!r}: {err}") from err
    finally:
        root.setLevel(level)


class Clip(ABC):
    """A CLIP model behind the one interface the rest of clipsonic uses: uint8 images and texts in, unit
    embeddings out (NumPy), computed on the model's device. :class:`OpenClip` feeds an open_clip model,
    :class:`clipsonic.hf_clip.HFClip` a transformers ``CLIPModel``."""

    model: torch.nn.Module
    source: Path | None  # the file or folder it was loaded from (its cache key); None for a model in training

    @property
    @abstractmethod
    def embed_dim(self) -> int:
        """The size of the (shared) embedding space."""

    @abstractmethod
    def image_features(self, images: np.ndarray) -> torch.Tensor:
        """Unnormalised image embeddings [N, D] of uint8 images [N, H, W, 3], on the model's device."""

    @abstractmethod
    def text_features(self, texts: list[str]) -> torch.Tensor:
        """Unnormalised text embeddings [N, D], on the model's device."""

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return next(self.model.parameters()).device

    def to(self, device: torch.device) -> Clip:
        """Move the model to ``device``; returns self."""
        self.model.to(device)
        return self

    @torch.no_grad()
    def embed_images(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """L2-normalised image embeddings [N, D] of uint8 images [N, H, W, 3]."""
        out = [
            F.normalize(self.image_features(images[i : i + batch_size]).float(), dim=-1).cpu()
            for i in range(0, len(images), batch_size)
        ]
        return torch.cat(out).numpy()

    @torch.no_grad()
    def embed_texts(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """L2-normalised text embeddings [N, D]; a :class:`ConfigError` for an empty text."""
        for t in texts:
            if not isinstance(t, str) or not t.strip():
                raise ConfigError('empty text prompt: give a non-empty description, e.g. "a red circle"')
        out = [
            F.normalize(self.text_features(texts[i : i + batch_size]).float(), dim=-1).cpu()
            for i in range(0, len(texts), batch_size)
        ]
        return torch.cat(out).numpy()


@dataclass
class OpenClip(Clip):
    """An open_clip model with what is needed to feed it (image size, normalisation, tokenizer)."""

    model: torch.nn.Module
    name: str
    model_kwargs: dict
    source: Path | None = None

    def __post_init__(self) -> None:
        import open_clip

        self.model.eval()
        pp = getattr(self.model.visual, "preprocess_cfg", {}) or {}
        size = pp.get("size", getattr(self.model.visual, "image_size", 224))
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.mean = torch.tensor(pp.get("mean", OPENAI_MEAN)).view(1, 3, 1, 1)
        self.std = torch.tensor(pp.get("std", OPENAI_STD)).view(1, 3, 1, 1)
        self.context_length = int(getattr(self.model, "context_length", 77))
        self.tokenizer = open_clip.get_tokenizer(self.name, context_length=self.context_length)

    @property
    def embed_dim(self) -> int:
        """The size of the (shared) embedding space."""
        return (
            int(self.model.text_projection.shape[1])
            if hasattr(self.model, "text_projection") and self.model.text_projection is not None
            else int(self.embed_texts(["x"]).shape[1])
        )

    def preprocess(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 [N, H, W, 3] -> normalised float [N, 3, S, S] (bicubic resize)."""
        x = torch.as_tensor(np.asarray(images)).float().div(255.0).permute(0, 3, 1, 2)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False).clamp(
                0, 1
            )
        return (x - self.mean) / self.std

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """Token ids [N, context_length]."""
        return self.tokenizer(list(texts))

    def image_features(self, images: np.ndarray) -> torch.Tensor:
        """open_clip's image embeddings [N, D] (unnormalised)."""
        return self.model.encode_image(self.preprocess(images).to(self.device))

    def text_features(self, texts: list[str]) -> torch.Tensor:
        """open_clip's text embeddings [N, D] (unnormalised)."""
        return self.model.encode_text(self.tokenize(texts).to(self.device))


def save_clip(path: str | Path, model: torch.nn.Module, name: str, model_kwargs: dict | None) -> Path:
    """Export weights + how to rebuild the model (plain types only: loads with weights_only=True)."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "name": name,
        "model_kwargs": _plain(model_kwargs) or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_clip(cfg: DictConfig | dict) -> Clip:
    """The CLIP a ``clip/*.yaml`` config names.

    ``library: transformers`` (``clip=hf``): a local transformers folder ``path`` (:mod:`clipsonic.hf_clip`).
    Otherwise open_clip (``name``, ``model_kwargs``, ``checkpoint``; the layout of configs and model
    hyper-parameters written before the key existed): ``checkpoint`` is a file written by :func:`save_clip` /
    ``train_clip``, a shipped ``clip.safetensors`` (:func:`export_clip`), or a real pretrained open_clip checkpoint
    (a state dict, e.g. ``open_clip_pytorch_model.bin``) for the architecture ``name``.
    """
    cfg = _plain(cfg)
    if cfg.get("library") == "transformers":
        from clipsonic.hf_clip import load_hf_clip

        return load_hf_clip(cfg["path"])
    path = cfg.get("checkpoint")
    if not path:
        raise CheckpointError(
            "no CLIP checkpoint given (clip.checkpoint=...); train one with python -m clipsonic.train_clip"
        )
    ckpt = load_checkpoint(path)
    if isinstance(ckpt, dict) and ckpt.get("format") == FORMAT:
        name, kwargs, state = ckpt["name"], ckpt["model_kwargs"], ckpt["state_dict"]
    elif str(path).endswith(".safetensors"):
        hp = ckpt["hyper_parameters"]
        if "name" not in hp or "model_kwargs" not in hp:
            raise CheckpointError(f"{path} is not a clipsonic CLIP file (its metadata has no name, model_kwargs)")
        name, kwargs, state = hp["name"], hp["model_kwargs"], ckpt["state_dict"]
    else:
        name, kwargs = cfg["name"], cfg.get("model_kwargs") or {}
        state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise CheckpointError(f"{path} does not hold an open_clip state dict")
        state = {k.removeprefix("module."): v for k, v in state.items()}
    model = build_clip_model(name, kwargs)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"CLIP checkpoint {path} does not match open_clip model {name!r} {kwargs or ''}: {str(err)[:300]}"
        ) from err
    return OpenClip(model, name, kwargs, Path(path))


def export_clip(clip_pt: str | Path, out: str | Path, half: bool = True) -> Path:
    """Ship a CLIP that ``train_clip`` exported (``clip/clip.pt``) as ``clip.safetensors``: its weights, and
    its open_clip name and model kwargs as the hyper-parameters."""
    from gm_common.pretrained import save_safetensors

    ckpt = load_checkpoint(clip_pt)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{clip_pt} is not a CLIP exported by python -m clipsonic.train_clip")
    return save_safetensors(out, ckpt["state_dict"], {"name": ckpt["name"], "model_kwargs": ckpt["model_kwargs"]}, half)


class ClipModule(L.LightningModule):
    """Contrastive (InfoNCE both ways) training of an open_clip model on image-caption pairs.

    ``learn_logit_scale=false`` keeps the logit scale at its initial value (``model_kwargs.init_logit_scale``;
    the tiny config uses ln 100, where a pretrained CLIP's learned scale ends): at that low temperature the
    text and image embeddings stay in separate regions (the "modality gap", Liang et al. 2022), as in a real
    CLIP, instead of the gap closing as it does when a small model on easy data lowers the scale."""

    def __init__(
        self,
        name: str,
        model_kwargs: dict,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        warmup_steps: int = 50,
        learn_logit_scale: bool = True,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.model = build_clip_model(name, model_kwargs)
        self.model.logit_scale.requires_grad_(bool(learn_logit_scale))
        self.clip = OpenClip(self.model, name, model_kwargs)
        self.model.train()

    def _step(self, batch: tuple[torch.Tensor, list[str]]) -> torch.Tensor:
        images, captions = batch
        x = self.clip.preprocess(images.cpu().numpy()).to(self.device)
        tokens = self.clip.tokenize(list(captions)).to(self.device)
        img = F.normalize(self.model.encode_image(x), dim=-1)
        txt = F.normalize(self.model.encode_text(tokens), dim=-1)
        logits = self.model.logit_scale.exp().clamp(max=100) * img @ txt.T
        # captions of the same concept are not negatives of each other when identical strings
        same = torch.tensor([[a == b for b in captions] for a in captions], device=self.device, dtype=torch.float32)
        target = same / same.sum(1, keepdim=True)
        return 0.5 * (
            torch.sum(-target * logits.log_softmax(1), 1).mean()
            + torch.sum(-target * logits.T.log_softmax(1), 1).mean()
        )

    def training_step(self, batch, _):
        """Symmetric InfoNCE on a batch of (images, captions)."""
        loss = self._step(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch[1]))
        return loss

    def validation_step(self, batch, _):
        """The same loss on held-out pairs."""
        self.log("val/loss", self._step(batch), prog_bar=True, batch_size=len(batch[1]), sync_dist=True)

    def configure_optimizers(self):
        """AdamW, linear warm-up then a constant learning rate."""
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        return per_step(
            opt, WarmupDecay(total_steps=1, warmup_steps=max(1, self.hparams.warmup_steps), shape="constant")
        )
