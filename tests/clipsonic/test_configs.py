"""Every clipsonic config composes, and every ``_target_`` in it instantiates (as lightning-hydra-template's
test_configs.py): the data modules of each training config and each data option, the models at their size."""

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from clipsonic.clip import build_clip_model
from gm_common.cli import compose, config_dir

PRIMARY = sorted(p.stem for p in config_dir("clipsonic").glob("*.yaml"))
MEL = {"sample_rate": 16000, "n_fft": 1024, "hop_length": 256, "n_mels": 64, "frames": 64}
SIZES = {
    "train": dict(mel=MEL, stats={"lo": -11.5, "hi": 2.0}, cond_dim=64),
    "train_prior": dict(dim=64),
    "train_vocoder": dict(mel=MEL, mean=-5.0, std=2.0),
    "train_clip": {},
}
OVERRIDES = {"evaluate": ["models=x"], "generate": ["models=x"]}


def test_every_entry_point_has_a_config():
    assert PRIMARY == [
        "demo",
        "evaluate",
        "generate",
        "synthesize",
        "synthesize_everyday",
        "train",
        "train_clip",
        "train_prior",
        "train_vocoder",
    ]


@pytest.mark.parametrize("name", PRIMARY)
def test_primary_config_composes_and_instantiates(name, tmp_path):
    cfg = compose("clipsonic", name, [f"root={tmp_path}", *OVERRIDES.get(name, [])])
    OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    if "data" in cfg:
        data = instantiate(cfg.data)
        assert data.batch_size == cfg.data.batch_size and not any(tmp_path.iterdir())  # nothing read or written yet
    if name in SIZES:
        model = instantiate(cfg.model, **SIZES[name], _convert_="all")
        assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("option", ["tiny", "paper"])
def test_model_options(option):
    cfg = compose("clipsonic", "train", [f"model={option}"])
    model = instantiate(cfg.model, **SIZES["train"], _convert_="all")
    assert model.hparams.model["unet"]["block_out_channels"] == list(cfg.model.unet.block_out_channels)


@pytest.mark.parametrize("option", ["synthetic", "folder", "everyday", "everyday_tiny"])
@pytest.mark.parametrize("entry", ["train", "train_clip", "train_prior", "train_vocoder", "evaluate"])
def test_data_options(option, entry, tmp_path):
    cfg = compose("clipsonic", entry, [f"data={option}", f"data.root={tmp_path}", *OVERRIDES.get(entry, [])])
    data = instantiate(cfg.data)
    assert type(data).__name__ == cfg.data._target_.rsplit(".", 1)[1] and data.videos.startswith(str(tmp_path))
    assert data.world == {"synthetic": "synthetic", "folder": None}.get(option, "everyday")


def test_everyday_mel_settings():
    """2 s or longer at 16 kHz, the band in config; the tiny option keeps the length with fewer bands."""
    from clipsonic.data.dataset import mel_config, segment_samples

    for option in ("everyday", "everyday_tiny"):
        mel = OmegaConf.to_container(compose("clipsonic", "train", [f"data={option}"]).data.mel)
        assert mel["sample_rate"] == 16000 and segment_samples(mel) / 16000 >= 2.0
        assert (mel_config(mel).fmin, mel_config(mel).fmax) == (mel["fmin"], mel["fmax"])


@pytest.mark.parametrize("option", ["tiny", "pretrained"])
def test_clip_options(option):
    cfg = compose("clipsonic", "train", [f"clip={option}", "clip.checkpoint=x"])
    model = build_clip_model(cfg.clip.name, OmegaConf.to_container(cfg.clip.model_kwargs))
    assert model.text_projection.shape[1] == cfg.clip.model_kwargs.get("embed_dim", 512)


@pytest.mark.parametrize("entry", ["train", "generate", "evaluate"])
def test_clip_hf_option_needs_a_path(entry, tmp_path):
    from omegaconf.errors import MissingMandatoryValue

    cfg = compose("clipsonic", entry, ["clip=hf", *OVERRIDES.get(entry, [])])
    assert cfg.clip.library == "transformers"
    with pytest.raises(MissingMandatoryValue, match="path"):
        OmegaConf.to_container(cfg.clip, resolve=True, throw_on_missing=True)
    cfg = compose("clipsonic", entry, ["clip=hf", f"clip.path={tmp_path}", *OVERRIDES.get(entry, [])])
    assert OmegaConf.to_container(cfg.clip, resolve=True)["path"] == str(tmp_path)
