from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch

from gm_common.checkpoint import load_checkpoint
from gm_common.cli import compose
from gm_common.corpus import list_collection
from gm_common.errors import CheckpointError, ConfigError, InputFileError
from gm_common.files import OutputExistsError
from gm_common.notes import music_from_tracks, read_music, write_midi
from gm_common.pretrained import save_safetensors
from gm_common.render import fluidsynth_available
from mmt.generate import run
from mmt.pipeline import continuation_prompt, instrument_prompt
from mmt.representation import TYPE_EOS, TYPE_NOTE, TYPE_SON, Encoding

ROOT = Path(__file__).resolve().parents[2]
ENC = Encoding()


def gen_cfg(overrides):
    return compose("mmt", "generate", overrides)


def chorale() -> Path:
    return list_collection("bach_chorales")[0]


@pytest.fixture(scope="module")
def eager_model(trained_run, tmp_path_factory) -> Path:
    """The tiny trained model with its type head biased to declare one instrument and then play notes until the
    length limit: an untrained model may end a piece at once, and these tests need notes in every mode."""
    ckpt = load_checkpoint(trained_run / "checkpoints" / "last.ckpt")
    state = {k: v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    state["net.head.bias"] = state["net.head.bias"].clone()
    state["net.head.bias"][TYPE_EOS] -= 50.0
    state["net.head.bias"][TYPE_SON] += 50.0
    return save_safetensors(
        tmp_path_factory.mktemp("eager") / "model.safetensors", state, ckpt["hyper_parameters"], half=False
    )


def _notes(mid: Path) -> list[tuple[int, int]]:
    """(time in ticks at resolution 12, pitch) of every note of a MIDI file, sorted."""
    music = read_music(mid, resolution=ENC.resolution)
    return sorted((n.time, n.pitch) for t in music.tracks for n in t.notes)


def test_each_mode_writes_its_files(eager_model, tmp_path):
    common = [f"checkpoint={eager_model}", f"out_dir={tmp_path}", "max_events=60", "render=false"]
    run(gen_cfg([*common, "n_samples=2", "batch_size=2"]))
    run(gen_cfg([*common, "instruments=[violin,viola,cello]"]))
    run(gen_cfg([*common, f"prompt={chorale()}", "beats=4"]))
    for stem in ("unconditional_0", "unconditional_1", "instrument_0", "continuation_0"):
        for suffix in (".csv", ".mid", ".png"):
            assert (tmp_path / f"{stem}{suffix}").stat().st_size > 0, f"{stem}{suffix}"
    assert not list(tmp_path.glob("*.wav"))
    assert len(_notes(tmp_path / "unconditional_0.mid")) > 10


@pytest.mark.skipif(not fluidsynth_available(), reason="FluidSynth or a GM soundfont is not installed")
def test_render_writes_a_wav(eager_model, tmp_path):
    files = run(gen_cfg([f"checkpoint={eager_model}", f"out_dir={tmp_path}", "max_events=60", "render=true"]))
    assert Path(files[0]["wav"]).stat().st_size > 1000


def test_without_fluidsynth_the_wav_is_dropped_with_a_one_line_note(eager_model, tmp_path, no_fluidsynth, caplog):
    files = run(gen_cfg([f"checkpoint={eager_model}", f"out_dir={tmp_path}", "max_events=60", "render=true",
                         "n_samples=2"]))  # fmt: skip
    assert [sorted(f) for f in files] == [["csv", "mid", "png"]] * 2
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".csv", ".csv", ".mid", ".mid", ".png", ".png"]
    notes = [r.getMessage() for r in caplog.records if "WAV" in r.getMessage()]
    assert len(notes) == 1 and notes[0].startswith("no WAV written: FluidSynth is not installed")  # one per run


def test_instrument_informed_output_uses_only_the_named_instruments(eager_model, tmp_path):
    run(gen_cfg([f"checkpoint={eager_model}", f"out_dir={tmp_path}", "max_events=80", "render=false",
                 "instruments=[violin,cello]", "seed=3"]))  # fmt: skip
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "instrument_0.mid"))
    assert midi.instruments and sum(len(i.notes) for i in midi.instruments) > 10
    assert {i.program for i in midi.instruments} <= {40, 42} and {i.name for i in midi.instruments} <= {
        "violin",
        "cello",
    }
    table = (tmp_path / "instrument_0.csv").read_text().splitlines()
    assert table[0].startswith("type,beat,position,pitch,duration,instrument")
    assert "violin" in table[2] and "cello" in table[3] and "start-of-notes" in table[4]


def test_continuation_starts_with_the_prompt_before_beats(eager_model, tmp_path):
    beats = 4
    run(gen_cfg([f"checkpoint={eager_model}", f"out_dir={tmp_path}", "max_events=150", "render=false",
                 f"prompt={chorale()}", f"beats={beats}"]))  # fmt: skip
    prompt = continuation_prompt(chorale(), beats, ENC)
    prompt_notes = prompt[prompt[:, 0] == TYPE_NOTE]
    last_beat = int(prompt_notes[:, 1].max()) - 1  # generated notes never start before the prompt's last beat
    assert 0 < last_beat < beats
    # the event table begins with the prompt's rows, as they are
    rows = np.loadtxt(tmp_path / "continuation_0.csv", delimiter=",", skiprows=1, usecols=range(6), dtype=np.int64)
    assert np.array_equal(rows[: len(prompt)], prompt) and len(rows) > len(prompt)
    # and the MIDI file holds the prompt's notes before that beat, then more
    expected = sorted(
        (int((b - 1) * 12 + p - 1), int(pitch - 1)) for _, b, p, pitch, _, _ in prompt_notes if b - 1 < last_beat
    )
    written = _notes(tmp_path / "continuation_0.mid")
    assert expected and [n for n in written if n[0] < last_beat * 12] == expected
    assert len(written) > len(prompt_notes)


SATB = ["soprano", "alto", "tenor", "bass"]


def satb_chorale() -> Path:
    """A chorale of four voices and nothing else (BWV 10.7)."""
    return next(p for p in list_collection("bach_chorales") if p.name == "bwv10.7.mxl")


def _tracks(mid: Path) -> dict[str, list[tuple[int, int]]]:
    """(time at resolution 12, pitch) of the notes of each track of a MIDI file, by track name."""
    music = read_music(mid, resolution=ENC.resolution)
    return {t.name: sorted((n.time, n.pitch) for n in t.notes) for t in music.tracks}


def test_instruments_soprano_alto_tenor_bass_give_those_four_tracks(eager_model, tmp_path):
    run(gen_cfg([f"checkpoint={eager_model}", f"out_dir={tmp_path}", "max_events=120", "render=false",
                 f"instruments=[{','.join(SATB)}]"]))  # fmt: skip
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "instrument_0.mid"))
    assert sorted(i.name for i in midi.instruments) == sorted(SATB)
    assert {i.program for i in midi.instruments} == {52} and all(i.notes for i in midi.instruments)


def test_continuing_a_chorale_keeps_its_four_parts(eager_model, tmp_path):
    beats = 4
    run(gen_cfg([f"checkpoint={eager_model}", f"out_dir={tmp_path}", "max_events=150", "render=false",
                 f"prompt={satb_chorale()}", f"beats={beats}"]))  # fmt: skip
    prompt = continuation_prompt(satb_chorale(), beats, ENC)
    declared = prompt[prompt[:, 0] == 1, 5].tolist()
    assert declared == [ENC.instrument_code(n) for n in SATB]
    notes = prompt[prompt[:, 0] == TYPE_NOTE]
    last_beat = int(notes[:, 1].max()) - 1
    written = _tracks(tmp_path / "continuation_0.mid")
    assert sorted(written) == sorted(SATB)
    for name in SATB:  # each part's prompt notes are in its own track, as they were
        mine = notes[notes[:, 5] == ENC.instrument_code(name)]
        expected = sorted((int((b - 1) * 12 + p - 1), int(q - 1)) for _, b, p, q, _, _ in mine if b - 1 < last_beat)
        assert expected and [n for n in written[name] if n[0] < last_beat * 12] == expected, name


def test_never_overwrites_unless_asked(trained_run, tmp_path):
    common = [f"checkpoint={trained_run}", f"out_dir={tmp_path}", "max_events=20", "render=false"]
    run(gen_cfg(common))
    with pytest.raises(OutputExistsError):
        run(gen_cfg(common))
    run(gen_cfg([*common, "overwrite=true"]))


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
        run(gen_cfg([*base, f"prompt={empty}"]))
    # only drums
    drums = write_midi(music_from_tracks([("d", 0, True, np.array([[0, 36, 12]]))], 12), tmp_path / "drums.mid")
    with pytest.raises(InputFileError):
        run(gen_cfg([*base, f"prompt={drums}"]))
    # a corrupt MIDI
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage" * 3)
    with pytest.raises(InputFileError, match="corrupt"):
        run(gen_cfg([*base, f"prompt={corrupt}"]))
    # an unknown instrument
    with pytest.raises(ConfigError, match="valid names: piano"):
        run(gen_cfg([*base, "instruments=[violin,kazoo]"]))
    # a missing checkpoint, and an unknown shipped model name
    with pytest.raises(CheckpointError, match="not found"):
        run(gen_cfg([f"checkpoint={tmp_path / 'nope.ckpt'}", f"out_dir={out}"]))
    with pytest.raises(ConfigError, match="unknown pretrained model 'no_such_model'; shipped: "):
        run(gen_cfg(["checkpoint=no_such_model", f"out_dir={out}"]))
    # a checkpoint of another size, or of another encoding
    with pytest.raises(CheckpointError, match="model size differs"):
        run(gen_cfg([*base, "model=paper"]))
    other = tmp_path / "enc.json"
    Encoding(max_beat=128).save(other)
    with pytest.raises(CheckpointError, match="max_beat"):
        run(gen_cfg([*base, f"encoding={other}"]))
    Encoding(voices="merged").save(other)
    with pytest.raises(CheckpointError, match=r"voices, instruments.*made with encoding.voices=split"):
        run(gen_cfg([*base, f"encoding={other}"]))
    # CUDA graphs asked for without CUDA
    with pytest.raises(ConfigError, match="cuda_graph=true needs a CUDA device"):
        run(gen_cfg([*base, "cuda_graph=true", "device=cpu"]))
    # not a checkpoint at all, and a damaged shipped-model file
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        run(gen_cfg([f"checkpoint={junk}", f"out_dir={out}"]))
    damaged = tmp_path / "damaged" / "model.safetensors"
    damaged.parent.mkdir()
    damaged.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="damaged"):
        run(gen_cfg([f"checkpoint={damaged}", f"out_dir={out}"]))
    _assert_nothing_written(out)


def test_list_models_prints_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(gen_cfg(["list_models=true", f"out_dir={out}"])) == []
    assert capsys.readouterr().out.strip()
    _assert_nothing_written(out)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
@pytest.mark.parametrize("entry", ["generate", "evaluate"])
def test_a_missing_gpu_is_a_clear_error_that_writes_nothing(entry, trained_run, tmp_path, monkeypatch):
    from mmt import evaluate, generate

    monkeypatch.chdir(tmp_path)
    overrides = [f"checkpoint={trained_run}", "device=cuda"]
    overrides.append(f"out_dir={tmp_path / 'out'}" if entry == "generate" else f"out={tmp_path / 'out' / 'e.json'}")
    with pytest.raises(ConfigError, match="torch sees none here"):
        {"generate": generate.run, "evaluate": evaluate.run}[entry](compose("mmt", entry, overrides))
    assert not any(tmp_path.iterdir())


def test_an_output_folder_that_cannot_be_made_is_one_error_line(tmp_path, monkeypatch, capsys):
    from mmt.generate import main
    from tests.common.entry_points import run_main

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status, err = run_main(main, [f"out_dir={blocker / 'out'}"], monkeypatch, capsys)
    assert (status, err) == (2, f"error: cannot create the output folder {blocker / 'out'}: {blocker} is a file\n")
    assert list(tmp_path.iterdir()) == [blocker]


def test_a_prompt_longer_than_the_model_can_read_is_an_error_that_writes_nothing(trained_run, tmp_path):
    out = tmp_path / "long"
    with pytest.raises(ConfigError, match=r"the prompt has \d+ events, more than the model's 256"):
        run(gen_cfg([f"checkpoint={trained_run}", f"out_dir={out}", f"prompt={chorale()}", "beats=1000"]))
    _assert_nothing_written(out)


def test_add_writes_the_prompt_with_the_new_part_and_checks_first(playing_infill, trained_run, tmp_path, capsys):
    from gm_common.corpus import Piece
    from mmt.parts import assign_programs

    music = assign_programs(Piece("c.mxl", read_music(chorale(), resolution=12))).music
    music.tracks = [t for t in music.tracks if t.name != "Bass"]
    prompt = write_midi(music, tmp_path / "no_bass.mid")
    out = tmp_path / "out"
    files = run(gen_cfg([f"checkpoint={playing_infill}", f"out_dir={out}", f"prompt={prompt}", "add=[bass]",
                         "render=false"]))  # fmt: skip
    assert set(files[0]) == {"mid", "png"} and sorted(p.name for p in out.iterdir()) == ["add_0.mid", "add_0.png"]
    written = read_music(out / "add_0.mid", resolution=12)
    assert [t.name for t in written.tracks][-1] == "bass" and written.tracks[-1].notes
    assert set(_notes(prompt)) < set(_notes(out / "add_0.mid"))  # every note of the prompt, and more
    assert "notes added (bass)" in capsys.readouterr().out
    # errors before anything is written: an unknown name, a model of the time layout
    bad = tmp_path / "bad"
    with pytest.raises(ConfigError, match="unknown instrument 'kazoo'; valid names: piano"):
        run(gen_cfg([f"checkpoint={playing_infill}", f"out_dir={bad}", f"prompt={prompt}", "add=[kazoo]"]))
    with pytest.raises(ConfigError, match="experiment=corpus_tiny_infill"):
        run(gen_cfg([f"checkpoint={trained_run}", f"out_dir={bad}", f"prompt={prompt}", "add=[bass]"]))
    _assert_nothing_written(bad)
