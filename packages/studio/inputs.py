"""Upload checks, before anything loads: a file of the right kind and size, else an error that says which."""

from __future__ import annotations

from pathlib import Path

from gm_common.errors import InputFileError, ToolkitError

SCORE_TYPES = (".mid", ".midi", ".mxl", ".musicxml", ".xml")


def check_upload(path: str | Path | None, types: tuple[str, ...], max_mb: float, what: str) -> Path:
    """``path`` if it is a ``types`` file of at most ``max_mb`` MB; a :class:`ToolkitError` otherwise."""
    if not path:
        raise ToolkitError(f"upload {what} first")
    path = Path(path)
    if path.suffix.lower() not in types:
        raise InputFileError(path.name, f"not {what} (expected {', '.join(types)})")
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        raise InputFileError(path.name, f"is {size / 1024 / 1024:.1f} MB; the limit is {max_mb:g} MB")
    return path
