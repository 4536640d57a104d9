"""Play a MIDI keyboard and hear every note on its part's channel as you play: the streaming model gives each
incoming note its part the moment the key goes down.

    python -m arranger.live list_ports=true
    python -m arranger.live in_port=Keyboard virtual=true       # a synth or DAW connects to the port "arranger"
    python -m arranger.live in_port=Keyboard out_port=FluidSynth ckpt=quartets_lstm record=take.mid

``LiveArranger`` holds the whole behaviour without ports: it takes mido messages whose ``time`` is seconds on
one clock and returns the messages to send. ``play`` binds it to an input and an output port. The first
note-on is beat 0 of a grid at ``qpm``; the model sees each note at the nearest of its 24 ticks per beat.

- At start, a program change on each part's channel (the dataset's programs, or ``programs``).
- A note-on goes out on its part's channel; its note-off follows it there (tracked per input channel and
  pitch, first on, first off). Notes on the drum channel (10) pass through as they are.
- Controllers (sustain included), pitch bend and channel pressure go to every part's channel: the notes of
  one input channel are spread over all of them. Poly pressure goes to the channel of the key's note.
  Program changes from the input are dropped (each part keeps its program); system messages pass through.
- At stop (Ctrl-C or the end of the input), a note-off for every sounding note and the sustain pedal
  released where it is down: no note is left hanging.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Sequence

import mido
import muspy
import numpy as np
from omegaconf import DictConfig

from arranger.predict import Arranger
from arranger.representation import RESOLUTION, decode
from arranger.streaming import StreamingArranger
from gm_common.cli import entry_point
from gm_common.errors import ConfigError, MissingDependencyError
from gm_common.files import check_writable
from gm_common.notes import DEFAULT_QPM, write_midi

DRUMS = 9  # MIDI channel 10, counted from 0 as mido does
SUSTAIN = 64
DRUM_PART = -1
BROADCAST = ("control_change", "pitchwheel", "aftertouch")  # channel-wide: sent to every part's channel


def part_channels(channels: Sequence[int] | None, labels: Sequence[str]) -> list[int]:
    """The output channel (0-based) of each part: ``channels`` (1..16, one per part, not 10) or the first free ones."""
    if channels is None:
        free = [c for c in range(16) if c != DRUMS]
        if len(labels) > len(free):
            raise ConfigError(
                f"the model has {len(labels)} parts, more than the 15 MIDI channels for pitched parts "
                "(16 minus the drum channel 10)"
            )
        return free[: len(labels)]
    channels = [int(c) for c in channels]
    if len(channels) != len(labels):
        raise ConfigError(
            f"channels={channels} gives {len(channels)} channels for {len(labels)} parts ({', '.join(labels)}): "
            "give one channel per part"
        )
    if any(not 1 <= c <= 16 or c == DRUMS + 1 for c in channels) or len(set(channels)) != len(channels):
        raise ConfigError(f"channels={channels}: give distinct channels in 1..16, not 10 (drums)")
    return [c - 1 for c in channels]


class LiveArranger:
    """Arranges a live performance, message by message: ``start()``, then ``process(msg)`` for each incoming
    message (``msg.time``: seconds on the session's clock), then ``stop()``; each returns the messages to send."""

    def __init__(
        self,
        arranger: Arranger,
        programs: Sequence[int] | None = None,
        channels: Sequence[int] | None = None,
        qpm: float = DEFAULT_QPM,
    ):
        name = f"model {arranger.name}" + (f" ({arranger.kind})" if arranger.kind != arranger.name else "")
        if not arranger.online:
            raise ConfigError(
                f"{name} is offline (it reads the notes after each note): it cannot run live; "
                "use an online model such as ckpt=bach_lstm"
            )
        if arranger.needs_hints:
            raise ConfigError(f"{name} needs each note's given part as a hint, which a live performance lacks")
        self.stream = StreamingArranger(arranger)
        if self.stream.uses_duration:
            raise ConfigError(f"{name} reads note durations, unknown when a key goes down: it cannot run live")
        if qpm <= 0:
            raise ConfigError(f"qpm must be positive, got {qpm}")
        self.arranger, self.qpm = arranger, float(qpm)
        self.programs = arranger.part_programs(programs)
        self.channels = part_channels(channels, arranger.dataset["labels"])
        self.origin: float | None = None  # clock time of the first note-on: tick 0
        self.tick = 0
        self.rows: list[list[int]] = []  # every note played: time, pitch, duration, velocity, part, channel
        self.sounding: dict[tuple[int, int], deque[int]] = defaultdict(deque)  # (in channel, pitch) -> rows
        self.pedal_down: set[int] = set()  # output channels whose sustain pedal is down

    def start(self) -> list[mido.Message]:
        """A program change on each part's channel."""
        return [mido.Message("program_change", channel=c, program=p) for c, p in zip(self.channels, self.programs)]

    def _tick(self, seconds: float) -> int:
        """The model's tick (24 per beat at ``qpm``, from the first note-on) of a clock time; never going back."""
        if self.origin is None:
            self.origin = seconds
        self.tick = max(self.tick, round((seconds - self.origin) * self.qpm / 60 * RESOLUTION))
        return self.tick

    def process(self, msg: mido.Message) -> list[mido.Message]:
        """The messages to send for one incoming message."""
        if not hasattr(msg, "channel"):
            return [msg]
        if msg.type == "note_on" and msg.velocity > 0:
            return self._note_on(msg)
        if msg.type in ("note_on", "note_off"):
            return self._note_off(msg)
        if msg.channel == DRUMS:
            return [msg]
        if msg.type == "polytouch":
            rows = self.sounding.get((msg.channel, msg.note))
            return [msg.copy(channel=self.rows[rows[-1]][5])] if rows else []
        if msg.type not in BROADCAST:
            return []
        if msg.type == "control_change" and msg.control == SUSTAIN:
            self.pedal_down = set(self.channels) if msg.value >= 64 else set()
        return [msg.copy(channel=c) for c in self.channels]

    def _note_on(self, msg: mido.Message) -> list[mido.Message]:
        tick = self._tick(msg.time)
        if msg.channel == DRUMS:
            part, channel = DRUM_PART, DRUMS
        else:
            part = self.stream.step(tick, msg.note)
            channel = self.channels[part]
        self.sounding[msg.channel, msg.note].append(len(self.rows))
        self.rows.append([tick, msg.note, 0, msg.velocity, part, channel])
        return [msg.copy(channel=channel)]

    def _note_off(self, msg: mido.Message) -> list[mido.Message]:
        rows = self.sounding.get((msg.channel, msg.note))
        if not rows:  # a key that went down before the session started
            return []
        row = self._end(rows.popleft(), self._tick(msg.time))
        if not rows:
            del self.sounding[msg.channel, msg.note]
        return [msg.copy(channel=row[5])]

    def _end(self, index: int, tick: int) -> list[int]:
        row = self.rows[index]
        row[2] = max(1, tick - row[0])  # a note shorter than a tick keeps one, so the recording keeps it
        return row

    def stop(self, seconds: float | None = None) -> list[mido.Message]:
        """Note-offs for every sounding note (ended at ``seconds``, else at the last message) and the sustain
        pedal released where it is down: nothing is left hanging."""
        tick = self.tick if seconds is None or self.origin is None else self._tick(seconds)
        out = []
        for rows in self.sounding.values():
            for index in rows:
                row = self._end(index, tick)
                out.append(mido.Message("note_off", channel=row[5], note=row[1]))
        out += [mido.Message("control_change", channel=c, control=SUSTAIN, value=0) for c in sorted(self.pedal_down)]
        self.sounding.clear()
        self.pedal_down.clear()
        return out

    @property
    def notes(self) -> np.ndarray:
        """(N, 4) time, pitch, duration, velocity of the pitched notes played, in the order they came."""
        rows = np.array(self.rows, np.int64).reshape(-1, 6)
        return rows[rows[:, 4] != DRUM_PART, :4]

    @property
    def parts(self) -> np.ndarray:
        """The part the model gave each of ``notes``."""
        parts = np.array([row[4] for row in self.rows], np.int64)
        return parts[parts != DRUM_PART]

    def music(self) -> muspy.Music:
        """The performance so far as one track per part (with its program) plus drums, at 24 ticks per beat."""
        rows = np.array(self.rows, np.int64).reshape(-1, 6)
        drums = rows[rows[:, 4] == DRUM_PART, :4]
        return decode(self.notes, self.parts, self.arranger.dataset, self.programs, drums, self.qpm)


def play(live: LiveArranger, inport: mido.ports.BaseInput, outport: mido.ports.BaseOutput) -> None:
    """Send the programs, then arrange every message from ``inport`` to ``outport`` until Ctrl-C or the end of
    the input; the sounding notes are ended on the way out, whatever stops the loop."""
    for msg in live.start():
        outport.send(msg)
    try:
        for msg in inport:
            msg.time = time.perf_counter()
            for out in live.process(msg):
                outport.send(out)
    except KeyboardInterrupt:
        pass
    finally:
        for out in live.stop(time.perf_counter()):
            outport.send(out)


def open_backend(name: str) -> mido.Backend:
    """The mido backend ``name`` (``mido.backends.rtmidi``, ``.../UNIX_JACK``), checked to reach a MIDI system."""
    try:
        backend = mido.Backend(name, load=True)
        backend.get_input_names()
    except ImportError as err:
        raise MissingDependencyError(f"MIDI backend {name} cannot load ({err}); install python-rtmidi") from err
    except Exception as err:  # rtmidi raises its own SystemError when the OS has no MIDI system
        raise MissingDependencyError(
            f"MIDI backend {name} reaches no MIDI system: {err} (Linux needs the ALSA sequencer, /dev/snd/seq; "
            "for JACK use backend=mido.backends.rtmidi/UNIX_JACK)"
        ) from err
    return backend


def find_port(wanted: str | None, available: Sequence[str], option: str) -> str:
    """The port named ``wanted`` (exactly, or the only name holding it, any case); without ``wanted``, the only
    port that is not ALSA's "Midi Through". ``option`` (``in_port``/``out_port``) names the setting in errors."""
    if wanted is None:
        found = [p for p in available if not p.startswith("Midi Through")]
    else:
        found = [p for p in available if p == wanted] or [p for p in available if wanted.lower() in p.lower()]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(repr(p) for p in available) or "none"
    if wanted is None:
        raise ConfigError(f"give the MIDI port: {option}=NAME; available: {listed}")
    what = "matches several ports" if found else "is not a MIDI port here"
    raise ConfigError(f"{option}={wanted!r} {what}; available: {listed}")


def print_ports(backend: mido.Backend) -> dict[str, list[str]]:
    """Print the MIDI input and output ports; returns them."""
    ports = {"input": backend.get_input_names(), "output": backend.get_output_names()}
    for kind, names in ports.items():
        print(f"{kind} ports: " + (", ".join(repr(n) for n in names) or "none"))
    return ports


def run(cfg: DictConfig) -> LiveArranger | None:
    """Arrange what ``cfg.in_port`` plays onto ``cfg.out_port`` (or a virtual port) until Ctrl-C; returns the
    session (its notes and parts), after writing ``cfg.record`` when asked."""
    if cfg.list_ports:
        print_ports(open_backend(cfg.backend))
        return None
    if cfg.record:
        check_writable(cfg.record, cfg.overwrite)
    if cfg.virtual and cfg.out_port:
        raise ConfigError("give out_port=NAME or virtual=true, not both")
    arranger = Arranger.from_pretrained(cfg.ckpt, expect_dataset=cfg.dataset)
    programs = list(cfg.programs) if cfg.programs is not None else None
    channels = list(cfg.channels) if cfg.channels is not None else None
    live = LiveArranger(arranger, programs, channels, DEFAULT_QPM if cfg.qpm is None else cfg.qpm)
    backend = open_backend(cfg.backend)
    in_name = find_port(cfg.in_port, backend.get_input_names(), "in_port")
    out_name = cfg.port_name if cfg.virtual else find_port(cfg.out_port, backend.get_output_names(), "out_port")
    labels = arranger.dataset["labels"]
    print(
        f"arranging {in_name!r} -> {out_name!r}{' (virtual)' if cfg.virtual else ''} with {arranger.name}: "
        + ", ".join(f"{n} ch {c + 1} program {p}" for n, c, p in zip(labels, live.channels, live.programs))
        + "; Ctrl-C stops"
    )
    try:
        with backend.open_input(in_name) as inport, backend.open_output(out_name, virtual=cfg.virtual) as outport:
            play(live, inport, outport)
    finally:
        if cfg.record:
            write_midi(live.music(), cfg.record, overwrite=cfg.overwrite)
            print(f"record: {cfg.record}")
    counts = np.bincount(live.parts, minlength=len(labels))
    print(f"played {len(live.parts)} notes: " + ", ".join(f"{n} {c}" for n, c in zip(labels, counts)))
    return live


main = entry_point("arranger", "live")(run)

if __name__ == "__main__":
    main()
