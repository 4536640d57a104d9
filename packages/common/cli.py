"""Entry points and config composition, the same for every toolkit.

An entry module defines ``run(cfg)`` and gets its command line from one decorator::

    def run(cfg: DictConfig) -> Path: ...

    main = entry_point("mmt", "train")(run)      # python -m mmt.train key=value ...

``compose`` builds the same config without running an app (tests, demos, benchmarks).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from gm_common.errors import ToolkitError
from gm_common.files import check_output_folder

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "configs"
# where an app writes, checked before it runs: folders, and files (their folders)
OUTPUT_KEYS = {"out_dir": False, "output_dir": False, "hydra.run.dir": False, "root": False, "out": True,
               "out_json": True, "record": True}
_APP_CONFIG: dict[str, DictConfig] = {}  # the config of the app running in this process (see run_dir)


def config_dir(pkg: str) -> Path:
    """The folder of a toolkit's Hydra configs: ``configs/<pkg>/`` (``configs/`` for ``pkg=""``)."""
    return CONFIG_ROOT / pkg


def compose(pkg: str, name: str | None, overrides: Sequence[str] = (), hydra: bool = False) -> DictConfig:
    """Compose ``configs/<pkg>/<name>.yaml`` with ``key=value`` overrides (Hydra's compose API; writes nothing);
    ``name=None`` starts from an empty config (``+group=option`` overrides add to it); ``hydra=True`` keeps
    the ``hydra`` node (launcher, run and sweep folders)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    running = GlobalHydra.instance().is_initialized()  # composed inside a running app (a demo): set it aside
    backup = GlobalHydra.instance().hydra if running else None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir(pkg)), version_base="1.3"):
            return hydra_compose(config_name=name, overrides=list(overrides), return_hydra_config=hydra)
    finally:
        if running:
            GlobalHydra.instance().initialize(backup)


def run_dir(cfg: DictConfig) -> Path:
    """The run's output folder: Hydra's for the config of the running app (DDP child processes get the parent's
    through an override), else ``cfg.run_dir`` (a composed config, also one run inside another app)."""
    from hydra.core.hydra_config import HydraConfig

    if cfg is _APP_CONFIG.get("cfg") and HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(cfg.run_dir)


def positional_override(argv: list[str], key: str) -> list[str]:
    """Turn a leading positional argument (``argv`` without the program name) into ``key='value'``."""
    if argv and "=" not in argv[0] and not argv[0].startswith("-"):
        value = argv[0].replace("\\", "\\\\").replace("'", "\\'")
        return [f"{key}='{value}'", *argv[1:]]
    return list(argv)


def entry_point(
    pkg: str, config_name: str, positional: str | None = None
) -> Callable[[Callable[[DictConfig], Any]], Callable[[], None]]:
    """Make ``main()`` from ``run(cfg)``: a Hydra app on ``configs/<pkg>/<config_name>.yaml``.

    A ``ToolkitError`` (bad input, checkpoint, config) prints ``error: ...`` and exits with status 2, and a
    run folder that holds only what Hydra wrote for this failed run is removed. An output folder
    (``OUTPUT_KEYS``) that cannot be created or written in is such an error too, found before anything runs
    or is written. With ``positional``, a leading argument without ``=`` (``song.mid``, ``"dog barking"``)
    becomes ``<positional>=...``.
    """
    import hydra

    def decorate(run: Callable[[DictConfig], Any]) -> Callable[[], None]:
        @hydra.main(config_path=str(config_dir(pkg)), config_name=config_name, version_base="1.3")
        def task(cfg: DictConfig) -> None:
            _APP_CONFIG["cfg"] = cfg
            try:
                run(cfg)
            except Exception as err:
                # a ToolkitError, also one raised in a _target_'s __init__ (Hydra wraps it in InstantiationException)
                cause = err if isinstance(err, ToolkitError) else err.__cause__
                if not isinstance(cause, ToolkitError):
                    raise
                _remove_failed_run_dir()
                print(f"error: {cause}", file=sys.stderr)
                raise SystemExit(2) from None

        def main() -> None:
            args = positional_override(sys.argv[1:], positional) if positional else sys.argv[1:]
            if not any(a.startswith("hydra.job.name=") for a in args):  # logs are <config_name>.log, not cli.log
                # beside the other overrides: Hydra's parser takes them as one run of positional arguments
                first = next((i for i, a in enumerate(args) if "=" in a and not a.startswith("-")), 0)
                args.insert(first, f"hydra.job.name={config_name}")
            sys.argv = sys.argv[:1] + args
            try:
                _check_output_folders(pkg, config_name, args)
            except ToolkitError as err:
                print(f"error: {err}", file=sys.stderr)
                raise SystemExit(2) from None
            task()

        main.__doc__ = run.__doc__
        return main

    return decorate


def _check_output_folders(pkg: str, config_name: str, args: list[str]) -> None:
    """Check the output folders (``OUTPUT_KEYS``) that the command line's config names; Hydra creates its run folder
    before the app starts, so this runs first. Flags (``--help``, ``-m``) and configs that do not compose are
    left to Hydra."""
    from omegaconf import OmegaConf

    if any(a.startswith("-") for a in args):
        return
    try:
        cfg = compose(pkg, config_name, args, hydra=True)
    except Exception:  # Hydra reports a config that does not compose, once the app starts
        return
    for key, is_file in OUTPUT_KEYS.items():
        try:
            path = OmegaConf.select(cfg, key, throw_on_missing=True)
        except Exception:  # a missing or run-time value (${hydra:...}): not known before the app starts
            continue
        if isinstance(path, str) and path:
            check_output_folder(Path(path).parent if is_file else path)


def _remove_failed_run_dir() -> None:
    """Remove the Hydra run folder if it holds Hydra's own files of this run (``.hydra/``, the log) and nothing
    else; never the working folder or one above it."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    hc = HydraConfig.get()
    folder = Path(hc.runtime.output_dir).resolve()
    if not folder.is_dir() or folder == Path.cwd().resolve() or folder in Path.cwd().resolve().parents:
        return
    names = {p.name for p in folder.iterdir()}
    if names and names <= {".hydra", f"{hc.job.name}.log"}:
        shutil.rmtree(folder, ignore_errors=True)
