"""Entry-point helper: a deliberate error (bad input, missing checkpoint, ...) is one clear line on
stderr and exit status 1, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from gm_common.errors import ToolkitError


def run_cli(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except ToolkitError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
