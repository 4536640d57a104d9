"""The Arrange tab: a MIDI or MusicXML file in; every note gets a part; piano roll, audio and MIDI out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr
from omegaconf import DictConfig

from studio.errors import shown_in_page
from studio.folders import request_folder
from studio.inputs import SCORE_TYPES, check_upload
from studio.media import track_summary, write_piece
from studio.models import ModelCache, shipped

Outputs = tuple[str | None, str | None, str | None, str]  # piano roll, audio, MIDI, summary


def arrange(
    models: ModelCache,
    cfg: DictConfig,
    upload: str | None,
    model: str,
    progress: Callable[..., object] = lambda *a, **k: None,
) -> Iterator[Outputs]:
    """Arrange the uploaded piece with the shipped model ``model``; yields the outputs once (the request's folder is
    removed when the generator resumes, after Gradio has copied the files)."""
    with shown_in_page([upload]):
        path = check_upload(upload, SCORE_TYPES, float(cfg.max_file_size_mb), "a MIDI or MusicXML file")
        with request_folder(cfg.work_root) as folder:
            if not models.is_loaded("arranger", model):
                gr.Info(f"loading the arranger model {model} (once)")
            progress(0.1, desc=f"arranging with {model}")
            with models.using("arranger", model) as arranger:
                music = arranger.arrange(path)
                title = f"{Path(path).name} arranged by {arranger.name} ({arranger.dataset['name']})"
            progress(0.5, desc="drawing and rendering")
            files = write_piece(music, folder, f"{Path(path).stem}_arranged", title)
            summary = f"{files.notes} notes: {track_summary(music)}" + (f" ({files.note})" if files.note else "")
            yield str(files.png), files.wav and str(files.wav), str(files.midi), summary


def tab(models: ModelCache, cfg: DictConfig) -> None:
    """The Arrange tab's inputs, outputs and event (``/arrange``), inside the open ``gr.Blocks``."""
    names = list(shipped("arranger"))
    with gr.Tab("Arrange", id="arrange"):
        gr.Markdown("Upload a piece (MIDI or MusicXML, one part or many): every note gets a part.")
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(
                    label="MIDI or MusicXML file",
                    file_types=list(SCORE_TYPES),
                    type="filepath",
                    elem_id="arrange-upload",
                )
                model = gr.Dropdown(names, value=cfg.models.arranger, label="model", elem_id="arrange-model")
                button = gr.Button("Arrange", variant="primary", elem_id="arrange-button")
            with gr.Column(scale=2):
                roll = gr.Image(label="piano roll", type="filepath", elem_id="arrange-roll")
                audio = gr.Audio(label="audio", type="filepath", elem_id="arrange-audio")
                midi = gr.File(label="arranged MIDI", elem_id="arrange-midi")
                summary = gr.Textbox(label="parts", elem_id="arrange-summary")

        def handler(upload: str | None, model: str, progress: gr.Progress = gr.Progress()) -> Iterator[Outputs]:
            yield from arrange(models, cfg, upload, model, progress)

        button.click(handler, [upload, model], [roll, audio, midi, summary], api_name="arrange", concurrency_id="work")
