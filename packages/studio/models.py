"""The toolkits' models, each loaded once on first use and shared by every request.

A model serves one request at a time (its lock): requests for different models run side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from arranger import predict as arranger_predict
from clipsonic import pipeline as clipsonic_pipeline
from gm_common.pretrained import list_pretrained
from mmt import pipeline as mmt_pipeline

TOOLKITS = ("arranger", "mmt", "clipsonic")
# what loads a shipped model by name, and where a toolkit keeps its shipped models
LOADERS: dict[str, Callable[[str], Any]] = {
    "arranger": arranger_predict.Arranger.from_pretrained,
    "mmt": mmt_pipeline.MMT.from_pretrained,
    "clipsonic": clipsonic_pipeline.ClipSonicPipeline.from_pretrained,
}
ROOTS: dict[str, Path] = {
    "arranger": arranger_predict.PRETRAINED,
    "mmt": mmt_pipeline.PRETRAINED,
    "clipsonic": clipsonic_pipeline.PRETRAINED,
}


def shipped(toolkit: str) -> dict[str, dict]:
    """A toolkit's shipped models: name -> card."""
    return list_pretrained(ROOTS[toolkit])


class ModelCache:
    """Loaded models by (toolkit, name): loaded once, behind a lock, on first use."""

    def __init__(self, loaders: dict[str, Callable[[str], Any]] | None = None):
        self._loaders = dict(LOADERS if loaders is None else loaders)
        self._models: dict[tuple[str, str], Any] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._load_lock = threading.Lock()
        self.loads = 0  # how many models were loaded (each one once)

    def is_loaded(self, toolkit: str, name: str) -> bool:
        """Whether the model is loaded already (a request for it starts at once)."""
        return (toolkit, name) in self._models

    def get(self, toolkit: str, name: str) -> Any:
        """The model, loaded now if it is the first request for it."""
        key = (toolkit, str(name))
        with self._load_lock:
            if key not in self._models:
                self._models[key] = self._loaders[toolkit](str(name))
                self._locks[key] = threading.Lock()
                self.loads += 1
            return self._models[key]

    @contextmanager
    def using(self, toolkit: str, name: str) -> Iterator[Any]:
        """The model, held by this request until the block ends."""
        model = self.get(toolkit, name)
        with self._locks[(toolkit, str(name))]:
            yield model
