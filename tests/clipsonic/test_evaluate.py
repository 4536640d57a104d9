import json

import numpy as np
import pytest
import torch

from clipsonic.judge import frechet_distance
from gm_common.cli import compose
from gm_common.errors import ConfigError


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((500, 4)), rng.standard_normal((500, 4))
    assert frechet_distance(a, b) < 0.1
    assert abs(frechet_distance(a, b + 3.0) - 36.0) < 1.5


def test_wilson_and_paired_difference():
    from clipsonic.evaluate import paired_difference, wilson

    lo, hi = wilson(64, 128)
    assert 0.41 < lo < 0.42 and 0.58 < hi < 0.59
    d = paired_difference(np.array([1, 1, 1, 0]), np.array([0, 0, 1, 0]))
    assert d["difference"] == 0.5 and d["ci95"][0] < 0.5 < d["ci95"][1] and d["n"] == 4


@pytest.fixture(scope="module")
def trained_prior(world, tmp_path_factory):
    """A prior trained long enough (seconds) to have learnt where the image embeddings are."""
    from clipsonic import train_prior
    from tests.clipsonic.conftest import CLIP_TINY

    run_dir = tmp_path_factory.mktemp("prior")
    overrides = [
        f"root={world.root}",
        *CLIP_TINY,
        "trainer.max_steps=300",
        "+trainer.enable_model_summary=false",
        "data.batch_size=16",
        "model.hidden=64",
        "model.layers=2",
        "model.lr=3e-3",
        f"run_dir={run_dir}",
    ]
    train_prior.run(compose("clipsonic", "train_prior", overrides))
    return run_dir / "checkpoints" / "last.ckpt"


def test_modes_of_evaluation_are_those_of_generate(world, trained_prior, tmp_path):
    """ZS conditions are the queries' text embeddings, IQ the test frames' image embeddings, PD prior samples of
    the text embeddings, which lie nearer the image embeddings than the text does."""
    from clipsonic.evaluate import Evaluator

    ev = Evaluator(
        compose("clipsonic", "evaluate", world.eval_overrides(f"out_dir={tmp_path}", f"prior_ckpt={trained_prior}"))
    )
    text = torch.from_numpy(ev.pipe.clip.embed_texts(ev.queries))
    assert torch.allclose(ev.conditions("ZS"), text, atol=1e-6)
    frames = ev.test["embs"][ev.iq_rows[:, 0], ev.iq_rows[:, 1]]
    assert torch.allclose(ev.conditions("IQ"), torch.from_numpy(frames))
    pd = ev.conditions("PD")
    assert (pd - text).abs().max() > 0.1
    gaps = ev.gaps()
    zs_gap, pd_gap = gaps["ZS (text queries)"], gaps["PD (prior samples)"]
    assert pd_gap["cosine_to_class_images"] > zs_gap["cosine_to_class_images"] + 0.1
    assert pd_gap["centroid_distance"] < zs_gap["centroid_distance"]


def test_evaluate_end_to_end(world, tmp_path):
    from clipsonic.evaluate import run

    res = run(compose("clipsonic", "evaluate", world.eval_overrides(f"out_dir={tmp_path}", "sweep=[1.0,2.0]")))
    table = res["table"]
    assert {"IQ", "ZS", "PD", "real audio (vocoded)", "chance"} <= set(table)
    assert all(table[m]["n"] == 8 and len(table[m]["accuracy_ci95"]) == 2 for m in ("IQ", "ZS", "PD"))
    assert table["chance"]["accuracy"] == 1 / 8
    assert set(res["differences"]) == {"PD - ZS", "IQ - ZS", "IQ - PD"}
    assert {"ZS (text queries)", "PD (prior samples)", "CLIP caption pairs"} <= set(res["modality_gap"])
    assert json.loads((tmp_path / "results.json").read_text())["classes"][0] == "red circle"
    sweep = res["guidance_sweep"]
    assert (tmp_path / "guidance_sweep.png").is_file() and set(sweep) == {"1.0", "2.0"}
    assert sweep["1.0"]["ZS"]["fad"] != sweep["2.0"]["ZS"]["fad"]  # guidance changes what is generated


def test_queries_come_from_the_world_the_data_config_names():
    from clipsonic.data import everyday, synthesize
    from clipsonic.data.worlds import text_queries

    assert text_queries("everyday", ["cat meowing"], 3, 0) == [
        everyday.query_captions(everyday.CLASS_NAMES.index("cat meowing"), 3, 0)
    ]
    assert text_queries("synthetic", ["red circle"], 3, 0) == [synthesize.query_captions(0, 3, 0)]
    assert text_queries(None, ["cat meowing"], 2, 0) == [["a cat meowing"] * 2]  # a folder of real videos
    with pytest.raises(ConfigError, match="not events of the 'everyday' world"):
        text_queries("everyday", ["red circle"], 2, 0)
    with pytest.raises(ConfigError, match="unknown world"):
        text_queries("jungle", ["red circle"], 2, 0)
