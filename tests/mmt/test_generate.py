import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from hydra import compose, initialize_config_dir

from gm_common.corpus import list_collection
from gm_common.errors import CheckpointError, ConfigError, InputFileError
from gm_common.files import OutputExistsError
from gm_common.notes import music_from_tracks, write_midi
from mmt.generate import continuation_prompt, instrument_prompt, run
from mmt.representation import TYPE_NOTE, Encoding

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "mmt"
ROOT = Path(__file__).resolve().parents[2]
ENC = Encoding()


def gen_cfg(overrides):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("generate", overrides=overrides)


def chorale() -> Path:
    return list_collection("bach_chorales")[0]


def test_three_modes_write_all_files(trained_run, tmp_path):
    common = [f"checkpoint={trained_run}", f"out_dir={tmp_path}", "max_events=60", "render=true"]
    run(gen_cfg(common + ["n_samples=2", "batch_size=2"]))
    run(gen_cfg(common + ["instruments=[violin,viola,cello]"]))
    run(gen_cfg(common + [f"prompt={chorale()}", "beats=4"]))
    for stem in ("unconditional_0", "unconditional_1", "instrument_0", "continuation_0"):
        assert (tmp_path / f"{stem}.csv").is_file(), stem
        if (tmp_path / f"{stem}.mid").exists():  # an untrained model may emit no notes at all
            for suffix in (".png", ".wav"):
                assert (tmp_path / f"{stem}{suffix}").stat().st_size > 0
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "instrument_0.mid")) if (tmp_path / "instrument_0.mid").exists() else None
    if midi is not None:
        assert {i.program for i in midi.instruments} <= {40, 41, 42}  # one track per declared instrument
    table = (tmp_path / "instrument_0.csv").read_text().splitlines()
    assert table[0].startswith("type,beat,position,pitch,duration,instrument")
    assert "violin" in table[2] and "viola" in table[3] and "cello" in table[4]


def test_never_overwrites_unless_asked(trained_run, tmp_path):
    common = [f"checkpoint={trained_run}", f"out_dir={tmp_path}", "max_events=20", "render=false"]
    run(gen_cfg(common))
    with pytest.raises(OutputExistsError):
        run(gen_cfg(common))
    run(gen_cfg(common + ["overwrite=true"]))


def test_prompts():
    p = instrument_prompt(["Violin", "cello", "viola"], ENC)
    assert p[:, 0].tolist() == [0, 1, 1, 1, 2] and p[1:4, 5].tolist() == sorted(p[1:4, 5].tolist())
    c = continuation_prompt(chorale(), 4, ENC)
    notes = c[c[:, 0] == TYPE_NOTE]
    assert len(notes) and notes[:, 1].max() <= 4 and c[-1, 0] == TYPE_NOTE


def _assert_nothing_written(out_dir: Path):
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_bad_inputs_give_one_clear_error_and_write_nothing(trained_run, tmp_path):
    out = tmp_path / "out"
    base = [f"checkpoint={trained_run}", f"out_dir={out}", "max_events=20"]
    # a prompt file with no notes
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    with pytest.raises(InputFileError, match="no notes"):
        run(gen_cfg(base + [f"prompt={empty}"]))
    # only drums
    drums = write_midi(music_from_tracks([("d", 0, True, np.array([[0, 36, 12]]))], 12), tmp_path / "drums.mid")
    with pytest.raises(InputFileError):
        run(gen_cfg(base + [f"prompt={drums}"]))
    # a corrupt MIDI
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage" * 3)
    with pytest.raises(InputFileError, match="corrupt"):
        run(gen_cfg(base + [f"prompt={corrupt}"]))
    # an unknown instrument
    with pytest.raises(ConfigError, match="valid names: piano"):
        run(gen_cfg(base + ["instruments=[violin,kazoo]"]))
    # a missing checkpoint
    with pytest.raises(CheckpointError, match="not found"):
        run(gen_cfg([f"checkpoint={tmp_path / 'nope.ckpt'}", f"out_dir={out}"]))
    # a checkpoint of another size, or of another encoding
    with pytest.raises(CheckpointError, match="model size differs"):
        run(gen_cfg(base + ["model=paper"]))
    other = tmp_path / "enc.json"
    Encoding(max_beat=128).save(other)
    with pytest.raises(CheckpointError, match="max_beat"):
        run(gen_cfg(base + [f"encoding={other}"]))
    # not a checkpoint at all
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        run(gen_cfg([f"checkpoint={junk}", f"out_dir={out}"]))
    _assert_nothing_written(out)


def test_cli_error_is_one_line(trained_run, tmp_path):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "mmt.generate", f"checkpoint={trained_run}", f"out_dir={out}", "instruments=[kazoo]"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: unknown instrument 'kazoo'") and "Traceback" not in proc.stderr
    _assert_nothing_written(out)
