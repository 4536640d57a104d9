"""``benchmarks/clipsonic_vocoder.py --tiny`` on the tiny world: Griffin-Lim and the neural vocoder on held-out
real audio (log-spectral distance, judge accuracy, x real time), in a JSON file."""

import json

from tests.common.benchmarks import load_benchmark


def test_the_tiny_comparison(world, tmp_path):
    benchmark = load_benchmark("clipsonic_vocoder")
    out = tmp_path / "vocoder.json"
    ckpt = world.root / "vocoder" / "checkpoints" / "last.ckpt"
    result = benchmark.main(
        ["--tiny", "--vocoder", str(ckpt), "--out", str(out), *world.eval_overrides(f"out_dir={tmp_path}")]
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    table = result["table"]
    assert list(table) == ["real audio (no vocoder)", "Griffin-Lim (4 iterations)", f"neural: {ckpt}"]
    n = table["real audio (no vocoder)"]["n"]
    assert n == result["settings"]["test_segments"] > 0 and all(r["n"] == n for r in table.values())
    for name in ("Griffin-Lim (4 iterations)", f"neural: {ckpt}"):
        r = table[name]
        assert r["lsd_db"] > 0 and r["log_mel_l1"] > 0 and r["x_real_time"] > 0
        assert r["accuracy_ci95"][0] <= r["accuracy"] <= r["accuracy_ci95"][1]
    assert result["verdict"][str(ckpt)]["lsd_beats_griffin_lim"] == (
        table[f"neural: {ckpt}"]["lsd_db"] < table["Griffin-Lim (4 iterations)"]["lsd_db"]
    )
    assert result["settings"]["neural_vocoder_hyper_parameters"][str(ckpt)]["channels"] == 16  # the tiny world's
