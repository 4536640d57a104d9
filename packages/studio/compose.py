"""The Compose tab: MMT's modes (unconditional, instruments, continuation of a prompt file, adding parts to it)
with seed and temperature; piano roll, audio and MIDI out.

A mode is one row of :data:`MODES`: the inputs it shows and the keyword arguments of ``MMT.generate`` it
makes from them. "add a part" (``MMT.generate(add=[...])``, instruments added to a prompt file's parts) is the one
mode of a model trained to add parts (``MMT.adds_parts``), which the others' modes do not offer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gradio as gr
from omegaconf import DictConfig

from gm_common.errors import ConfigError
from mmt.sampling import PRESETS, mode_preset
from studio.errors import shown_in_page
from studio.folders import request_folder
from studio.inputs import SCORE_TYPES, check_upload
from studio.media import track_summary, write_piece
from studio.models import ModelCache, shipped

Outputs = tuple[str | None, str | None, str | None, str]  # piano roll, audio, MIDI, summary


@dataclass(frozen=True)
class Mode:
    """A Compose mode: the inputs it shows (of ``instruments``, ``prompt``, ``beats``) and its ``generate`` keywords."""

    inputs: tuple[str, ...]
    kwargs: Callable[[list[str], str | None, int], dict]


MODES = {
    "unconditional": Mode((), lambda instruments, prompt, beats: {}),
    "instruments": Mode(("instruments",), lambda instruments, prompt, beats: {"instruments": instruments}),
    "continuation": Mode(("prompt", "beats"), lambda instruments, prompt, beats: {"prompt": prompt, "beats": beats}),
    "add a part": Mode(("instruments", "prompt"), lambda instruments, prompt, beats: {"prompt": prompt,
                                                                                      "add": instruments}),
}
ADDS_PARTS = "add a part"  # the mode of models that add parts only
INPUTS = ("instruments", "prompt", "beats")


def compose(
    models: ModelCache,
    cfg: DictConfig,
    model: str,
    mode: str,
    instruments: list[str] | None,
    prompt: str | None,
    beats: int,
    seed: int,
    temperature: float,
    progress: Callable[..., object] = lambda *a, **k: None,
) -> Iterator[Outputs]:
    """One MMT sample in ``mode``; yields the outputs once (the request's folder is removed afterwards)."""
    with shown_in_page([prompt]):
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        wanted = MODES[mode]
        if "prompt" in wanted.inputs:
            prompt = str(check_upload(prompt, SCORE_TYPES, float(cfg.max_file_size_mb), "a MIDI or MusicXML file"))
        if "beats" in wanted.inputs and not 1 <= int(beats) <= int(cfg.compose.max_beats):
            raise ConfigError(f"beats must be in 1..{cfg.compose.max_beats}, got {beats}")
        kwargs = wanted.kwargs(list(instruments or []), prompt, int(beats))
        with request_folder(cfg.work_root) as folder:
            if not models.is_loaded("mmt", model):
                gr.Info(f"loading the MMT model {model} (once)")
            progress(0.1, desc=f"composing with {model} ({mode})")
            with models.using("mmt", model) as mmt:
                music = mmt.generate(n_samples=1, seed=int(seed), temperature=float(temperature), **kwargs)[0]
            if not any(t.notes for t in music.tracks):
                yield None, None, None, "the sample has no notes: try another seed"
                return
            progress(0.8, desc="drawing and rendering")
            files = write_piece(music, folder, f"mmt_{mode.replace(' ', '_')}_{int(seed)}", f"MMT {mode}, seed {seed}")
            summary = f"{files.notes} notes: {track_summary(music)}" + (f" ({files.note})" if files.note else "")
            yield str(files.png), files.wav and str(files.wav), str(files.midi), summary


def instrument_names(models: ModelCache, model: str) -> list[str]:
    """The instrument names the model's encoding knows (the valid values of ``instruments``)."""
    return list(models.get("mmt", model).encoding.instruments)


def mode_temperature(mode: str) -> float:
    """The temperature a mode starts at: its preset's (``add`` when adding a part, else ``default``)."""
    return PRESETS[mode_preset(mode == ADDS_PARTS)].temperature


def modes_of(models: ModelCache, model: str) -> list[str]:
    """The modes a model offers: "add a part" alone for one trained to add parts, the others otherwise."""
    adds = models.get("mmt", model).adds_parts
    return [mode for mode in MODES if (mode == ADDS_PARTS) == adds]


def tab(models: ModelCache, cfg: DictConfig) -> None:
    """The Compose tab's inputs, outputs and events (``/compose``), inside the open ``gr.Blocks``."""
    names = list(shipped("mmt"))
    with gr.Tab("Compose", id="compose"):
        gr.Markdown(
            "Multitrack music from the Multitrack Music Transformer: from scratch, for the instruments you "
            "pick, or continuing the first beats of a file; or, with corpus_tiny_infill, parts added to a file."
        )
        with gr.Row():
            with gr.Column(scale=1):
                model = gr.Dropdown(names, value=cfg.models.mmt, label="model", elem_id="compose-model")
                modes = modes_of(models, cfg.models.mmt)
                mode = gr.Radio(modes, value=modes[0], label="mode", elem_id="compose-mode")
                instruments = gr.Dropdown(
                    instrument_names(models, cfg.models.mmt),
                    value=[],
                    multiselect=True,
                    label="instruments",
                    visible=False,
                    elem_id="compose-instruments",
                )
                prompt = gr.File(
                    label="prompt (MIDI or MusicXML)",
                    file_types=list(SCORE_TYPES),
                    type="filepath",
                    visible=False,
                    elem_id="compose-prompt",
                )
                beats = gr.Slider(
                    1,
                    int(cfg.compose.max_beats),
                    value=4,
                    step=1,
                    label="beats of the prompt kept",
                    visible=False,
                    elem_id="compose-beats",
                )
                with gr.Row():
                    seed = gr.Number(0, precision=0, label="seed", elem_id="compose-seed")
                    temperature = gr.Slider(
                        0.1, 2.0, value=mode_temperature(modes[0]), step=0.05, label="temperature"
                    )
                button = gr.Button("Compose", variant="primary", elem_id="compose-button")
            with gr.Column(scale=2):
                roll = gr.Image(label="piano roll", type="filepath", elem_id="compose-roll")
                audio = gr.Audio(label="audio", type="filepath", elem_id="compose-audio")
                midi = gr.File(label="MIDI", elem_id="compose-midi")
                summary = gr.Textbox(label="tracks", elem_id="compose-summary")

        def show_inputs(mode: str) -> list[dict]:
            shown = MODES[mode].inputs if mode in MODES else ()
            return [gr.update(visible=name in shown) for name in INPUTS] + [gr.update(value=mode_temperature(mode))]

        def new_model(model: str, current: str) -> tuple[dict, dict]:
            with shown_in_page():
                modes = modes_of(models, model)
                return (gr.update(choices=instrument_names(models, model), value=[]),
                        gr.update(choices=modes, value=current if current in modes else modes[0]))  # fmt: skip

        def handler(
            model: str,
            mode: str,
            instruments: list[str] | None,
            prompt: str | None,
            beats: int,
            seed: int,
            temperature: float,
            progress: gr.Progress = gr.Progress(),
        ) -> Iterator[Outputs]:
            yield from compose(models, cfg, model, mode, instruments, prompt, beats, seed, temperature, progress)

        mode.change(show_inputs, mode, [instruments, prompt, beats, temperature], queue=False, api_name=False)
        model.change(new_model, [model, mode], [instruments, mode], api_name=False)
        button.click(
            handler,
            [model, mode, instruments, prompt, beats, seed, temperature],
            [roll, audio, midi, summary],
            api_name="compose",
            concurrency_id="work",
        )
