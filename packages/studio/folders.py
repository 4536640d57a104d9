"""Each request's own temporary folder: everything a request writes goes there, and it is removed afterwards."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "studio-"


@contextmanager
def request_folder(root: str | Path | None = None) -> Iterator[Path]:
    """A new folder under ``root`` (default: the system's temporary folder), removed on exit, also on failure."""
    if root is not None:
        Path(root).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
