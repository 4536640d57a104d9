"""Shipped model sets (safetensors + card) by name, the Python pipeline, and the three modes it implements."""

import numpy as np
import pytest
import torch

from clipsonic.pipeline import ClipSonicPipeline, list_models, resolve_part
from gm_common.cli import compose
from gm_common.errors import CheckpointError, ConfigError


@pytest.fixture(scope="module")
def pipe(shipped):
    return ClipSonicPipeline.from_pretrained("tiny", root=shipped)


def test_shipped_models_load_by_name_and_match_the_training_checkpoints(world, shipped, pipe):
    from clipsonic.clip import load_clip
    from clipsonic.diffusion import load_diffusion

    assert list(list_models(shipped)) == ["tiny"]
    assert resolve_part("tiny", "diffusion", shipped) == shipped / "tiny" / "diffusion.safetensors"
    assert resolve_part(world.root, "prior", shipped) == world.root / "prior" / "checkpoints" / "last.ckpt"
    trained = load_diffusion(world.root / "diffusion" / "checkpoints" / "last.ckpt")
    for name, weight in trained.state_dict().items():  # fp16 export: equal to half precision
        assert torch.allclose(pipe.diffusion.state_dict()[name], weight, rtol=1e-3, atol=1e-3), name
    clip = load_clip({"checkpoint": str(world.root / "clip" / "clip.pt")})
    text = clip.embed_texts(["a red circle"])
    assert np.abs(pipe.clip.embed_texts(["a red circle"]) - text).max() < 1e-2


def test_pipeline_returns_audio_and_writes_nothing(pipe, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = pipe("a red circle", mode="pd", n=2, guidance=3, steps=3, seed=0)
    assert out.audio.shape == (2, 31 * 256) and out.log_mels.shape == (2, 32, 32) and out.sample_rate == 16000
    assert np.isfinite(out.audio).all() and np.abs(out.audio).max() > 0
    again = pipe("a red circle", mode="pd", n=2, guidance=3, steps=3, seed=0)
    assert np.array_equal(out.log_mels, again.log_mels)  # seeded
    assert not any(tmp_path.iterdir())


def test_modes_use_their_embeddings(pipe):
    """ZS conditions on the text embedding, IQ on the image embedding, PD on a prior sample (not the text)."""
    text = pipe.clip.embed_texts(["a red circle"])
    zs = pipe("a red circle", mode="zs", steps=2).conditions
    assert np.allclose(zs, text, atol=1e-6)
    image = np.zeros((32, 32, 3), np.uint8)
    image[8:24, 8:24] = (220, 40, 40)
    iq = pipe(mode="iq", image=image, steps=2).conditions
    assert np.allclose(iq, pipe.clip.embed_images(image[None]), atol=1e-6)
    pd = pipe("a red circle", mode="pd", steps=2).conditions
    assert np.abs(pd - text).max() > 0.1 and np.allclose(np.linalg.norm(pd, axis=1), 1, atol=1e-4)


def test_pd_keeps_the_most_text_like_prior_draw(pipe):
    """``prior_candidates=k``: the PD condition is the prior's ``candidates=k`` sample, the draw nearest the text."""
    text = pipe.clip.embed_texts(["a red circle"] * 2)
    pd = pipe("a red circle", mode="pd", n=2, steps=2, seed=3, prior_candidates=4).conditions
    expected = pipe.prior.sample(torch.from_numpy(text), generator=torch.Generator().manual_seed(3), candidates=4)
    assert np.allclose(pd, expected.numpy(), atol=1e-6)
    with pytest.raises(ConfigError, match="prior_candidates"):
        pipe("a red circle", mode="pd", steps=2, prior_candidates=0)


def test_guidance_changes_the_output(pipe):
    a, b = (pipe("a red circle", mode="zs", guidance=g, steps=3, seed=1).log_mels for g in (1.0, 5.0))
    assert np.array_equal(a, pipe("a red circle", mode="zs", guidance=1.0, steps=3, seed=1).log_mels)
    assert np.abs(a - b).mean() > 1e-3


def test_unknown_or_damaged_shipped_models(shipped, tmp_path, monkeypatch):
    from clipsonic.generate import run

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="unknown pretrained model 'nope'; shipped: tiny"):
        ClipSonicPipeline.from_pretrained("nope", root=shipped)
    damaged = tmp_path / "root"
    (damaged / "tiny").mkdir(parents=True)
    for f in (shipped / "tiny").iterdir():
        (damaged / "tiny" / f.name).write_bytes(f.read_bytes())
    blob = (damaged / "tiny" / "diffusion.safetensors").read_bytes()
    (damaged / "tiny" / "diffusion.safetensors").write_bytes(blob[: len(blob) // 2])
    out = tmp_path / "out"
    for root, err in ((shipped, ConfigError), (damaged, CheckpointError)):
        models = "nope" if err is ConfigError else "tiny"
        with pytest.raises(err):
            run(
                compose(
                    "clipsonic",
                    "generate",
                    ["prompt=a red circle", f"models={models}", f"pretrained_root={root}", f"out_dir={out}"],
                )
            )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


def test_generate_by_name_and_list_models(shipped, tmp_path, capsys):
    from clipsonic.generate import run

    assert run(compose("clipsonic", "generate", ["list_models=true", f"pretrained_root={shipped}"])) == []
    assert capsys.readouterr().out.split() == ["tiny", "tiny", "test", "models"]  # name, then the card's summary
    out = run(
        compose(
            "clipsonic",
            "generate",
            [
                "prompt=a red circle",
                "models=tiny",
                f"pretrained_root={shipped}",
                "vocoder=tiny",
                "steps=2",
                f"out_dir={tmp_path}",
            ],
        )
    )
    assert [p.name for p in out] == ["a_red_circle_pd_0.wav", "a_red_circle_pd_0.png"]  # pd: the default mode


def test_export_clip_rejects_other_files(world, tmp_path):
    from clipsonic.clip import export_clip

    with pytest.raises(CheckpointError, match="not a CLIP exported"):
        export_clip(world.root / "prior" / "checkpoints" / "last.ckpt", tmp_path / "clip.safetensors")
