"""Small helpers shared by the entry points: config composition and one clear error per bad input."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gm_common.cli import clear_errors

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "clipsonic"


def compose(config_name: str, argv: list[str] | None = None) -> DictConfig:
    """Compose ``configs/clipsonic/<config_name>.yaml`` with ``key=value`` overrides (Hydra compose API;
    writes nothing, so a bad input leaves no output folder behind). As Hydra apps do, ``--help`` prints
    the config groups and the composed config, and ``--cfg job`` the composed config; both then exit."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    argv = list(sys.argv[1:] if argv is None else argv)
    flags = [a for a in argv if a.startswith("-")]
    overrides = [a for a in argv if not a.startswith("-") and a != "job"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name=config_name, overrides=overrides if flags else argv)
    if {"--help", "-h"} & set(flags):
        _print_help(config_name, cfg)
        raise SystemExit(0)
    if "--cfg" in flags or "-c" in flags:
        print(OmegaConf.to_yaml(cfg))
        raise SystemExit(0)
    if flags:
        print(f"error: unknown option {flags[0]} (options: --help, --cfg job; settings are key=value)", file=sys.stderr)
        raise SystemExit(2)
    return cfg


def _print_help(config_name: str, cfg: DictConfig) -> None:
    doc = (CONFIG_DIR / f"{config_name}.yaml").read_text().splitlines()
    usage = [line.lstrip("# ") for line in doc if line.startswith("#")]
    print(f"{config_name} is configured by Hydra: override any setting with key=value.")
    if usage:
        print("\n" + "\n".join(usage))
    print("\n== Configuration groups ==\nCompose your configuration from those groups (group=option)\n")
    for group in sorted(d for d in CONFIG_DIR.iterdir() if d.is_dir()):
        print(f"{group.name}: {', '.join(sorted(p.stem for p in group.glob('*.yaml')))}")
    print("\n== Config ==\nThis is the config generated for this run (the defaults, with your overrides):\n")
    print(OmegaConf.to_yaml(cfg))


cli = clear_errors  # entry points print a ToolkitError as one line, exit status 2
