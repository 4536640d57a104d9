"""A CLIP saved by Hugging Face transformers (``clip=hf clip.path=<folder>``): a tiny random ``CLIPModel`` with a
tokenizer built offline from a character vocabulary, saved with ``save_pretrained``."""

import json
import string
from pathlib import Path

import numpy as np
import pytest
import torch

from clipsonic.clip import load_clip
from gm_common.cli import compose
from gm_common.errors import CheckpointError

EMBED_DIM = 16


def save_tiny_hf_clip(folder: Path, processor_files: bool = True) -> Path:
    """A random tiny CLIPModel and its processor in ``folder``: one processor file (``processor_files``), or the
    tokenizer and the image processor each saved on its own (the layout of a Hub snapshot)."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    letters = string.ascii_lowercase
    tokens = [*letters, *(c + "</w>" for c in letters), "<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")  # no merges: one token per letter
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    ids = {"bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"]}
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=16, pad_token_id=ids["eos_token_id"], **ids),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=EMBED_DIM,
    )  # fmt: skip
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    if processor_files:
        CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    else:
        tokenizer.save_pretrained(folder)
        images.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def hf_clip(tmp_path_factory) -> Path:
    return save_tiny_hf_clip(tmp_path_factory.mktemp("hf") / "tiny-clip")


def test_embeddings_are_the_models_own(hf_clip, tmp_path):
    """The Clip interface gives what CLIPModel's forward gives (its normalised text_embeds and image_embeds)."""
    from transformers import CLIPModel, CLIPProcessor

    clip = load_clip({"library": "transformers", "path": str(hf_clip)})
    assert clip.embed_dim == EMBED_DIM and clip.source == hf_clip
    texts = ["a red circle", "dog barking"]
    images = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    text, image = clip.embed_texts(texts), clip.embed_images(images)
    model, processor = CLIPModel.from_pretrained(hf_clip), CLIPProcessor.from_pretrained(hf_clip)
    inputs = processor(text=texts, images=list(images), padding=True, return_tensors="pt")
    with torch.no_grad():
        ref = model(**inputs)
    assert np.allclose(text, ref.text_embeds.numpy(), atol=1e-5)
    assert np.allclose(image, ref.image_embeds.numpy(), atol=1e-5)
    assert np.abs(text[0] - text[1]).max() > 1e-3  # the texts are read, not ignored
    split = load_clip({"library": "transformers", "path": str(save_tiny_hf_clip(tmp_path / "split", False))})
    assert np.allclose(split.embed_texts(texts), text, atol=1e-6)
    assert np.allclose(split.embed_images(images), image, atol=1e-6)


def test_folders_that_are_not_a_clip(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        load_clip({"library": "transformers", "path": str(tmp_path / "missing")})
    model_only = save_tiny_hf_clip(tmp_path / "model_only")
    for name in ("processor_config.json", "tokenizer.json", "tokenizer_config.json"):
        (model_only / name).unlink()
    with pytest.raises(CheckpointError, match="cannot load a transformers CLIP"):
        load_clip({"library": "transformers", "path": str(model_only)})


def test_train_and_generate_through_the_config(world, hf_clip, tmp_path):
    """``clip=hf clip.path=...``: the diffusion model trains on the transformers CLIP's frame embeddings, and
    generation conditions on its text embedding (a prior trained with another CLIP is refused)."""
    from clipsonic import generate, train
    from clipsonic.pipeline import ClipSonicPipeline

    hf = ["clip=hf", f"clip.path={hf_clip}"]
    run_dir = tmp_path / "diffusion"
    overrides = [o for o in world.train_overrides() if not o.startswith("clip.")]
    trainer = train.run(compose("clipsonic", "train", [*overrides, *hf, f"run_dir={run_dir}"]))
    assert trainer.global_step == 2
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    hp = torch.load(ckpt, weights_only=True)["hyper_parameters"]
    assert hp["cond_dim"] == EMBED_DIM and hp["clip"] == {"library": "transformers", "path": str(hf_clip)}
    gen = [*world.gen_overrides(f"diffusion_ckpt={ckpt}", f"out_dir={tmp_path / 'out'}"), *hf]
    written = generate.run(compose("clipsonic", "generate", [*gen, "prompt=a red circle", "mode=zs"]))
    assert [p.name for p in written] == ["a_red_circle_zs_0.wav", "a_red_circle_zs_0.png"]
    with pytest.raises(CheckpointError, match=f"CLIP embedding size {EMBED_DIM} does not match the prior"):
        generate.run(compose("clipsonic", "generate", [*gen, "prompt=a red circle", "mode=pd"]))
    clip_cfg = {"library": "transformers", "path": str(hf_clip)}
    pipe = ClipSonicPipeline.from_pretrained(world.root, clip=clip_cfg, diffusion=ckpt, with_prior=False)
    out = pipe("a red circle", "zs", steps=2)
    assert np.allclose(out.conditions[0], load_clip(clip_cfg).embed_texts(["a red circle"])[0], atol=1e-6)
