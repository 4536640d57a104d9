"""Command-line helpers: one clear error message (no traceback) for the toolkit's own errors, and the
positional input path of ``python -m arranger.infer song.mid``."""

from __future__ import annotations

import functools
import sys
from typing import Callable

from gm_common.errors import ToolkitError


def clear_errors(func: Callable) -> Callable:
    """Wrap a Hydra task so a ToolkitError (bad input, checkpoint, config) prints one line and exits 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ToolkitError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper


def positional_input(argv: list[str], key: str = "input") -> list[str]:
    """Turn a leading positional path (``song.mid``) into a ``key=song.mid`` override."""
    out = list(argv)
    if len(out) > 1 and "=" not in out[1] and not out[1].startswith("-"):
        path = out[1].replace("\\", "\\\\").replace("'", "\\'")
        out[1] = f"{key}='{path}'"
    return out


def run_cli(main: Callable, positional: str | None = None) -> None:
    if positional:
        sys.argv = positional_input(sys.argv, positional)
    main()
