"""What every entry point shares: the toolkits' own errors print as one line (no traceback) with exit
status 2, and a leading positional argument (``song.mid``, ``"dog barking"``) becomes a Hydra override."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from gm_common.errors import ToolkitError


def clear_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an entry point: a ``ToolkitError`` (bad input, checkpoint, config) prints ``error: ...`` and exits 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ToolkitError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper


def positional_override(argv: list[str], key: str) -> list[str]:
    """Turn a leading positional argument (``argv`` without the program name) into ``key='value'``."""
    if argv and "=" not in argv[0] and not argv[0].startswith("-"):
        value = argv[0].replace("\\", "\\\\").replace("'", "\\'")
        return [f"{key}='{value}'", *argv[1:]]
    return list(argv)
