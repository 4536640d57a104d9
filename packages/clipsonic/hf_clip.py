"""A pretrained CLIP saved by Hugging Face ``transformers`` in a local folder, behind :class:`clipsonic.clip.Clip`:
``CLIPModel`` with its ``CLIPProcessor`` (or ``CLIPTokenizer`` and ``CLIPImageProcessor`` files), as
``save_pretrained`` writes them or a Hub snapshot holds them (``clip=hf clip.path=/models/clip-vit-base-patch32``).
Nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from clipsonic.clip import Clip
from gm_common.errors import CheckpointError


class HFClip(Clip):
    """A transformers ``CLIPModel`` and its processor (tokenizer, image resize / crop / normalisation)."""

    def __init__(self, model: torch.nn.Module, processor, source: Path):
        self.model, self.processor, self.source = model.eval(), processor, source
        self.max_length = int(model.config.text_config.max_position_embeddings)

    @property
    def embed_dim(self) -> int:
        """The size of the (shared) embedding space: the model's projection size."""
        return int(self.model.config.projection_dim)

    # The towers and projections are called directly: get_*_features returns a tensor in transformers 4 and an
    # output object in transformers 5.
    def image_features(self, images: np.ndarray) -> torch.Tensor:
        """The projected image embeddings [N, D] (unnormalised) of uint8 images [N, H, W, 3]."""
        pixels = self.processor.image_processor(
            images=list(images), input_data_format="channels_last", return_tensors="pt"
        )["pixel_values"]
        pooled = self.model.vision_model(pixel_values=pixels.to(self.device)).pooler_output
        return self.model.visual_projection(pooled)

    def text_features(self, texts: list[str]) -> torch.Tensor:
        """The projected text embeddings [N, D] (unnormalised); texts longer than the model's context are cut."""
        tokens = self.processor.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        pooled = self.model.text_model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
        return self.model.text_projection(pooled.pooler_output)


def load_hf_clip(path: str | Path) -> HFClip:
    """The ``CLIPModel`` and ``CLIPProcessor`` saved in the folder ``path`` (local files only)."""
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise CheckpointError(
            f"{folder} is not a transformers CLIP folder (no config.json): give the folder that "
            "CLIPModel.save_pretrained wrote, or a downloaded snapshot of e.g. openai/clip-vit-base-patch32"
        )
    from transformers import CLIPModel, CLIPProcessor

    try:
        model = CLIPModel.from_pretrained(folder, local_files_only=True)
        processor = CLIPProcessor.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"cannot load a transformers CLIP from {folder}: {str(err)[:300]}") from err
    return HFClip(model, processor, folder)
