import numpy as np
import pytest
import torch

from clipsonic.clip import build_clip_model, load_clip, save_clip
from gm_common.errors import CheckpointError, ConfigError

KW = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def test_save_and_reload_same_embeddings(tmp_path):
    torch.manual_seed(0)
    model = build_clip_model("ViT-B-32", KW)
    path = save_clip(tmp_path / "clip.pt", model, "ViT-B-32", KW)
    a = load_clip({"name": "ViT-B-32", "model_kwargs": KW, "checkpoint": str(path)})
    torch.load(path, weights_only=True)  # plain types only
    img = np.random.default_rng(0).integers(0, 255, (2, 40, 40, 3), dtype=np.uint8)
    e1 = a.embed_images(img)
    assert e1.shape == (2, 16) and np.allclose(np.linalg.norm(e1, axis=1), 1, atol=1e-5)
    assert a.embed_dim == 16
    # a "pretrained" open_clip checkpoint: a raw state dict for the architecture named in the config
    raw = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(model.state_dict(), raw)
    b = load_clip({"name": "ViT-B-32", "model_kwargs": KW, "checkpoint": str(raw)})
    assert np.allclose(b.embed_images(img), e1, atol=1e-5)
    assert np.allclose(b.embed_texts(["a red circle"]), a.embed_texts(["a red circle"]), atol=1e-5)


def test_bad_clip_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_clip({"name": "ViT-B-32", "model_kwargs": KW, "checkpoint": str(tmp_path / "none.pt")})
    raw = tmp_path / "other.bin"
    torch.save(build_clip_model("ViT-B-32", {**KW, "embed_dim": 8}).state_dict(), raw)
    with pytest.raises(CheckpointError, match="does not match"):
        load_clip({"name": "ViT-B-32", "model_kwargs": KW, "checkpoint": str(raw)})
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        load_clip({"name": "ViT-B-32", "model_kwargs": KW, "checkpoint": str(junk)})


def test_empty_prompt_is_rejected(tmp_path):
    model = build_clip_model("ViT-B-32", KW)
    path = save_clip(tmp_path / "clip.pt", model, "ViT-B-32", KW)
    clip = load_clip({"name": "ViT-B-32", "model_kwargs": KW, "checkpoint": str(path)})
    with pytest.raises(ConfigError, match="empty"):
        clip.embed_texts(["  "])


def test_exported_clip_loads_from_safetensors(tmp_path):
    from clipsonic.clip import export_clip

    torch.manual_seed(0)
    model = build_clip_model("ViT-B-32", KW)
    path = save_clip(tmp_path / "clip.pt", model, "ViT-B-32", KW)
    shipped = export_clip(path, tmp_path / "clip.safetensors", half=False)
    a = load_clip({"checkpoint": str(path)})
    b = load_clip({"checkpoint": str(shipped)})  # name and model kwargs come from the file
    assert np.allclose(a.embed_texts(["a red circle"]), b.embed_texts(["a red circle"]), atol=1e-6)
    shipped.write_bytes(shipped.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="damaged"):
        load_clip({"checkpoint": str(shipped)})
