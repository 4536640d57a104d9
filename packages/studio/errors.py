"""A failed request shows one line in the page: the toolkit's own message, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

from gm_common.errors import ToolkitError

log = logging.getLogger(__name__)


def one_line(err: BaseException, uploads: Iterable[str | Path | None] = ()) -> str:
    """The first line of ``err``'s message, an uploaded file named by its name (not the server's path)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    for path in uploads:
        if path:
            text = text.replace(str(Path(path)), Path(path).name)
    return text


@contextmanager
def shown_in_page(uploads: Iterable[str | Path | None] = ()) -> Iterator[None]:
    """Turn a ``ToolkitError`` into a ``gr.Error`` of its one line; anything else is logged with its traceback
    on the server and shown as one line too."""
    uploads = list(uploads)
    try:
        yield
    except gr.Error:
        raise
    except ToolkitError as err:
        raise gr.Error(one_line(err, uploads), print_exception=False) from None
    except Exception as err:
        log.exception("request failed")
        message = f"internal error ({type(err).__name__}): {one_line(err, uploads)}"
        raise gr.Error(message, print_exception=False) from None
