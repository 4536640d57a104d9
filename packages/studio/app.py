"""The studio, a local web app with a tab per toolkit: ``python -m studio [host=127.0.0.1] [port=7860]``.

Tabs: Arrange (a part for every note of a file), Compose (MMT's modes), Sound (CLIPSonic, text to audio) and
Models (the shipped models and their cards). ``build`` makes the page and never launches it; ``launch`` serves
it (queue, upload limit, local fonts, 127.0.0.1 unless ``host=`` says otherwise); ``run`` is the command.
"""

from __future__ import annotations

import logging
import socket

import gradio as gr
import torch
from omegaconf import DictConfig

from gm_common.cli import entry_point
from studio import arrange, catalog, compose, sound
from studio.models import ModelCache

log = logging.getLogger(__name__)
# system fonts only: Gradio's default theme would fetch its font from a CDN
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "Consolas", "monospace"]
)


def build(cfg: DictConfig, models: ModelCache | None = None) -> gr.Blocks:
    """The page: a tab per toolkit and the Models tab, every model shared through ``models`` (never launched)."""
    models = models or ModelCache()
    seconds = int(float(cfg.cache_hours) * 3600)
    with gr.Blocks(title="genmusic studio", delete_cache=(seconds, seconds), analytics_enabled=False) as demo:
        gr.Markdown("# genmusic studio\nArrange a piece, compose one, make a sound: the toolkits' shipped models.")
        with gr.Tabs():
            arrange.tab(models, cfg)
            compose.tab(models, cfg)
            sound.tab(models, cfg)
            catalog.tab()
    demo.queue(max_size=int(cfg.queue_size), default_concurrency_limit=int(cfg.concurrency))
    return demo


def free_port(host: str) -> int:
    """A port that is free on ``host`` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def launch(demo: gr.Blocks, cfg: DictConfig, block: bool = False) -> str:
    """Serve ``demo`` on ``cfg.host``:``cfg.port`` (0: any free port); returns its address. ``block`` waits until
    the server is stopped (Ctrl-C)."""
    port = int(cfg.port) or free_port(str(cfg.host))
    _, url, _ = demo.launch(
        server_name=str(cfg.host),
        server_port=port,
        share=False,
        max_file_size=f"{float(cfg.max_file_size_mb):g}mb",
        prevent_thread_lock=not block,
        ssr_mode=False,
        quiet=True,
        theme=THEME,
        max_threads=int(cfg.max_threads),
        run_history=False,  # its page offers to save runs to a Hugging Face bucket: never from this app
    )
    return url


def run(cfg: DictConfig) -> None:
    """Build the page and serve it until stopped."""
    if cfg.torch_threads:
        torch.set_num_threads(int(cfg.torch_threads))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up checks, a line per request
    demo = build(cfg)
    print(f"studio: http://{cfg.host}:{cfg.port or '(a free port)'}  (Ctrl-C stops it)", flush=True)
    launch(demo, cfg, block=True)


main = entry_point("studio", "app")(run)

if __name__ == "__main__":
    main()
