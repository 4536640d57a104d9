"""Small helpers shared by the entry points: config composition and one clear error per bad input."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from gm_common.cli import clear_errors

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "clipsonic"


def compose(config_name: str, argv: list[str] | None = None) -> DictConfig:
    """Compose ``configs/clipsonic/<config_name>.yaml`` with ``key=value`` overrides (Hydra compose API;
    writes nothing, so a bad input leaves no output folder behind)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    argv = list(sys.argv[1:] if argv is None else argv)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=argv)


cli = clear_errors  # entry points print a ToolkitError as one line, exit status 2
