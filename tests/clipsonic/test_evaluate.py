import json

import numpy as np
import pytest
import torch

from clipsonic.judge import frechet_distance
from gm_common.cli import compose
from gm_common.errors import ConfigError
from gm_common.files import OutputExistsError


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((500, 4)), rng.standard_normal((500, 4))
    assert frechet_distance(a, b) < 0.1
    assert abs(frechet_distance(a, b + 3.0) - 36.0) < 1.5


def _whitened(n: int, d: int) -> np.ndarray:
    """``n`` points in ``d`` dimensions whose sample mean is 0 and sample covariance exactly the identity."""
    x = np.random.default_rng(0).standard_normal((n, d))
    x -= x.mean(0)
    return x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T


def test_frechet_distance_known_answers():
    # FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2); with S1 = I (d = 3) and b = k a + c:
    # S2 = k^2 I, so FD = |c|^2 + d + k^2 d - 2 k d = |c|^2 + d (k - 1)^2
    a, c = _whitened(200, 3), np.array([1.0, 2.0, 2.0])  # |c|^2 = 9
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, a + c) == pytest.approx(9.0)
    assert frechet_distance(a, 3 * a) == pytest.approx(12.0)
    assert frechet_distance(a, 2 * a + c) == pytest.approx(12.0)
    # fewer points than dimensions: singular covariances, still finite (a few generated clips per class)
    assert np.isfinite(frechet_distance(a[:2], a[2:4] + c))


def test_text_audio_score_known_answers():
    from clipsonic.evaluate import text_audio_score

    text = np.eye(2)  # two classes' unit text embeddings
    at = np.array([[np.cos(np.pi / 3), np.sin(np.pi / 3)]])  # 60 degrees from class 0, 30 from class 1
    assert text_audio_score(np.array([[1.0, 0.0]]), text, np.array([0])) == pytest.approx(100.0)
    assert text_audio_score(np.array([[0.0, 1.0]]), text, np.array([0])) == pytest.approx(0.0)
    assert text_audio_score(np.array([[-1.0, 0.0]]), text, np.array([0])) == pytest.approx(-100.0)
    assert text_audio_score(at, text, np.array([0])) == pytest.approx(50.0)
    assert text_audio_score(at, text, np.array([1])) == pytest.approx(100 * np.sqrt(3) / 2)
    both = text_audio_score(np.array([[1.0, 0.0], [-1.0, 0.0]]), text, np.array([0, 0]))
    assert both == pytest.approx(0.0)  # the mean over clips


def test_the_judge_is_cached_with_the_key_of_its_data(tmp_path):
    from clipsonic.judge import load_judge, save_judge, train_judge
    from gm_common.errors import CheckpointError

    rng = np.random.default_rng(0)
    mels = rng.standard_normal((8, 16, 16)).astype(np.float32)
    judge = train_judge(mels, np.arange(8) % 2, np.eye(2, 4, dtype=np.float32), steps=2, log=lambda _: None)
    path = tmp_path / "judge.pt"
    assert load_judge(path, "set-a:2") is None  # nothing cached yet
    save_judge(judge, path, "set-a:2")
    loaded = load_judge(path, "set-a:2")
    x = torch.from_numpy(mels)
    assert all(torch.equal(p, q) for p, q in zip(judge(x), loaded(x)))
    assert load_judge(path, "set-b:2") is None  # other data or steps: trained again
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="cannot load checkpoint .* safely"):
        load_judge(path, "set-a:2")


@pytest.mark.parametrize(
    "k, n, bounds",  # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (Wilson, no correction)
    [(81, 263, (0.2553, 0.3662)), (15, 148, (0.0624, 0.1605)), (0, 20, (0.0, 0.1611)), (1, 29, (0.0061, 0.1718))],
)
def test_wilson_matches_published_bounds(k, n, bounds):
    from clipsonic.evaluate import wilson

    assert wilson(k, n) == pytest.approx(bounds, abs=5e-5)


def test_wilson_for_one_outcome_and_for_none():
    from clipsonic.evaluate import wilson

    # n = 1, z = 1.96: centre (1 + z^2/2) / (1 + z^2) = 0.60327, half z^2 / (1 + z^2) = 0.39673 (by hand)
    assert wilson(1, 1) == pytest.approx([0.2065, 1.0], abs=5e-5)
    assert wilson(0, 1) == pytest.approx([0.0, 0.7935], abs=5e-5)
    assert np.isnan(wilson(0, 0)).all()


def test_wilson_covers_the_true_rate_95_percent_of_the_time():
    from clipsonic.evaluate import wilson

    # 4,000 draws of 96 queries at a true accuracy of 0.7 (the READMEs' setting): the Monte-Carlo standard error of
    # the coverage is 0.0034, and Wilson's own coverage at this n lies within 0.01 of 95 %; tolerance 0.015.
    rng = np.random.default_rng(0)
    hits = rng.binomial(96, 0.7, 4000)
    covered = np.mean([lo <= 0.7 <= hi for lo, hi in (wilson(int(k), 96) for k in hits)])
    assert covered == pytest.approx(0.95, abs=0.015)


def test_paired_difference_matches_hand_computed_bounds():
    from clipsonic.evaluate import paired_difference

    # d = 1, 1, 0, 0: mean 0.5, sd (n - 1) sqrt(1/3), half-width 1.96 sqrt(1/3) / 2 = 0.56580
    d = paired_difference(np.array([1, 1, 1, 0]), np.array([0, 0, 1, 0]))
    assert d["difference"] == 0.5 and d["n"] == 4 and d["ci95"] == pytest.approx([-0.06580, 1.06580], abs=1e-5)
    # d = 0.1 .. 0.5: mean 0.3, sd 0.158114, half-width 1.96 x 0.158114 / sqrt(5) = 0.138593
    d = paired_difference(np.array([0.1, 0.2, 0.3, 0.4, 0.5]), np.zeros(5))
    assert d["difference"] == pytest.approx(0.3) and d["ci95"] == pytest.approx([0.161407, 0.438593], abs=1e-6)


def test_paired_difference_for_one_pair_and_for_identical_differences():
    from clipsonic.evaluate import paired_difference

    one = paired_difference(np.array([1.0]), np.array([0.0]))
    assert one["difference"] == 1.0 and one["n"] == 1 and np.isnan(one["ci95"]).all()  # no spread from one pair
    same = paired_difference(np.array([1, 1, 1]), np.array([0, 0, 0]))
    assert same["ci95"] == [1.0, 1.0]


def test_paired_difference_covers_the_true_mean_95_percent_of_the_time():
    from clipsonic.evaluate import paired_difference

    # 4,000 sets of 192 paired 0/1 outcomes (P(a)=0.8, P(b)=0.7, independent: true difference 0.1), the size of
    # the README's PD - ZS claim; the normal interval's coverage at this n is within 0.01 of 95 %, the
    # Monte-Carlo standard error 0.0034: tolerance 0.015.
    rng = np.random.default_rng(1)
    a, b = rng.random((4000, 192)) < 0.8, rng.random((4000, 192)) < 0.7
    intervals = [paired_difference(x, y)["ci95"] for x, y in zip(a, b)]
    covered = np.mean([lo <= 0.1 <= hi for lo, hi in intervals])
    assert covered == pytest.approx(0.95, abs=0.015)
    widths = np.array([hi - lo for lo, hi in intervals])
    # sd of a - b is sqrt(0.8 x 0.2 + 0.7 x 0.3) = 0.6083: the width is 2 x 1.96 x 0.6083 / sqrt(192) = 0.1721
    assert widths.mean() == pytest.approx(0.1721, abs=0.002)


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

    cfg = compose("clipsonic", "evaluate", world.eval_overrides(f"out_dir={tmp_path}", "sweep=[1.0,2.0]"))
    res = run(cfg)
    table = res["table"]
    assert {"IQ", "ZS", "PD", "real audio (vocoded)", "chance"} <= set(table)
    assert all(table[m]["n"] == 8 and len(table[m]["accuracy_ci95"]) == 2 for m in ("IQ", "ZS", "PD"))
    assert table["chance"]["accuracy"] == 1 / 8
    assert set(res["differences"]) == {"PD - ZS", "IQ - ZS", "IQ - PD"}
    assert {"ZS (text queries)", "PD (prior samples)", "CLIP caption pairs"} <= set(res["modality_gap"])
    assert json.loads((tmp_path / "results.json").read_text())["classes"][0] == "red circle"
    sweep = res["guidance_sweep"]
    assert (tmp_path / "guidance_sweep.png").is_file() and set(sweep) == {"1.0", "2.0"}
    fads = [sweep[g]["ZS"]["fad"] for g in ("1.0", "2.0")]
    assert np.isfinite(fads).all() and fads[0] != fads[1]  # guidance changes what is generated
    assert all(-100 <= table[m]["text_audio"] <= 100 for m in ("IQ", "ZS", "PD", "real audio (vocoded)"))
    assert res["judge_training_seconds"] > 0
    before = (tmp_path / "results.json").read_bytes()
    with pytest.raises(OutputExistsError, match="results.json already exists; pass overwrite=true"):
        run(cfg)  # an evaluation's results are kept unless overwrite=true
    assert (tmp_path / "results.json").read_bytes() == before
    again = run(compose("clipsonic", "evaluate", world.eval_overrides(f"out_dir={tmp_path}", "overwrite=true")))
    assert again["judge_training_seconds"] is None  # the judge cached in out_dir/judge.pt, trained on the same data
    assert again["table"]["real audio (vocoded)"]["accuracy"] == table["real audio (vocoded)"]["accuracy"]


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
