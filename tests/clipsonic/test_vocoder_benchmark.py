"""``benchmarks/clipsonic_vocoder.py --tiny`` on the tiny world: Griffin-Lim and the neural vocoder on held-out
real audio (log-spectral distance, judge accuracy, x real time), in a JSON file."""

import json

import pytest

from tests.common.benchmarks import load_benchmark


def test_the_tiny_comparison(world, tmp_path):
    benchmark = load_benchmark("clipsonic_vocoder")
    out = tmp_path / "vocoder.json"
    ckpt = world.root / "vocoder" / "checkpoints" / "last.ckpt"
    result = benchmark.main(
        ["--tiny", "--vocoder", str(ckpt), "--generated-per-class", "1", "--out", str(out)]
        + world.eval_overrides(f"out_dir={tmp_path}")
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    table = result["table"]
    assert list(table) == ["real audio (no vocoder)", "Griffin-Lim (4 iterations)", f"neural: {ckpt}"]
    n = table["real audio (no vocoder)"]["n"]
    assert n == result["settings"]["segments"] > 0 and all(r["n"] == n for r in table.values())
    assert result["settings"]["split"] == "test"
    for name in ("Griffin-Lim (4 iterations)", f"neural: {ckpt}"):
        r = table[name]
        assert r["lsd_db"] > 0 and r["log_mel_l1"] > 0 and r["x_real_time"] > 0
        assert r["accuracy_ci95"][0] <= r["accuracy"] <= r["accuracy_ci95"][1]
        assert 0 < r["judge_probability"] < 1
    verdict = result["verdict"][str(ckpt)]
    lsd = verdict["lsd_db_minus_griffin_lim"]
    assert lsd["difference"] == pytest.approx(
        table[f"neural: {ckpt}"]["lsd_db"] - table["Griffin-Lim (4 iterations)"]["lsd_db"]
    )
    assert lsd["ci95"][0] < lsd["difference"] < lsd["ci95"][1] and verdict["lsd_beats_griffin_lim"] == (
        lsd["ci95"][1] < 0
    )
    accuracy = verdict["accuracy_minus_griffin_lim"]
    assert accuracy["difference"] == pytest.approx(
        table[f"neural: {ckpt}"]["accuracy"] - table["Griffin-Lim (4 iterations)"]["accuracy"]
    )
    assert verdict["accuracy_beats_griffin_lim"] == (accuracy["ci95"][0] > 0)
    prob = verdict["judge_probability_minus_griffin_lim"]
    assert verdict["judge_probability_beats_griffin_lim"] == (prob["ci95"][0] > 0)
    assert result["settings"]["neural_vocoder_hyper_parameters"][str(ckpt)]["channels"] == 16  # the tiny world's

    # generated once, heard through both vocoders: paired by query, per mode and over all three
    heard = result["generated_audio"]
    neural = heard[f"neural: {ckpt}"]
    for mode in ("IQ", "ZS", "PD"):
        d = neural["accuracy minus Griffin-Lim"][mode]
        assert d["n"] == neural[mode]["n"] == heard["Griffin-Lim"][mode]["n"] > 0
        assert d["difference"] == pytest.approx(neural[mode]["accuracy"] - heard["Griffin-Lim"][mode]["accuracy"])
    assert neural["accuracy minus Griffin-Lim"]["all modes"]["n"] == 3 * neural["IQ"]["n"]


def test_the_validation_clips(world, tmp_path):
    """``--split valid``: the validation clips (some with two sources) and their labels, in the cache's order."""
    from clipsonic.data.dataset import load_split
    from clipsonic.evaluate import Evaluator
    from gm_common.cli import compose

    benchmark = load_benchmark("clipsonic_vocoder")
    overrides = world.eval_overrides(f"out_dir={tmp_path}")
    result = benchmark.main(["--tiny", "--split", "valid", "--out", str(tmp_path / "v.json"), *overrides])
    valid = load_split(Evaluator(compose("clipsonic", "evaluate", ["judge_steps=3", *overrides])).folder, "valid")
    assert result["settings"]["split"] == "valid"
    assert result["settings"]["segments"] == len(valid["labels"]) == result["table"]["real audio (no vocoder)"]["n"]
