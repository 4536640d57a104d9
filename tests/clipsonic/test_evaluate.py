import json

import numpy as np

from clipsonic._cli import compose
from clipsonic.metrics import frechet_distance


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((500, 4)), rng.standard_normal((500, 4))
    assert frechet_distance(a, b) < 0.1
    assert abs(frechet_distance(a, b + 3.0) - 36.0) < 1.5


def test_evaluate_end_to_end(world, tmp_path):
    from clipsonic.evaluate import run

    res = run.__wrapped__(compose("evaluate", world.eval_overrides(f"out_dir={tmp_path}", "sweep=[1.0,2.0]")))
    table = res["table"]
    assert {"IQ", "ZS", "PD", "real audio (vocoded)", "chance"} <= set(table)
    assert all(0 <= table[m]["accuracy"] <= 1 for m in ("IQ", "ZS", "PD"))
    assert json.loads((tmp_path / "results.json").read_text())["classes"][0] == "red circle"
    assert (tmp_path / "guidance_sweep.png").is_file() and set(res["guidance_sweep"]) == {"1.0", "2.0"}
