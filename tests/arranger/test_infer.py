
import numpy as np
import pytest
import torch

from arranger.infer import run
from arranger.predict import Arranger
from gm_common.cli import compose
from gm_common.errors import ConfigError, InputFileError, MissingDependencyError, ToolkitError
from gm_common.notes import music_from_tracks, read_music, write_midi
from gm_common.render import fluidsynth_available


def run_infer(overrides: list[str]):
    return run(compose("arranger", "infer", overrides))


def _cfg(ckpt, inp, out, **kw):
    return [
        f"input={inp}",
        f"ckpt={ckpt}",
        f"output_dir={out}",
        *(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in kw.items()),
    ]


def test_infer_writes_one_track_per_part(tiny_lstm, song, tmp_path):
    paths = run_infer(_cfg(tiny_lstm, song, tmp_path))
    assert paths["midi"].name == "song_arranged.mid" and paths["png"].is_file()
    music = read_music(paths["midi"], allow_drums_only=True)
    inp = read_music(song)
    pitched = [t for t in music.tracks if not t.is_drum]
    assert {t.program for t in pitched} <= {73, 68, 71, 70}
    assert sum(len(t.notes) for t in music.tracks) == sum(len(t.notes) for t in inp.tracks)
    assert sum(len(t.notes) for t in music.tracks if t.is_drum) == 2  # drums kept


def test_infer_programs_override(tiny_lstm, song, tmp_path):
    paths = run_infer(_cfg(tiny_lstm, song, tmp_path, programs="[0,1,2,3]"))
    music = read_music(paths["midi"])
    assert {t.program for t in music.tracks if not t.is_drum} <= {0, 1, 2, 3}


@pytest.mark.skipif(not fluidsynth_available(), reason="FluidSynth or a GM soundfont is not installed")
def test_infer_wav(tiny_lstm, song, tmp_path):
    paths = run_infer(_cfg(tiny_lstm, song, tmp_path, wav=True))
    assert paths["wav"].stat().st_size > 1000


def test_wav_without_fluidsynth_is_an_error_before_anything_is_written(tiny_lstm, song, tmp_path, no_fluidsynth):
    with pytest.raises(MissingDependencyError, match="FluidSynth is not installed; install it with"):
        run_infer(_cfg(tiny_lstm, song, tmp_path / "out", wav=True))
    assert not (tmp_path / "out").exists()


def test_infer_long_piece(tiny_lstm, tmp_path):
    rng = np.random.default_rng(0)
    n = 10_000
    notes = np.stack([np.arange(n) * 6, rng.integers(40, 84, n), np.full(n, 12)], 1)
    path = tmp_path / "long.mid"
    write_midi(music_from_tracks([("Piano", 0, False, notes)], 24), path)
    paths = run_infer(_cfg(tiny_lstm, path, tmp_path, png=False))
    assert sum(len(t.notes) for t in read_music(paths["midi"]).tracks) == n


def _bad_inputs(tmp_path, song):
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage" * 3)
    drums = tmp_path / "drums.mid"
    write_midi(music_from_tracks([("Drums", 0, True, np.array([[0, 36, 12]]))], 24), drums)
    five = tmp_path / "five.mid"
    write_midi(music_from_tracks([(f"P{i}", 0, False, np.array([[0, 60 + i, 12]])) for i in range(5)], 24), five)
    return {"empty": empty, "corrupt": corrupt, "drums": drums, "five": five}


def test_bad_inputs_give_one_error_and_write_nothing(tiny_lstm, song, tmp_path, tiny_train, cache_dir):
    bad = _bad_inputs(tmp_path, song)
    out = tmp_path / "out"
    for name in ("empty", "corrupt", "drums"):
        with pytest.raises(ToolkitError):
            run_infer(_cfg(tiny_lstm, bad[name], out))
    # more parts than the model knows (a hint model reads the input's parts)
    run_dir = tiny_train(tmp_path, cache_dir, "lstm_entry", ["trainer.max_steps=1", "test=false"])
    with pytest.raises(ToolkitError, match="pitched parts"):
        run_infer(_cfg(run_dir / "checkpoints" / "last.ckpt", bad["five"], out))
    # missing checkpoint
    with pytest.raises(ToolkitError, match="not found"):
        run_infer(_cfg(tmp_path / "nope.ckpt", song, out))
    # checkpoint for another dataset
    ckpt = torch.load(tiny_lstm, weights_only=True)
    ckpt["hyper_parameters"]["dataset"] = {
        "name": "quartets",
        "labels": ["Violin 1", "Violin 2", "Viola", "Cello"],
        "programs": [40, 40, 41, 42],
    }
    other = tmp_path / "quartets.ckpt"
    torch.save(ckpt, other)
    with pytest.raises(ToolkitError, match="quartets"):
        run_infer(_cfg(other, song, out, dataset="bach"))
    # wrong number of programs
    with pytest.raises(ToolkitError, match="programs"):
        run_infer(_cfg(tiny_lstm, song, out, programs="[0,1]"))
    assert not out.exists() or not any(out.iterdir())
    # existing output is not clobbered
    run_infer(_cfg(tiny_lstm, song, out))
    with pytest.raises(ToolkitError, match="exists"):
        run_infer(_cfg(tiny_lstm, song, out))


def test_cli_positional_input_and_one_error_line(tiny_lstm, song, tmp_path, monkeypatch, capsys):
    from arranger.infer import main
    from tests.common.entry_points import run_main

    status, _ = run_main(main, [str(song), f"ckpt={tiny_lstm}", f"output_dir={tmp_path}"], monkeypatch, capsys)
    assert status == 0 and (tmp_path / "song_arranged.mid").is_file()
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    status, err = run_main(main, [str(bad), f"ckpt={tiny_lstm}"], monkeypatch, capsys)
    assert status == 2 and err.startswith(f"error: {bad}: ") and err.count("\n") == 1
    assert not (tmp_path / "bad_arranged.mid").exists()


def track_notes(music) -> list[list[tuple[int, int]]]:
    """Each track's (time, pitch) pairs, sorted."""
    return [sorted((n.time, n.pitch) for n in t.notes) for t in music.tracks]


def test_device_option(tiny_lstm, song, tmp_path, monkeypatch):
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(torch.cuda, "is_available", lambda: False)
        with pytest.raises(ConfigError, match="device=cuda asks for a GPU"):
            run_infer(_cfg(tiny_lstm, song, out, device="cuda"))
    with pytest.raises(ConfigError, match="expected auto, cpu, cuda or cuda:N"):
        run_infer(_cfg(tiny_lstm, song, out, device="tpu"))
    with pytest.raises(ConfigError, match="precision"):
        run_infer(_cfg(tiny_lstm, song, out, precision="fp8"))
    assert not out.exists()
    assert compose("arranger", "infer").device == "auto"
    arranged = {}
    for device in ("cpu", "auto"):
        paths = run_infer(_cfg(tiny_lstm, song, tmp_path / device, device=device, png=False))
        arranged[device] = track_notes(read_music(paths["midi"], resolution=24))
    expected = Arranger.from_checkpoint(tiny_lstm).arrange(song)  # the Python API's default: the CPU
    assert arranged["cpu"] == track_notes(expected)
    if not torch.cuda.is_available():
        assert arranged["auto"] == arranged["cpu"]


def test_an_output_folder_that_cannot_be_made_is_one_error_line(tmp_path, monkeypatch, capsys):
    from arranger.infer import main
    from tests.common.entry_points import run_main

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status, err = run_main(main, ["song.mid", f"output_dir={blocker / 'out'}"], monkeypatch, capsys)
    assert (status, err) == (2, f"error: cannot create the output folder {blocker / 'out'}: {blocker} is a file\n")
    assert list(tmp_path.iterdir()) == [blocker]


def test_the_folder_beside_the_input_is_checked_before_the_piece_is_read(tiny_lstm, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ToolkitError, match=f"^cannot create the output folder {blocker}: {blocker} is a file$"):
        run(compose("arranger", "infer", [f"input={blocker / 'song.mid'}", f"ckpt={tiny_lstm}"]))


def test_use_input_parts_gives_a_hint_model_the_input_tracks(tmp_path, cache_dir, tiny_train, tiny_lstm, song):
    """The input's tracks, in order, are the parts a hint model starts from (``use_input_parts=true``; hint
    models always use them): swapping the input's soprano and bass tracks changes a hint model's arrangement
    and not that of a model without hints."""
    hinted = tiny_train(tmp_path, cache_dir, "zone_oracle") / "checkpoints" / "best.ckpt"  # a baseline: fitted
    music = read_music(song)
    music.tracks[0], music.tracks[3] = music.tracks[3], music.tracks[0]
    swapped = tmp_path / "swapped.mid"
    write_midi(music, swapped)

    def parts(ckpt, inp, out):
        return track_notes(read_music(run_infer(_cfg(ckpt, inp, tmp_path / out, use_input_parts=True))["midi"]))

    assert parts(hinted, song, "h1") != parts(hinted, swapped, "h2")
    assert parts(tiny_lstm, song, "l1") == parts(tiny_lstm, swapped, "l2")


def test_use_input_parts_needs_no_more_parts_than_the_model_knows(tiny_lstm, song, tmp_path):
    music = read_music(song)
    music.tracks.insert(0, music.tracks[0].deepcopy())  # five pitched parts
    five = tmp_path / "five.mid"
    write_midi(music, five)
    with pytest.raises(InputFileError, match=f"{five}: has 5 pitched parts but the model knows only 4"):
        run_infer(_cfg(tiny_lstm, five, tmp_path / "out", use_input_parts=True))
    assert not (tmp_path / "out").exists()
    assert run_infer(_cfg(tiny_lstm, five, tmp_path / "out"))["midi"].is_file()  # without it the tracks are ignored
