"""``python -m mmt.demo`` with tiny settings: a sample in each mode, from a given model or one it trains."""

import json
import re

from gm_common.cli import compose
from mmt.demo import run


def test_demo_samples_each_mode(trained_run, tmp_path, capsys):
    out = tmp_path / "mmt"
    overrides = [f"checkpoint={trained_run}", f"out_dir={out}", "max_events=40", "attention_pieces=2"]
    written = run(compose("mmt", "demo", overrides))
    assert len(written) == 3 and all("csv" in files for files in written)
    samples = out / "samples"
    assert {p.stem for p in samples.glob("*.csv")} == {"unconditional_0", "instrument_0", "continuation_0"}
    assert (samples / "continuation_0.mid").is_file()  # the chorale's first beats at least
    assert (out / "attention" / "attention.png").stat().st_size > 0  # the profiles on the demo page
    assert "mmt demo done" in capsys.readouterr().out
    captions = json.loads((out / "captions.json").read_text())  # each sample's length and silence, on the page
    assert set(captions) == {f"samples/{p.stem}" for p in samples.glob("*.mid")} >= {"samples/continuation_0"}
    assert all(re.fullmatch(r"\d+ notes, \d+ tracks, \d+ beats long, longest silence \d+\.\d beats", c)
               for c in captions.values()), captions  # fmt: skip
    from gm_common.report import write_index

    page = write_index(tmp_path).read_text()
    assert '<p class="caption">' + captions["samples/continuation_0"] in page


def test_demo_trains_its_own_model_once(tiny_cli_overrides, tmp_path, capsys):
    cfg = compose("mmt", "demo", ["train=true", f"out_dir={tmp_path}", "max_events=30"])
    cfg.train_overrides = [o for o in tiny_cli_overrides(tmp_path, 2) if not o.startswith("run_dir=")]
    run(cfg)
    assert (tmp_path / "model" / "checkpoints" / "last.ckpt").is_file()
    assert "training a tiny MMT" in capsys.readouterr().out
    run(cfg)
    assert "reusing the demo model" in capsys.readouterr().out
