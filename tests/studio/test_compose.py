from types import SimpleNamespace

import gradio as gr
import pytest

from gm_common.cli import compose as compose_config
from studio.compose import MODES, compose, instrument_names, mode_temperature, modes_of
from studio.models import ModelCache


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cfg = compose_config("studio", "app", [f"work_root={tmp_path_factory.mktemp('work')}"])
    return ModelCache(), cfg


def test_each_mode_asks_generate_for_its_own_arguments():
    assert MODES["unconditional"].kwargs(["violin"], "a.mid", 4) == {}
    assert MODES["instruments"].kwargs(["violin"], "a.mid", 4) == {"instruments": ["violin"]}
    assert MODES["continuation"].kwargs(["violin"], "a.mid", 8) == {"prompt": "a.mid", "beats": 8}


def test_adding_a_part_is_offered_by_models_that_add_parts_only(setup):
    models, _ = setup
    assert "add a part" not in modes_of(models, "corpus_tiny")  # trained in time order
    infill = ModelCache({"mmt": lambda name: SimpleNamespace(adds_parts=True)})
    assert modes_of(infill, "any") == ["add a part"]
    assert MODES["add a part"].kwargs(["bass"], "a.mid", 4) == {"prompt": "a.mid", "add": ["bass"]}
    assert mode_temperature("add a part") == 0.5 and mode_temperature("unconditional") == 1.0  # the presets'


def test_the_instrument_list_is_the_encodings(setup):
    models, cfg = setup
    names = instrument_names(models, "corpus_tiny")
    assert names == list(models.get("mmt", "corpus_tiny").encoding.instruments) and "violin" in names


def test_instruments_mode_composes_for_those_instruments(setup):
    models, cfg = setup
    roll, wav, midi, summary = next(
        compose(models, cfg, "corpus_tiny", "instruments", ["violin", "cello"], None, 4, 1, 1.0)
    )
    names = {part.split(" ")[0] for part in summary.split(": ", 1)[1].split(", ")}
    assert names <= {"violin", "cello"}, summary


@pytest.mark.parametrize(
    "mode, instruments, beats, message",
    [
        ("instruments", ["kazoo"], 4, "unknown instrument 'kazoo'; valid names: "),
        ("sideways", [], 4, "unknown mode 'sideways'"),
        ("continuation", [], 4, "upload a MIDI or MusicXML file first"),
    ],
)
def test_bad_requests_are_one_line_errors(setup, mode, instruments, beats, message):
    models, cfg = setup
    with pytest.raises(gr.Error, match=message):
        next(compose(models, cfg, "corpus_tiny", mode, instruments, None, beats, 0, 1.0))


def test_beats_out_of_range_are_refused(setup, chorale):
    models, cfg = setup
    with pytest.raises(gr.Error, match="beats must be in 1..16, got 99"):
        next(compose(models, cfg, "corpus_tiny", "continuation", [], str(chorale), 99, 0, 1.0))
