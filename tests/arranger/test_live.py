"""Live arrangement (issue 14): a chorale played message by message gets the parts of the batch prediction, on
the parts' channels, note-offs where their notes went, nothing left sounding; through ports with an in-memory
mido backend (this machine has no ALSA sequencer for virtual rtmidi ports)."""

from __future__ import annotations

from collections import Counter

import mido
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from arranger import predict
from arranger.data import get_spec
from arranger.live import DRUMS, LiveArranger, find_port
from arranger.live import run as live_run
from arranger.models import build_net
from arranger.predict import Arranger
from gm_common.cli import compose
from gm_common.errors import ConfigError
from gm_common.files import OutputExistsError
from gm_common.notes import read_music
from tests.arranger import midi_memory

BACKEND = "backend=tests.arranger.midi_memory"
BACH = get_spec("bach").as_dict()


def shipped_size(model: str, **change) -> Arranger:
    """A net of the shipped size with random weights (they give varied parts, so equal parts mean something)."""
    cfg = {**OmegaConf.to_container(compose("arranger", "train", [f"model={model}"]).model), **change}
    torch.manual_seed(0)
    return Arranger(cfg, BACH, net=build_net(cfg, len(BACH["labels"])))


def performance(notes: np.ndarray, qpm: float = 120.0) -> list[mido.Message]:
    """Notes (time, pitch, duration) in ticks as a performance: messages timed in seconds, at each instant
    the note-offs first, then the note-ons in the order given."""
    events = []
    for i, (t, p, d) in enumerate(np.asarray(notes)[:, :3]):
        events.append((t, 1, i, mido.Message("note_on", note=int(p), velocity=80)))
        events.append((t + d, 0, i, mido.Message("note_off", note=int(p))))
    events.sort(key=lambda e: e[:3])
    return [msg.copy(time=t * 60 / (qpm * 24)) for t, _, _, msg in events]


def sounding_after(messages: list[mido.Message]) -> Counter:
    """What a synth would still sound after ``messages``; a note-off for a note not sounding fails."""
    sounding = Counter()
    for msg in messages:
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[msg.channel, msg.note] += 1
        elif msg.type in ("note_on", "note_off"):
            assert sounding[msg.channel, msg.note] > 0, f"{msg} ends no note sounding on its channel"
            sounding[msg.channel, msg.note] -= 1
    return +sounding


def play_through(live: LiveArranger, messages: list[mido.Message]) -> list[mido.Message]:
    out = live.start()
    for msg in messages:
        out += live.process(msg)
    return out + live.stop()


@pytest.mark.parametrize("model", ["lstm", "transformer_dec"])
def test_a_chorale_played_live_gets_the_batch_parts(model, examples):
    arranger = shipped_size(model)
    notes = examples[0].notes[:, :3]
    live = LiveArranger(arranger)
    out = play_through(live, performance(notes))
    assert [(m.type, m.channel, m.program) for m in out[:4]] == [
        ("program_change", c, p) for c, p in enumerate(BACH["programs"])
    ]
    batch = arranger.predict(notes)
    assert len(set(batch)) > 1
    assert np.array_equal(live.notes[:, :2], notes[:, :2]) and np.array_equal(live.parts, batch)
    note_ons = [m for m in out if m.type == "note_on"]
    assert [m.channel for m in note_ons] == [live.channels[p] for p in batch]
    assert not sounding_after(out)
    assert np.array_equal(live.notes[:, 2], notes[:, 2])  # durations: each note-off ended its own note


def test_notes_of_an_onset_are_taken_in_the_order_they_come(examples):
    arranger = shipped_size("lstm")
    notes = examples[0].notes[:60, :3]
    rising = notes[np.lexsort((notes[:, 1], notes[:, 0]))]  # chords played low to high
    live = LiveArranger(arranger)
    play_through(live, performance(rising))
    assert np.array_equal(live.notes[:, :2], rising[:, :2])
    assert np.array_equal(live.parts, arranger.predict(rising))


def test_stop_ends_every_sounding_note_and_the_pedal(examples):
    live = LiveArranger(shipped_size("lstm"), channels=[2, 3, 5, 16])
    messages = performance(examples[0].notes[:40, :3])
    cut = next(i for i in range(len(messages) // 2, len(messages)) if messages[i].type == "note_on")
    half = messages[: cut + 1]  # stopped just after a key went down
    out = live.start()
    out += live.process(mido.Message("control_change", control=64, value=127))
    for msg in half:
        out += live.process(msg)
    assert sounding_after(out)  # notes are sounding when the player stops
    stop = live.stop(half[-1].time + 1.0)
    assert not sounding_after(out + stop)
    assert [(m.channel, m.value) for m in stop if m.type == "control_change"] == [(1, 0), (2, 0), (4, 0), (15, 0)]
    assert live.stop() == []


def test_controllers_drums_and_other_messages():
    live = LiveArranger(shipped_size("lstm"))
    parts_channels = [0, 1, 2, 3]
    pedal = live.process(mido.Message("control_change", channel=0, control=64, value=127))
    assert [(m.channel, m.control, m.value) for m in pedal] == [(c, 64, 127) for c in parts_channels]
    assert [m.channel for m in live.process(mido.Message("pitchwheel", pitch=100))] == parts_channels
    assert live.process(mido.Message("program_change", program=5)) == []
    on = live.process(mido.Message("note_on", note=64, time=0.0))
    touch = live.process(mido.Message("polytouch", note=64, value=30))
    assert [m.channel for m in touch] == [on[0].channel]
    kick = mido.Message("note_on", channel=DRUMS, note=36, time=0.5)
    assert live.process(kick) == [kick] and live.process(mido.Message("control_change", channel=DRUMS)) == [
        mido.Message("control_change", channel=DRUMS)
    ]
    clock = mido.Message("clock")
    assert live.process(clock) == [clock]
    assert len(live.notes) == 1  # the drum note is passed on, not arranged
    assert live.process(mido.Message("note_off", note=70)) == []  # a key pressed before the session: nothing to end
    music = live.music()
    assert [len(t.notes) for t in music.tracks] == [int(live.parts[0] == k) for k in range(4)] + [1]
    assert music.tracks[-1].is_drum


def test_models_that_cannot_run_live_are_errors():
    with pytest.raises(ConfigError, match="offline"):
        LiveArranger(shipped_size("bilstm"))
    with pytest.raises(ConfigError, match="durations"):
        LiveArranger(shipped_size("lstm", use_duration=True))
    with pytest.raises(ConfigError, match="hint"):
        LiveArranger(shipped_size("lstm", use_entry=True))


def test_too_few_channels_and_bad_settings_are_errors():
    arranger = shipped_size("lstm")
    with pytest.raises(ConfigError, match=r"3 channels for 4 parts \(Soprano, Alto, Tenor, Bass\)"):
        LiveArranger(arranger, channels=[1, 2, 3])
    with pytest.raises(ConfigError, match="not 10"):
        LiveArranger(arranger, channels=[1, 2, 3, 10])
    with pytest.raises(ConfigError, match="distinct"):
        LiveArranger(arranger, channels=[1, 2, 3, 3])
    many = {"name": "big", "labels": [f"p{i}" for i in range(16)], "programs": [0] * 16}
    cfg = arranger.model_cfg
    with pytest.raises(ConfigError, match="16 parts, more than the 15 MIDI channels"):
        LiveArranger(Arranger(cfg, many, net=build_net(cfg, 16)))
    with pytest.raises(ConfigError, match="programs"):
        LiveArranger(arranger, programs=[0, 1])
    with pytest.raises(ConfigError, match="qpm"):
        LiveArranger(arranger, qpm=0)


def test_ports_are_found_by_a_unique_part_of_their_name():
    ports = ["Midi Through:Midi Through Port-0 14:0", "USB Keys:USB Keys MIDI 1 20:0"]
    assert find_port("usb keys", ports, "in_port") == ports[1]
    assert find_port(None, ports, "in_port") == ports[1]  # the only one besides Midi Through
    with pytest.raises(ConfigError, match=r"in_port='Piano' is not a MIDI port here; available: 'Midi Through"):
        find_port("Piano", ports, "in_port")
    with pytest.raises(ConfigError, match="matches several"):
        find_port("MIDI", ports, "in_port")
    with pytest.raises(ConfigError, match="give the MIDI port: out_port=NAME; available: none"):
        find_port(None, [], "out_port")


@pytest.fixture
def ports(monkeypatch):
    """The in-memory backend's ports: a keyboard, a synth and ALSA's Midi Through."""
    monkeypatch.setattr(midi_memory, "INPUTS", {"Midi Through Port-0": [], "USB Keys MIDI 1": []})
    monkeypatch.setattr(midi_memory, "OUTPUTS", ["Midi Through Port-0", "FluidSynth"])
    monkeypatch.setattr(midi_memory, "SENT", {})
    return midi_memory


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, cache_dir, tiny_train, ship_model):
    root = tmp_path_factory.mktemp("pretrained")
    run_dir = tiny_train(tmp_path_factory.mktemp("live"), cache_dir, "lstm", ["test=false"])
    ship_model(root, "bach_lstm", run_dir / "checkpoints" / "last.ckpt", half=False)
    return root


def test_a_session_through_ports_is_arranged_and_recorded(shipped, ports, examples, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(predict, "PRETRAINED", shipped)
    notes = examples[0].notes[:80, :3]
    ports.INPUTS["USB Keys MIDI 1"] = performance(notes, qpm=1200)  # 2 ms a tick: a second's playing
    take = tmp_path / "take.mid"
    live = live_run(compose("arranger", "live", [BACKEND, "out_port=fluid", f"record={take}", "qpm=1200"]))
    sent = ports.SENT["FluidSynth"]
    assert [m.type for m in sent[:4]] == ["program_change"] * 4
    assert sum(m.type == "note_on" for m in sent) == len(live.notes) == len(notes)
    assert not sounding_after(sent)
    assert np.array_equal(live.notes[:, 1], notes[:, 1])
    assert np.array_equal(live.parts, Arranger.from_pretrained("bach_lstm", root=shipped).predict(live.notes))
    back = read_music(take)
    part = {name: k for k, name in enumerate(BACH["labels"])}  # a part that never played has no track
    rows = sorted((n.time, n.pitch, n.duration, part[t.name]) for t in back.tracks for n in t.notes)
    assert rows == sorted(zip(*live.notes[:, :3].T.tolist(), live.parts.tolist()))
    assert all(t.program == BACH["programs"][part[t.name]] for t in back.tracks)
    assert "'USB Keys MIDI 1' -> 'FluidSynth'" in capsys.readouterr().out
    with pytest.raises(OutputExistsError):  # before any port opens
        live_run(compose("arranger", "live", [BACKEND, "out_port=fluid", f"record={take}"]))


def test_a_virtual_port_and_the_port_list(shipped, ports, monkeypatch, capsys):
    monkeypatch.setattr(predict, "PRETRAINED", shipped)
    ports.INPUTS["USB Keys MIDI 1"] = [mido.Message("note_on", note=60), mido.Message("note_on", note=64)]
    live = live_run(compose("arranger", "live", [BACKEND, "virtual=true", "port_name=arranger", "channels=[4,5,6,7]"]))
    sent = ports.SENT["arranger"]
    assert {m.channel for m in sent} <= {3, 4, 5, 6} and len(live.notes) == 2 and not sounding_after(sent)
    assert sum(m.type == "note_off" for m in sent) == 2  # the two keys still down at the end of the input
    assert live_run(compose("arranger", "live", [BACKEND, "list_ports=true"])) is None
    assert "input ports: 'Midi Through Port-0', 'USB Keys MIDI 1'" in capsys.readouterr().out


def test_bad_sessions_are_one_clear_error_each(shipped, ports, monkeypatch, tiny_lstm, tmp_path):
    monkeypatch.setattr(predict, "PRETRAINED", shipped)
    bilstm = shipped_size("bilstm")
    state = {f"net.{k}": v for k, v in bilstm.net.state_dict().items()}
    torch.save(
        {"hyper_parameters": {"model": bilstm.model_cfg, "dataset": BACH}, "state_dict": state}, tmp_path / "b.ckpt"
    )
    cases = [
        ([f"ckpt={tmp_path / 'b.ckpt'}", "virtual=true"], "model bilstm is offline"),
        (["in_port=Piano", "virtual=true"], "in_port='Piano' is not a MIDI port here; available: 'Midi Through"),
        (["out_port=Yamaha"], "out_port='Yamaha' is not a MIDI port here; available: 'Midi Through Port-0', 'Fluid"),
        (["out_port=fluid", "virtual=true"], "not both"),
        ([f"ckpt={tiny_lstm}", "virtual=true"], "durations"),
        (["ckpt=bach_bilstm", "virtual=true"], "shipped: bach_lstm"),
        (["channels=[1,2,3]", "virtual=true"], "3 channels for 4 parts"),
    ]
    for overrides, match in cases:
        with pytest.raises(ConfigError, match=match):
            live_run(compose("arranger", "live", [BACKEND, *overrides]))
    assert ports.SENT == {}  # no port was opened


def test_a_backend_without_a_midi_system_is_a_clear_error():
    from arranger.live import open_backend
    from gm_common.errors import MissingDependencyError

    with pytest.raises(MissingDependencyError, match="cannot load"):
        open_backend("mido.backends.no_such_backend")


def test_a_zone_baseline_runs_live(examples):
    from arranger.baselines import Baseline

    zone = Arranger({"kind": "zone", "name": "zone"}, BACH, baseline=Baseline("zone", 4).fit(examples))
    notes = examples[1].notes[:, :3]
    live = LiveArranger(zone)
    play_through(live, performance(notes))
    assert np.array_equal(live.parts, zone.predict(notes)) and len(set(live.parts)) > 1


def test_a_recording_folder_that_cannot_be_made_is_one_error_line(tmp_path, monkeypatch, capsys):
    from arranger.live import main
    from tests.common.entry_points import run_main

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status, err = run_main(main, ["virtual=true", f"record={blocker / 'takes' / 'take.mid'}"], monkeypatch, capsys)
    assert (status, err) == (2, f"error: cannot create the output folder {blocker / 'takes'}: {blocker} is a file\n")
    assert list(tmp_path.iterdir()) == [blocker]
