"""The shipped clipsonic models: the four load from their safetensors files (no unpickling) and reproduce the
output their card records for a fixed prompt, mode and seed."""

import json

import numpy as np
import pytest

from clipsonic.pipeline import PRETRAINED, ClipSonicPipeline
from gm_common.cli import compose
from gm_common.pretrained import list_pretrained

SHIPPED = sorted(list_pretrained(PRETRAINED))


@pytest.mark.parametrize("name", ["everyday", "synthetic"])
def test_the_default_models_are_shipped(name):
    assert name in SHIPPED
    assert {p.name for p in (PRETRAINED / name).glob("*.safetensors")} == {
        "clip.safetensors", "prior.safetensors", "diffusion.safetensors", "vocoder.safetensors"}  # fmt: skip


def test_generate_and_the_demo_default_to_the_everyday_models_in_pd_mode():
    gen, demo = compose("clipsonic", "generate", []), compose("clipsonic", "demo", [])
    assert (gen.models, gen.mode, demo.models) == ("everyday", "pd", "everyday")
    card = json.loads((PRETRAINED / "everyday" / "card.json").read_text())
    assert demo.prompt in card["data"]["classes"]


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_set_reproduces_its_card(name):
    ref = json.loads((PRETRAINED / name / "card.json").read_text())["reproduce"]
    pipe = ClipSonicPipeline.from_pretrained(name)
    out = pipe(ref["prompt"], mode=ref["mode"], n=1, steps=ref["steps"], seed=ref["seed"], guidance=ref["guidance"])
    assert np.isfinite(out.log_mels).all()
    assert float(out.log_mels.mean()) == pytest.approx(ref["log_mel_mean"], abs=1e-3)
    assert float(out.log_mels.std()) == pytest.approx(ref["log_mel_std"], abs=1e-3)
