"""The Sound tab: text (or, in mode iq, an image) to audio with CLIPSonic; audio and a mel spectrogram out."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import gradio as gr
import numpy as np
from omegaconf import DictConfig

from clipsonic.pipeline import MODES
from gm_common.plots import plot_mel
from studio.errors import shown_in_page
from studio.folders import request_folder
from studio.media import PLOT_LOCK
from studio.models import ModelCache, shipped

Outputs = tuple[tuple[int, np.ndarray] | None, str | None, str]  # audio, spectrogram, summary
MODE_LABELS = {"pd": "pd: text -> prior -> image embedding", "zs": "zs: text embedding", "iq": "iq: an image"}


def pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] as 16-bit samples (what the page's player gets)."""
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def sound(
    models: ModelCache,
    cfg: DictConfig,
    text: str,
    model: str,
    mode: str,
    seed: int,
    guidance: float,
    steps: int,
    image: np.ndarray | None = None,
    progress: Callable[..., object] = lambda *a, **k: None,
) -> Iterator[Outputs]:
    """One sound for ``text`` (modes zs, pd) or ``image`` (iq); yields the outputs once (the request's folder is
    removed afterwards)."""
    with shown_in_page():
        with request_folder(cfg.work_root) as folder:
            if not models.is_loaded("clipsonic", model):
                gr.Info(f"loading the CLIPSonic models {model} (once)")
            progress(0.1, desc=f"sampling {steps} diffusion steps ({mode})")
            with models.using("clipsonic", model) as pipe:
                out = pipe(
                    None if mode == "iq" else text,
                    mode=mode,
                    image=image if mode == "iq" else None,
                    guidance=float(guidance),
                    steps=int(steps),
                    sampler=str(cfg.sound.sampler),
                    seed=int(seed),
                )
                mel = pipe.mel
            title = f"{text if mode != 'iq' else 'image query'} ({mode}, seed {seed}, guidance {guidance:g})"
            with PLOT_LOCK:
                png = plot_mel(
                    out.log_mels[0], folder / "spectrogram.png", mel["sample_rate"], mel["hop_length"], title
                )
            seconds = out.audio.shape[-1] / out.sample_rate
            summary = f"{seconds:.2f} s at {out.sample_rate} Hz, {steps} steps of {cfg.sound.sampler}"
            yield (out.sample_rate, pcm16(out.audio[0])), str(png), summary


def tab(models: ModelCache, cfg: DictConfig) -> None:
    """The Sound tab's inputs, outputs and events (``/sound``), inside the open ``gr.Blocks``."""
    names = list(shipped("clipsonic"))
    with gr.Tab("Sound", id="sound"):
        gr.Markdown(
            "Text to audio: CLIPSonic learned sounds from unlabeled videos (the `everyday` models know "
            "12 everyday sound events, `synthetic` the sounds of coloured shapes)."
        )
        with gr.Row():
            with gr.Column(scale=1):
                text = gr.Textbox(label="text", placeholder="dog barking", elem_id="sound-text")
                model = gr.Dropdown(names, value=cfg.models.clipsonic, label="models", elem_id="sound-model")
                mode = gr.Radio(
                    [(MODE_LABELS[m], m) for m in ("pd", "zs", "iq") if m in MODES],
                    value="pd",
                    label="mode",
                    elem_id="sound-mode",
                )
                image = gr.Image(label="image (mode iq)", type="numpy", visible=False, elem_id="sound-image")
                with gr.Row():
                    seed = gr.Number(0, precision=0, label="seed", elem_id="sound-seed")
                    guidance = gr.Slider(0.0, 10.0, value=3.0, step=0.5, label="guidance", elem_id="sound-guidance")
                steps = gr.Slider(5, 100, value=int(cfg.sound.steps), step=5, label="diffusion steps")
                button = gr.Button("Make the sound", variant="primary", elem_id="sound-button")
            with gr.Column(scale=2):
                audio = gr.Audio(label="audio", type="numpy", elem_id="sound-audio")
                spectrogram = gr.Image(label="mel spectrogram", type="filepath", elem_id="sound-spectrogram")
                summary = gr.Textbox(label="sound", elem_id="sound-summary")

        def handler(
            text: str,
            model: str,
            mode: str,
            seed: int,
            guidance: float,
            steps: int,
            image: np.ndarray | None,
            progress: gr.Progress = gr.Progress(),
        ) -> Iterator[Outputs]:
            yield from sound(models, cfg, text, model, mode, seed, guidance, steps, image, progress)

        mode.change(lambda m: gr.update(visible=m == "iq"), mode, image, queue=False, api_name=False)
        inputs = [text, model, mode, seed, guidance, steps, image]
        button.click(handler, inputs, [audio, spectrogram, summary], api_name="sound", concurrency_id="work")
        text.submit(handler, inputs, [audio, spectrogram, summary], api_name=False, concurrency_id="work")
