"""What the command-line tests of every toolkit share: run an entry point's ``main()`` in this process."""

from __future__ import annotations

import sys
from collections.abc import Callable


def run_main(main: Callable[[], None], args: list[str], monkeypatch, capsys) -> tuple[int, str]:
    """Call ``main()`` as ``python -m <module> args...``; returns its exit status and what it wrote to stderr."""
    monkeypatch.setattr(sys, "argv", ["prog", *args])
    try:
        main()
    except SystemExit as stop:
        return stop.code, capsys.readouterr().err
    return 0, capsys.readouterr().err
