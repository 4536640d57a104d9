"""The Python API (``mmt.pipeline.MMT``) on a model shipped into a temporary root (as scripts/pretrained.py does)."""

import shutil
from dataclasses import replace

import muspy
import pytest
import torch

from gm_common.checkpoint import load_checkpoint
from gm_common.errors import CheckpointError, ConfigError
from gm_common.pretrained import export_checkpoint, print_pretrained, write_card
from mmt.model import MMTTransformer
from mmt.pipeline import DEFAULT_MODEL, MMT
from mmt.representation import Encoding
from mmt.sampling import PRESETS

ENC = Encoding()
SHIPPED = "tiny_test"  # the name conftest.pretrained_root ships the trained run under


def test_from_pretrained_by_name_loads_the_shipped_weights(pretrained_root, trained_run):
    mmt = MMT.from_pretrained(SHIPPED, root=pretrained_root, device="cpu")
    ckpt = load_checkpoint(trained_run / "checkpoints" / "last.ckpt")
    for key, value in mmt.net.state_dict().items():  # fp16 on disk
        assert torch.allclose(value, ckpt["state_dict"][f"net.{key}"], atol=1e-3, rtol=1e-3), key
    assert mmt.encoding == ENC and mmt.net.dim == 32 and not mmt.net.training
    assert mmt.source == pretrained_root / SHIPPED / "model.safetensors"


def test_generate_three_modes_returns_music_and_writes_nothing(pretrained_root, tmp_path, monkeypatch):
    from gm_common.corpus import list_collection

    monkeypatch.chdir(tmp_path)
    mmt = MMT.from_pretrained(SHIPPED, root=pretrained_root)
    chorale = list_collection("bach_chorales")[0]
    unconditional = mmt.generate(n_samples=3, max_events=40, batch_size=2)
    informed = mmt.generate(instruments=["violin", "viola"], max_events=40)
    continued = mmt.generate(prompt=chorale, beats=4, max_events=120)
    assert len(unconditional) == 3 and all(isinstance(m, muspy.Music) for m in unconditional + informed + continued)
    assert {t.name for t in informed[0].tracks} <= {"violin", "viola"}
    assert sum(len(t.notes) for t in continued[0].tracks) > 0  # at least the prompt's notes
    # a muspy.Music works as a prompt too
    again = mmt.generate(prompt=continued[0], beats=4, max_events=120)
    assert sum(len(t.notes) for t in again[0].tracks) > 0
    assert not any(tmp_path.iterdir())


def test_the_seed_fixes_the_samples(pretrained_root):
    mmt = MMT.from_pretrained(SHIPPED, root=pretrained_root)
    a, b = (mmt.sample(mmt.prompt(), 2, seed=5, max_events=50) for _ in range(2))
    c = mmt.sample(mmt.prompt(), 2, seed=6, max_events=50)
    assert all((x == y).all() for x, y in zip(a, b))
    assert any(x.shape != z.shape or (x != z).any() for x, z in zip(a, c))


def test_unknown_name_lists_the_shipped_ones(pretrained_root):
    with pytest.raises(ConfigError, match=f"unknown pretrained model 'nope'; shipped: {SHIPPED}"):
        MMT.from_pretrained("nope", root=pretrained_root)


def test_damaged_file_is_a_checkpoint_error(pretrained_root, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(pretrained_root, root)
    weights = root / SHIPPED / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="damaged"):
        MMT.from_pretrained(SHIPPED, root=root)


def test_list_models_shows_each_card(pretrained_root, capsys):
    assert list(print_pretrained(pretrained_root)) == [SHIPPED]
    summary = "a tiny MMT trained for 3 steps on 12 chorales (tests)"
    assert capsys.readouterr().out.split() == [SHIPPED, *summary.split()]


def test_a_checkpoint_of_commit_bac9ecd_ships_and_loads(tmp_path):
    """The layout the shipped model's training run saves (MMTLightning of commit bac9ecd: an encoding without
    ``voices``, 64 instrument classes), exported as scripts/pretrained.py does:
    ``export_checkpoint(ckpt, out, prefix="net.")``. It loads as ``voices=merged``, what it was trained with."""
    model = {"name": "tiny", "dim": 32, "depth": 2, "heads": 2, "ff_mult": 4, "dropout": 0.1, "max_seq_len": 64,
             "attn_dropout": 0.0}  # fmt: skip
    data = {"_target_": "mmt.data.MMTDataModule", "collections": ["bach_chorales", "string_quartets"], "folder": None,
            "limit": None, "max_beat": 256, "max_seq_len": 512, "batch_size": 8, "num_workers": 0, "pin_memory": "auto",
            "persistent_workers": True, "seed": 0, "cache_dir": None, "min_notes": 50}  # fmt: skip
    optim = {"lr": 1e-3, "warmup_steps": 100, "decay_end_steps": 2400, "final_lr_ratio": 0.1}
    torch.manual_seed(0)
    merged = Encoding(voices="merged")
    encoding = {k: v for k, v in merged.to_dict().items() if k != "voices"}
    net = MMTTransformer(merged.vocab_sizes, **{k: v for k, v in model.items() if k != "name"})
    ckpt = {"hyper_parameters": {"model": model, "encoding": encoding, "optim": optim, "data": data},
            "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}, "global_step": 2400}  # fmt: skip
    torch.save(ckpt, tmp_path / "last.ckpt")
    export_checkpoint(tmp_path / "last.ckpt", tmp_path / "root" / DEFAULT_MODEL / "model.safetensors", prefix="net.")
    write_card(tmp_path / "root" / DEFAULT_MODEL, {"summary": "test"})
    mmt = MMT.from_pretrained(root=tmp_path / "root")  # the default name
    x = torch.zeros(1, 5, 6, dtype=torch.long)
    assert torch.allclose(mmt.net(x), net.eval()(x), atol=1e-2)
    assert mmt.hyper_parameters["data"] == data and mmt.encoding == merged and mmt.net.vocab_sizes[5] == 65
    song = mmt.generate(max_events=30)[0]
    assert song.resolution == merged.resolution and {t.name for t in song.tracks} <= set(merged.instruments)
    with pytest.raises(ConfigError, match="voices=merged"):
        mmt.generate(instruments=["soprano", "alto"])


def _chorale_without_bass(folder) -> tuple:
    """The first chorale (horn, soprano, alto, tenor; 79 beats) written as MIDI without its bass, and the file."""
    from gm_common.corpus import Piece, list_collection
    from gm_common.notes import read_music, write_midi
    from mmt.parts import assign_programs

    path = list_collection("bach_chorales")[0]
    music = assign_programs(Piece(path.name, read_music(path, resolution=12))).music
    music.tracks = [t for t in music.tracks if t.name != "Bass"]
    return write_midi(music, folder / "no_bass.mid")


def _notes_of(track) -> list[tuple[int, int, int]]:
    return sorted((n.time, n.pitch, n.duration) for n in track.notes)


def test_add_keeps_every_note_of_the_prompt_and_adds_the_part_over_the_whole_long_piece(playing_infill, tmp_path):
    """The chorale (79 beats) is longer than the model's 32-beat windows: the part is written in windows."""
    from mmt.pipeline import prompt_music

    prompt = _chorale_without_bass(tmp_path)
    mmt = MMT.from_pretrained(playing_infill)
    assert mmt.layout == "infill" and mmt.hyper_parameters["data"]["max_beat"] == 32
    music = mmt.generate(prompt=prompt, add=["bass"], seed=1)[0]
    _, given = prompt_music(prompt, mmt.encoding)
    assert [t.name for t in music.tracks] == [t.name for t in given.tracks] + ["bass"]
    for before, after in zip(given.tracks, music.tracks):  # every note of the prompt, as it was read
        assert _notes_of(before) == _notes_of(after) and before.program == after.program
    bass = music.tracks[-1]
    assert bass.program == 52 and len(bass.notes) > 20
    assert max(n.time for n in bass.notes) >= 64 * 12  # past the first window, into the last (from beat 48)
    assert music.tempos == given.tempos and music.resolution == given.resolution
    # the same seed gives the same part; two parts at once: each its own track
    again = mmt.generate(prompt=prompt, add=["bass"], seed=1)[0]
    assert _notes_of(again.tracks[-1]) == _notes_of(bass)
    both = mmt.generate(prompt=given, add=["cello", "bass"], max_events=200)[0]
    assert [t.name for t in both.tracks[-2:]] == ["cello", "bass"] and all(t.notes for t in both.tracks[-2:])


def test_add_checks_its_arguments(playing_infill, trained_run, pretrained_root, tmp_path):
    import numpy as np

    from gm_common.errors import InputFileError
    from gm_common.notes import music_from_tracks, write_midi

    prompt = _chorale_without_bass(tmp_path)
    mmt = MMT.from_pretrained(playing_infill)
    with pytest.raises(ConfigError, match=r"unknown instrument 'kazoo'; valid names: piano, .*, bass, "):
        mmt.generate(prompt=prompt, add=["kazoo"])
    with pytest.raises(ConfigError, match="already has a tenor part \\(soprano, alto, tenor, horn\\)"):
        mmt.generate(prompt=prompt, add=["tenor"])
    with pytest.raises(ConfigError, match="give prompt="):
        mmt.generate(add=["bass"])
    with pytest.raises(ConfigError, match="not both"):
        mmt.generate(prompt=prompt, add=["bass"], instruments=["violin"])
    effects = music_from_tracks([("fx", 120, False, np.array([[0, 36, 12]]))], 12)  # a program MMT drops
    effects = write_midi(effects, tmp_path / "effects.mid")
    with pytest.raises(InputFileError, match="effects.mid: file contains no notes that the encoding can represent"):
        mmt.generate(prompt=effects, add=["bass"])
    with pytest.raises(ConfigError, match="add= names no instrument; valid names: piano"):
        mmt.generate(prompt=prompt, add=[])
    with pytest.raises(ConfigError, match="names an instrument twice"):
        mmt.generate(prompt=prompt, add=["bass", "Bass"])
    for time_layout in (MMT.from_pretrained(trained_run), MMT.from_pretrained(SHIPPED, root=pretrained_root)):
        why = "trained with data.layout=time and cannot add parts; a model trained with python -m mmt.train "
        with pytest.raises(ConfigError, match=why + "experiment=corpus_tiny_infill can"):
            time_layout.generate(prompt=prompt, add=["bass"])


@pytest.mark.parametrize("kwargs", [{}, {"instruments": ["bass"]}, {"beats": 4}])
def test_an_infill_model_offers_only_adding_parts(playing_infill, tmp_path, kwargs):
    mmt = MMT.from_pretrained(playing_infill)
    if "beats" in kwargs:
        kwargs = kwargs | {"prompt": _chorale_without_bass(tmp_path)}
    with pytest.raises(ConfigError, match=r"trained to add parts \(data.layout=infill\), not for the \w+ mode"):
        mmt.generate(**kwargs)


def test_a_model_in_the_interleaved_layout_adds_a_part_too(playing_infill, tmp_path):
    """The same weights read as a model of the interleaved layout: each window's other parts are given to
    mmt.sampling.generate_among, which puts them in among the part's onsets and notes."""
    mmt = MMT.from_pretrained(playing_infill)
    mmt.hyper_parameters = mmt.hyper_parameters | {"data": mmt.hyper_parameters["data"] | {"layout": "interleave"}}
    assert mmt.adds_parts and mmt.layout == "interleave"
    music = mmt.generate(prompt=_chorale_without_bass(tmp_path), add=["bass"], seed=1, max_events=300)[0]
    assert music.tracks[-1].name == "bass" and max(n.time for n in music.tracks[-1].notes) >= 64 * 12


def test_a_part_is_written_in_windows_of_the_events_the_model_was_trained_on(monkeypatch, playing_infill, tmp_path):
    import numpy as np

    import mmt.pipeline

    windows = []
    monkeypatch.setattr(mmt.pipeline, "add_part", lambda *a, **k: windows.append(a[5]) or np.zeros((0, 5), int))
    model = MMT.from_pretrained(playing_infill)
    assert model.net.max_seq_len == 256
    model.hyper_parameters = model.hyper_parameters | {"data": model.hyper_parameters["data"] | {"max_seq_len": 100}}
    prompt = _chorale_without_bass(tmp_path)
    model.generate(prompt=prompt, add=["bass"])
    model.generate(prompt=prompt, add=["bass"], max_events=180)
    assert windows == [100, 180]  # its training windows' events unless asked for more (up to its positions)


def test_adding_a_part_takes_the_add_preset_unless_another_is_named(monkeypatch, playing_infill):
    seen = []
    mmt = MMT.from_pretrained(playing_infill)
    monkeypatch.setattr(MMT, "add_parts", lambda self, prompt, add, n, sampling, *a: seen.append(sampling) or [])
    monkeypatch.setattr(MMT, "check_add", lambda self, *a: [])
    mmt.generate(prompt="a.mid", add=["bass"])
    mmt.generate(prompt="a.mid", add=["bass"], sampling="default", temperature=0.8)
    assert seen[0] == PRESETS["add"] and seen[0].temperature == 0.5
    assert seen[1] == replace(PRESETS["default"], temperature=0.8)


def test_adding_a_part_weighs_pitches_by_the_harmony_model_beside_the_weights(playing_infill, tmp_path):
    """The add preset draws each pitch with the harmony model (mmt.harmony) found beside the weights; without the
    file it is an error naming the command that fits one; harmony= outside adding a part is an error."""
    import numpy as np

    from mmt.harmony import HARMONY_FILE
    from mmt.parts_metrics import consonance
    from mmt.sampling import sampling_preset

    assert PRESETS["add"].harmony > 0
    prompt = _chorale_without_bass(tmp_path)
    mmt = MMT.from_pretrained(playing_infill)
    plain, guided = (mmt.generate(prompt=prompt, add=["bass"], seed=2, max_events=200,
                                  sampling=sampling_preset("add", harmony=h))[0] for h in (0.0, 8.0))  # fmt: skip

    def bass_against_the_others(music):
        ticks = [np.array([(n.time, n.duration, n.pitch) for n in t.notes]) for t in music.tracks]
        return consonance(ticks[-1], np.concatenate(ticks[:-1]))

    assert bass_against_the_others(guided) > bass_against_the_others(plain) + 0.3  # 0.72 against 0.24 when written
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(playing_infill, alone / "model.safetensors")
    with pytest.raises(ConfigError, match=f"needs {HARMONY_FILE} beside .*python -m mmt.harmony .*harmony=0"):
        MMT.from_pretrained(alone / "model.safetensors").generate(prompt=prompt, add=["bass"])
    with pytest.raises(ConfigError, match="harmony=0.6 weighs the pitches of a part being added"):
        mmt.generate(sampling=sampling_preset("default", harmony=0.6))
