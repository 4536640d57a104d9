"""Command-line helper: the positional input path of ``python -m arranger.infer song.mid``."""

from __future__ import annotations

import sys
from typing import Callable

from gm_common.cli import positional_override


def run_cli(main: Callable, positional: str | None = None) -> None:
    """Run a Hydra ``main``, first turning a leading positional argument into ``<positional>=...``."""
    if positional:
        sys.argv = sys.argv[:1] + positional_override(sys.argv[1:], positional)
    main()
