import json

import numpy as np

from clipsonic._cli import compose
from clipsonic.metrics import frechet_distance


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


def test_evaluate_end_to_end(world, tmp_path):
    from clipsonic.evaluate import run

    res = run.__wrapped__(compose("evaluate", world.eval_overrides(f"out_dir={tmp_path}", "sweep=[1.0,2.0]")))
    table = res["table"]
    assert {"IQ", "ZS", "PD", "real audio (vocoded)", "chance"} <= set(table)
    assert all(0 <= table[m]["accuracy"] <= 1 for m in ("IQ", "ZS", "PD"))
    assert all(table[m]["n"] == 8 and len(table[m]["accuracy_ci95"]) == 2 for m in ("IQ", "ZS", "PD"))
    assert set(res["differences"]) == {"PD - ZS", "IQ - ZS", "IQ - PD"}
    assert {"ZS (text queries)", "PD (prior samples)", "CLIP caption pairs"} <= set(res["modality_gap"])
    assert json.loads((tmp_path / "results.json").read_text())["classes"][0] == "red circle"
    assert (tmp_path / "guidance_sweep.png").is_file() and set(res["guidance_sweep"]) == {"1.0", "2.0"}
