"""Shared fixtures: one running studio for the session (built once: its models load once), a chorale to upload."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gm_common.cli import compose


@dataclass
class Server:
    """A studio serving on localhost: its address, config, shared models and the folder requests work in."""

    url: str
    cfg: object
    models: object
    work_root: Path


@pytest.fixture(scope="session")
def chorale() -> Path:
    """A Bach chorale (MusicXML) from the music21 corpus."""
    import music21

    return Path(str(music21.corpus.getWork("bach/bwv10.7")))


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """The studio on 127.0.0.1, any free port, the Sound tab at 5 diffusion steps; closed after the session."""
    from studio.app import build, launch
    from studio.models import ModelCache

    work_root = tmp_path_factory.mktemp("studio-work")
    cfg = compose("studio", "app", ["port=0", f"work_root={work_root}", "sound.steps=5", "concurrency=2"])
    models = ModelCache()
    demo = build(cfg, models)
    url = launch(demo, cfg)
    yield Server(url, cfg, models, work_root)
    demo.close()


@pytest.fixture(scope="session")
def client(server):
    """A ``gradio_client.Client`` of the session's studio."""
    from gradio_client import Client

    return Client(server.url, verbose=False)
