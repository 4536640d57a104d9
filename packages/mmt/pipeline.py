"""The Python API: a trained MMT (a shipped model by name, or a user's checkpoint by path) and its three modes.

    from mmt.pipeline import MMT

    mmt = MMT.from_pretrained("corpus_tiny")
    songs = mmt.generate(n_samples=2)                               # unconditional
    songs = mmt.generate(instruments=["violin", "viola", "cello"])  # instrument-informed
    songs = mmt.generate(prompt="piece.mxl", beats=4)               # continuation of the first 4 beats
    songs = MMT.from_pretrained("outputs/mmt/<infill run>").generate(prompt="song.mid", add=["bass"])  # add a part

``generate`` returns ``muspy.Music`` objects and writes nothing (``python -m mmt.generate`` is the command line
that writes files). Shipped models live in :data:`PRETRAINED` (``<name>/model.safetensors`` + ``card.json``).
"""

from __future__ import annotations

from pathlib import Path

import muspy
import numpy as np
import torch

from gm_common.corpus import Piece
from gm_common.errors import ConfigError, InputFileError
from gm_common.notes import read_music
from gm_common.pretrained import resolve
from mmt.data import PART_LAYOUTS, file_beside, layout_of
from mmt.harmony import HARMONY_FILE, HarmonyGuide, load_harmony
from mmt.infill import add_part
from mmt.model import MMTTransformer, load_model
from mmt.parts import assign_programs
from mmt.representation import TYPE_SOS, Encoding, codes_from_notes, decode, extract_notes, notes_from_infill
from mmt.sampling import (
    PRESETS,
    SamplingConfig,
    decoding_for,
    generate,
    generate_among,
    mode_preset,
    sampling_preset,
    trim,
)

PRETRAINED = Path(__file__).parent / "pretrained"
DEFAULT_MODEL = "corpus_tiny"


# -- prompts of the three modes ------------------------------------------------------------------
def unconditional_prompt() -> np.ndarray:
    """The prompt of unconditional generation: one start-of-song row."""
    prompt = np.zeros((1, 6), dtype=np.int64)
    prompt[0, 0] = TYPE_SOS
    return prompt


def instrument_prompt(names: list[str], encoding: Encoding) -> np.ndarray:
    """Start-of-song, one row per named instrument (validated), start-of-notes."""
    if not names:
        raise ConfigError(
            f"instrument-informed mode needs at least one instrument; valid: {', '.join(encoding.instruments)}"
        )
    codes = [encoding.instrument_code(str(n)) for n in names]
    return codes_from_notes(np.zeros((0, 5), dtype=np.int64), instruments=np.array(codes))[:-1]  # without end-of-song


def prompt_music(prompt: str | Path | muspy.Music, encoding: Encoding) -> tuple[Path, muspy.Music]:
    """A prompt's name and music: a MIDI/MusicXML file read (parts mapped to programs as in training), or as given."""
    if isinstance(prompt, muspy.Music):
        return Path("<prompt music>"), prompt
    where = Path(prompt)
    return where, assign_programs(Piece(where.name, read_music(where, resolution=encoding.resolution))).music


def prompt_notes(prompt: str | Path | muspy.Music, encoding: Encoding, whole: bool = False) -> np.ndarray:
    """Encoded notes of a MIDI/MusicXML file (parts mapped to programs as in training) or of a ``muspy.Music``;
    with ``whole``, past the encoding's ``max_beat`` too."""
    return music_notes(*prompt_music(prompt, encoding), encoding, whole)


def music_notes(where: Path, music: muspy.Music, encoding: Encoding, whole: bool = False) -> np.ndarray:
    """Encoded notes of a prompt's music (``whole``: past ``max_beat`` too); an InputFileError naming ``where`` when
    it has none that the encoding represents."""
    notes = extract_notes(music, encoding, whole)
    if len(notes) == 0:
        raise InputFileError(
            where, "file contains no notes that the encoding can represent (drums or dropped programs only?)"
        )
    return notes


def continuation_codes(notes: np.ndarray, beats: int) -> np.ndarray:
    """All rows of a piece's encoded notes before beat ``beats``: its instruments, start-of-notes, the notes so far."""
    return codes_from_notes(notes[notes[:, 0] < beats], instruments=np.unique(notes[:, 4]))[:-1]


def continuation_prompt(prompt: str | Path | muspy.Music, beats: int, encoding: Encoding) -> np.ndarray:
    """All rows of a piece (a file or music) before beat ``beats``: its instruments, start-of-notes, the notes."""
    return continuation_codes(prompt_notes(prompt, encoding), beats)


def mode_of(instruments: list[str] | None, prompt: object | None, add: list[str] | None = None) -> str:
    """The mode that the arguments ask for: ``add`` (parts to add), ``continuation`` (a prompt), ``instrument`` or
    ``unconditional``."""
    if add:
        return "add"
    return "continuation" if prompt is not None else "instrument" if instruments else "unconditional"


def with_parts(music: muspy.Music, parts: list[np.ndarray], encoding: Encoding) -> muspy.Music:
    """A copy of ``music`` (every track and note kept) with each of ``parts`` (note rows of one instrument) as a new
    track named after its instrument, at the music's resolution."""
    out = music.deepcopy()
    scale = music.resolution / encoding.resolution
    for notes in parts:
        if not len(notes):
            continue
        code = int(notes[0, 4])
        track = muspy.Track(program=encoding.instrument_programs[code - 1], name=encoding.instrument_name(code))
        for beat, position, pitch, duration, _ in notes.tolist():
            ticks = int(encoding.duration_values[duration - 1])
            time = round((beat * encoding.resolution + position) * scale)
            track.notes.append(muspy.Note(time=time, pitch=pitch, duration=max(1, round(ticks * scale)), velocity=64))
        out.tracks.append(track)
    return out


class MMT:
    """A trained Multitrack Music Transformer ready to generate: network, encoding and training hyper-parameters."""

    def __init__(self, net: MMTTransformer, encoding: Encoding, hyper_parameters: dict, source: Path):
        self.net, self.encoding, self.hyper_parameters, self.source = net, encoding, hyper_parameters, source

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path = DEFAULT_MODEL,
        root: Path = PRETRAINED,
        device: str | torch.device = "cpu",
        encoding: Encoding | None = None,
        model: dict | None = None,
    ) -> MMT:
        """A shipped model by name (``root/<name>/model.safetensors``), or a checkpoint file or run folder by path.

        An unknown name is a ``ConfigError`` listing the shipped names; a damaged file a ``CheckpointError``.
        ``encoding`` / ``model`` (sizes), when given, must match the checkpoint's."""
        path = resolve(Path(root), name_or_path)
        net, ck_encoding, hp = load_model(path, encoding=encoding, model_cfg=model)
        return cls(net.to(device), ck_encoding, hp, path)

    @property
    def device(self) -> torch.device:
        """The device the network is on."""
        return self.net.head.weight.device

    def prompt(self, instruments: list[str] | None = None, prompt: str | Path | muspy.Music | None = None,
               beats: int = 4) -> np.ndarray:  # fmt: skip
        """The prompt codes of the mode the arguments ask for (see :func:`mode_of`), every input checked."""
        mode = mode_of(instruments, prompt)
        if self.adds_parts:  # its pieces from scratch run sparse to the window's last beat (README)
            raise ConfigError(f"{self.source} was trained to add parts (data.layout={self.layout}), not for the {mode} "
                              "mode: give prompt=<file> add=[...], or use a model such as corpus_tiny")  # fmt: skip
        if mode == "continuation":
            return continuation_prompt(prompt, beats, self.encoding)
        if mode == "instrument":
            return instrument_prompt(list(instruments), self.encoding)
        return unconditional_prompt()

    def sample(self, prompt: np.ndarray, n_samples: int = 1, sampling: SamplingConfig | None = None, seed: int = 0,
               max_events: int | None = None, batch_size: int = 8, cuda_graph: str | bool = "auto",
               ) -> list[np.ndarray]:  # fmt: skip
        """``n_samples`` code sequences (each up to its end-of-song) continuing ``prompt``, ``batch_size`` at a
        time, drawn from a generator seeded with ``seed``; ``max_events`` rows in all (default: the model's).
        ``cuda_graph`` (``auto``: on CUDA) replays each step as a CUDA graph (see :func:`mmt.sampling.generate`)."""
        decoding = decoding_for(cuda_graph, self.device)
        if len(prompt) >= self.net.max_seq_len:
            raise ConfigError(f"the prompt has {len(prompt)} events, more than the model's {self.net.max_seq_len}")
        generator = torch.Generator(device=self.device).manual_seed(int(seed))
        out: list[np.ndarray] = []
        while len(out) < n_samples:
            b = min(batch_size, n_samples - len(out))
            batch = torch.as_tensor(prompt, dtype=torch.long).unsqueeze(0).expand(b, -1, -1).contiguous()
            codes = generate(self.net, batch, max_events, sampling, decoding, generator)
            out += [seq.cpu().numpy() for seq in trim(codes)]
        return out

    @property
    def layout(self) -> str:
        """The data layout the model was trained on (:data:`mmt.data.LAYOUTS`)."""
        return layout_of(self.hyper_parameters.get("data"))

    @property
    def adds_parts(self) -> bool:
        """Whether the model was trained to add parts (a layout of :data:`mmt.data.PART_LAYOUTS`), and only that."""
        return self.layout in PART_LAYOUTS

    def require_infill(self) -> None:
        """A ConfigError naming the experiment that trains a model able to add parts, unless this is one."""
        if not self.adds_parts:
            raise ConfigError(
                f"{self.source} was trained with data.layout={self.layout} and cannot add parts; a model trained "
                "with python -m mmt.train experiment=corpus_tiny_infill can"
            )

    def harmony_weights(self) -> torch.Tensor:
        """The weights of the harmony model beside the checkpoint (:data:`mmt.harmony.HARMONY_FILE`); a ConfigError
        saying how to fit one where there is none."""
        path = file_beside(self.source, HARMONY_FILE)
        if path is None:
            raise ConfigError(f"sampling with harmony>0 needs {HARMONY_FILE} beside {self.source}: fit it with "
                              f"python -m mmt.harmony checkpoint={self.source}, or sample with harmony=0")  # fmt: skip
        return load_harmony(path)

    def check_add(self, add: list[str], prompt: object | None, instruments: list[str] | None = None) -> list[int]:
        """The instrument codes of the parts to add, every argument checked (a ConfigError saying what to change)."""
        self.require_infill()
        if prompt is None:
            raise ConfigError("add= adds parts to a piece: give prompt=<a MIDI or MusicXML file>")
        if instruments:
            raise ConfigError("give either instruments= (a new piece) or add= (parts added to the prompt), not both")
        if not add:
            raise ConfigError(f"add= names no instrument; valid names: {', '.join(self.encoding.instruments)}")
        codes = [self.encoding.instrument_code(str(name)) for name in add]
        if len(set(codes)) < len(codes):
            raise ConfigError(f"add={list(add)} names an instrument twice")
        return codes

    def add_parts(self, prompt: str | Path | muspy.Music, add: list[str], n_samples: int = 1,
                  sampling: SamplingConfig | None = None, seed: int = 0, max_events: int | None = None,
                  cuda_graph: str | bool = "auto") -> list[muspy.Music]:  # fmt: skip
        """The prompt with a new part for each instrument of ``add`` over the whole piece, ``n_samples`` times (each
        its own draws from one generator seeded with ``seed``); every note of the prompt is kept. The parts are added
        in turn, each conditioned on the prompt's parts and those added before it, in windows of the model's
        training length (:func:`mmt.infill.add_part`); ``max_events`` caps a window's events (default: its training
        windows', ``data.max_seq_len``); ``sampling`` defaults to the ``add`` preset."""
        codes = self.check_add(list(add), prompt)
        sampling = sampling or PRESETS[mode_preset(True)]
        where, music = prompt_music(prompt, self.encoding)
        notes = music_notes(where, music, self.encoding, whole=True)
        present = set(np.unique(notes[:, 4]).tolist())
        for name, code in zip(add, codes):
            if code in present:
                have = ", ".join(self.encoding.instrument_name(c) for c in sorted(present))
                raise ConfigError(f"{where} already has a {self.encoding.instrument_name(code)} part ({have}); "
                                  f"add= names parts it lacks")  # fmt: skip
        decoding = decoding_for(cuda_graph, self.device)
        generator = torch.Generator(device=self.device).manual_seed(int(seed))
        data = self.hyper_parameters.get("data") or {}
        trained = int(data.get("max_seq_len") or self.net.max_seq_len)  # the events of its training windows
        max_len = min(int(max_events or trained), self.net.max_seq_len)
        max_beat = int(data.get("max_beat") or self.encoding.max_beat)
        ahead = int(data.get("ahead", 1)) if self.layout == "interleave" else None
        weights = self.harmony_weights() if sampling.harmony else None

        def draw(prompt_codes: np.ndarray, given: np.ndarray, end_from: int) -> np.ndarray:
            guide = None
            if weights is not None:
                others, _, _ = notes_from_infill(np.concatenate([prompt_codes, given]), self.encoding)
                guide = HarmonyGuide(others, weights, sampling.harmony, self.encoding, self.device)
            if ahead is not None:
                return generate_among(self.net, torch.as_tensor(prompt_codes), torch.as_tensor(given), ahead, max_len,
                                      sampling, generator, end_from, guide).cpu().numpy()  # fmt: skip
            batch = torch.as_tensor(prompt_codes, dtype=torch.long)[None]
            codes = generate(self.net, batch, max_len, sampling, decoding, generator, end_from=end_from, harmony=guide)
            return trim(codes)[0].cpu().numpy()

        songs = []
        for _ in range(n_samples):
            context, parts = notes, []
            for code in codes:
                part = add_part(context, code, draw, self.encoding, min(max_beat, self.encoding.max_beat), max_len,
                                ahead=ahead)
                parts.append(part)
                context = np.unique(np.concatenate([context, part]), axis=0)
            songs.append(with_parts(music, parts, self.encoding))
        return songs

    def decode(self, codes: np.ndarray) -> muspy.Music:
        """A code sequence as multitrack music (one track per instrument)."""
        return decode(codes, self.encoding)

    def generate(
        self,
        n_samples: int = 1,
        instruments: list[str] | None = None,
        prompt: str | Path | muspy.Music | None = None,
        beats: int = 4,
        seed: int = 0,
        max_events: int | None = None,
        sampling: str | SamplingConfig | None = None,
        temperature: float | None = None,
        filter_threshold: float | None = None,
        top_p: float | None = None,
        min_p: float | None = None,
        only_declared_instruments: bool | None = None,
        batch_size: int = 8,
        cuda_graph: str | bool = "auto",
        add: list[str] | None = None,
    ) -> list[muspy.Music]:
        """Generate ``n_samples`` pieces: unconditionally (no arguments), with the named ``instruments``, or
        continuing the first ``beats`` beats of ``prompt`` (a MIDI/MusicXML file or ``muspy.Music``); with ``add``
        (instrument names), the whole ``prompt`` with a new part for each (:meth:`add_parts`; an infill model).
        ``sampling``: a preset of :data:`mmt.sampling.PRESETS` (None: ``default``, or ``add`` when adding parts;
        ``paper``: the paper's top-k alone) or a :class:`~mmt.sampling.SamplingConfig`; the other sampling arguments
        override it where given.
        ``cuda_graph`` as in :meth:`sample`."""
        preset = sampling or mode_preset(add is not None)
        sampling = sampling_preset(preset, temperature=temperature, filter_threshold=filter_threshold, top_p=top_p,
                                   min_p=min_p, only_declared_instruments=only_declared_instruments)  # fmt: skip
        if add is None and sampling.harmony:
            raise ConfigError(f"harmony={sampling.harmony} weighs the pitches of a part being added: give add=[...]")
        if add is not None:
            self.check_add(list(add), prompt, instruments)
            return self.add_parts(prompt, list(add), n_samples, sampling, seed, max_events, cuda_graph)
        codes = self.prompt(instruments, prompt, beats)
        seqs = self.sample(codes, n_samples, sampling, seed, max_events, batch_size, cuda_graph)
        return [self.decode(c) for c in seqs]
