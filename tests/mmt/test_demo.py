"""``python -m mmt.demo`` with tiny settings: a sample in each mode, from a given model or one it trains."""

import json
import re
import shutil
from pathlib import Path

import pytest

from gm_common.cli import compose
from gm_common.errors import ConfigError
from gm_common.notes import read_music
from mmt.demo import run


def test_demo_samples_each_mode(trained_run, tmp_path, capsys):
    out = tmp_path / "mmt"
    overrides = [f"checkpoint={trained_run}", f"out_dir={out}", "max_events=40", "attention_pieces=2",
                 "add_checkpoint=null"]  # fmt: skip
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


def test_demo_adds_a_bass_to_a_test_chorale(trained_run, infill_run, playing_infill, tmp_path):
    test_pieces = json.loads((infill_run / "split.json").read_text())["test"]
    overrides = [f"checkpoint={trained_run}", f"out_dir={tmp_path}", "max_events=40", "attention_pieces=1",
                 f"add_checkpoint={playing_infill}", "add_part=bass"]  # fmt: skip
    written = run(compose("mmt", "demo", overrides))
    original, added = (read_music(files["mid"]) for files in written[-2:])
    assert Path(written[-1]["mid"]) == tmp_path / "add_part" / "bass_added.mid" and "png" in written[-1]
    tracks = {t.name: sorted((n.time, n.pitch) for n in t.notes) for t in added.tracks}
    assert tracks["bass"]  # a bass was written again
    kept = {t.name: sorted((n.time, n.pitch) for n in t.notes) for t in original.tracks if t.name != "bass"}
    assert kept and all(tracks[name] == notes for name, notes in kept.items())  # the other parts as they were
    captions = json.loads((tmp_path / "captions.json").read_text())
    assert captions["add_part/bass_added"].startswith(f"its bass removed and written again by {playing_infill}")
    for key in ("add_part/original", "add_part/bass_added"):
        assert re.search(r"bass consonant with the other parts \d+ % of its time", captions[key])
    assert test_pieces  # the chorale came from the model's test split (split.json)


def test_demo_without_a_recorded_split_says_so(trained_run, playing_infill, tmp_path):
    from mmt.demo import add_part_example

    model = tmp_path / "model" / "model.safetensors"
    model.parent.mkdir()
    shutil.copy(playing_infill, model)
    with pytest.raises(ConfigError, match="records no split.json"):
        add_part_example(str(model), "bass", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_demo_trains_its_own_model_once(tiny_cli_overrides, tmp_path, capsys):
    cfg = compose("mmt", "demo", ["train=true", f"out_dir={tmp_path}", "max_events=30", "add_checkpoint=null"])
    cfg.train_overrides = [o for o in tiny_cli_overrides(tmp_path, 2) if not o.startswith("run_dir=")]
    run(cfg)
    assert (tmp_path / "model" / "checkpoints" / "last.ckpt").is_file()
    assert "training a tiny MMT" in capsys.readouterr().out
    run(cfg)
    assert "reusing the demo model" in capsys.readouterr().out
