"""Small helpers shared by the entry points: config composition and one clear error per bad input."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from gm_common.errors import ToolkitError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "clipsonic"


def compose(config_name: str, argv: list[str] | None = None) -> DictConfig:
    """Compose ``configs/clipsonic/<config_name>.yaml`` with ``key=value`` overrides (Hydra compose API;
    writes nothing, so a bad input leaves no output folder behind)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    argv = list(sys.argv[1:] if argv is None else argv)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=argv)


def cli(fn: Callable) -> Callable:
    """Run an entry point; a ToolkitError is printed as one line (``error: ...``) with exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ToolkitError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    return wrapper
